// RUN: jikji-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(jikji-lower-products-to-mma))" | FileCheck %s
// RUN: jikji-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(jikji-lower-products-to-mma{tiles=false}))" | FileCheck %s --check-prefix=NO-TILES
// RUN: jikji-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(jikji-lower-products-to-mma))" | jikji-opt --split-input-file --jikji-cuda-outline-kernels | jikji-opt --split-input-file --jikji-cuda-lower-to-ptx="gpu-arch=sm_80" | FileCheck %s --check-prefix=PTX

// Tests that a linear layer's product (x f32 [M,64], W bf16 [96,64], M
// dynamic) becomes one warp per 16 x 8 tile of y: ceil(M/16) * 12 blocks of
// 32 threads, K in 4 steps of nvvm.mma.sync m16n8k16 with bf16 operands
// (x rounded to bf16, pairs packed into i32) and f32 accumulators that
// start from y and are stored back only for rows below M.
// CHECK-LABEL: func.func @linear(
// CHECK-SAME:    %[[X:.+]]: memref<?x64xf32>, %[[W:.+]]: memref<96x64xbf16>, %[[Y:.+]]: memref<?x96xf32>
// CHECK:         %[[M:.+]] = memref.dim %[[X]], %c0
// CHECK:         %[[ROW_TILES:.+]] = arith.ceildivui %[[M]], %c16
// CHECK:         %[[BLOCKS:.+]] = arith.muli %[[ROW_TILES]], %c12
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %[[BLOCKS]], {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c32, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}})
// CHECK-COUNT-4: memref.load %[[Y]]
// CHECK:           scf.for %{{.+}} = %{{.+}} to %c64{{.*}} step %c16
// CHECK:             memref.load %[[X]]
// CHECK:             arith.truncf %{{.+}} : f32 to bf16
// CHECK:             arith.bitcast %{{.+}} : bf16 to i16
// CHECK:             memref.load %[[W]]
// CHECK:             nvvm.mma.sync A[{{.*}}, {{.*}}, {{.*}}, {{.*}}] B[{{.*}}, {{.*}}] C[{{.*}}, {{.*}}, {{.*}}, {{.*}}]
// CHECK-SAME:          layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>
// CHECK-SAME:          multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>
// CHECK-SAME:          shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK-SAME:          (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK:           scf.if
// CHECK-COUNT-2:     memref.store %{{.+}}, %[[Y]]
// CHECK:           scf.if
// CHECK-COUNT-2:     memref.store %{{.+}}, %[[Y]]
// CHECK-NOT:     linalg.generic
// PTX-LABEL: gpu.binary @jikji_kernels
// PTX-SAME:    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @linear(%input: memref<?x64xf32>, %weight: memref<96x64xbf16>,
                  %output: memref<?x96xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight : memref<?x64xf32>, memref<96x64xbf16>)
      outs(%output : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide fastmath<contract> : f32
    %sum = arith.addf %acc, %product fastmath<contract> : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// Tests that a product whose N (12) is not a multiple of 8 is left to the
// generic mapping.
// CHECK-LABEL: func.func @ragged(
// CHECK-NOT:     gpu.launch
// CHECK:         linalg.generic
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @ragged(%input: memref<?x64xf32>, %weight: memref<12x64xbf16>,
                  %output: memref<?x12xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight : memref<?x64xf32>, memref<12x64xbf16>)
      outs(%output : memref<?x12xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// Tests that a body doing more than the product (here a ReLU of the sum)
// is left alone.
// CHECK-LABEL: func.func @not_a_product(
// CHECK-NOT:     gpu.launch
// CHECK:         linalg.generic
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @not_a_product(%input: memref<?x64xf32>, %weight: memref<96x64xbf16>,
                         %output: memref<?x96xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight : memref<?x64xf32>, memref<96x64xbf16>)
      outs(%output : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    %zero = arith.constant 0.0 : f32
    %relu = arith.maximumf %sum, %zero : f32
    linalg.yield %relu : f32
  }
  return
}

// -----

// Tests that an FP8 product (W f8E4M3FN [80, 320] with float32 scales per
// 128 x 128 block, decoded exactly by the lowering's float16 route) runs on the
// tensor cores: the e4m3 weight is decoded to bf16 with integer ops (no
// table load), each K block of 128 (the last one 64: 320 is not a multiple
// of 128) is summed by mma.sync from zero and then multiplied by its scale
// scales[n / 128, block] into the running sum. N = 80 is not a multiple of
// 128 either: the tile's scale row is its first column / 128.
// CHECK-LABEL: func.func @fp8_linear(
// CHECK-SAME:    %[[X:.+]]: memref<?x320xf32>, %[[W:.+]]: memref<80x320xf8E4M3FN>, %[[S:.+]]: memref<1x3xf32>, %[[Y:.+]]: memref<?x80xf32>
// CHECK:         %[[BLOCKS:.+]] = arith.muli %{{.+}}, %c10
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %[[BLOCKS]], {{.*}}) threads({{.*}}) in ({{.*}} = %c32,
// CHECK:           %[[TILE_COLUMN:.+]] = arith.remui %{{.+}}, %c10
// CHECK-COUNT-4:   memref.load %[[Y]]
// CHECK:           %[[FIRST_COLUMN:.+]] = arith.muli %[[TILE_COLUMN]], %c8
// CHECK:           %[[SCALE_ROW:.+]] = arith.divui %[[FIRST_COLUMN]], %c128
// CHECK:           %[[SUMS:.+]]:4 = scf.for %[[BLOCK:.+]] = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args(%[[S0:.+]] = %{{.+}}, %[[S1:.+]] = %{{.+}}, %[[S2:.+]] = %{{.+}}, %[[S3:.+]] = %{{.+}})
// CHECK:             %[[BEGIN:.+]] = arith.muli %[[BLOCK]], %c128
// CHECK:             %[[NEXT:.+]] = arith.addi %[[BEGIN]], %c128
// CHECK:             %[[END:.+]] = arith.minui %[[NEXT]], %c320
// CHECK:             %[[PARTIAL:.+]]:4 = scf.for %{{.+}} = %[[BEGIN]] to %[[END]] step %c16{{.*}} iter_args(%{{.+}} = %[[ZERO:cst[_0-9]*]], %{{.+}} = %[[ZERO]], %{{.+}} = %[[ZERO]], %{{.+}} = %[[ZERO]])
// CHECK:               memref.load %[[X]]
// CHECK:               arith.truncf %{{.+}} : f32 to bf16
// CHECK:               %[[CODE:.+]] = memref.load %[[W]]
// CHECK-NOT:           memref.load %{{.+}} : memref<256xf32>
// CHECK:               %[[BITS:.+]] = arith.bitcast %[[CODE]] : f8E4M3FN to i8
// CHECK:               %[[WIDE:.+]] = arith.extui %[[BITS]] : i8 to i32
// CHECK:               %[[MAGNITUDE:.+]] = arith.andi %[[WIDE]], %c127_i32
// CHECK:               %[[SIGN_BIT:.+]] = arith.andi %[[WIDE]], %c128_i32
// CHECK:               %[[SIGN:.+]] = arith.shli %[[SIGN_BIT]], %c8_i32
// CHECK:               %[[MOVED:.+]] = arith.shli %[[MAGNITUDE]], %c4_i32
// CHECK:               %[[NORMAL:.+]] = arith.addi %[[MOVED]], %c15360_i32
// CHECK:               %[[MANTISSA:.+]] = arith.uitofp %[[MAGNITUDE]] : i32 to f32
// CHECK:               %[[TINY:.+]] = arith.mulf %[[MANTISSA]], %{{.+}} : f32
// CHECK:               %[[TINY_BITS:.+]] = arith.bitcast %[[TINY]] : f32 to i32
// CHECK:               %[[SUBNORMAL:.+]] = arith.shrui %[[TINY_BITS]], %c16_i32
// CHECK:               %[[IS_SUBNORMAL:.+]] = arith.cmpi ult, %[[MAGNITUDE]], %c8_i32
// CHECK:               %[[IS_NAN:.+]] = arith.cmpi eq, %[[MAGNITUDE]], %c127_i32
// CHECK:               %[[FINITE:.+]] = arith.select %[[IS_SUBNORMAL]], %[[SUBNORMAL]], %[[NORMAL]]
// CHECK:               %[[VALUE:.+]] = arith.select %[[IS_NAN]], %c32704_i32, %[[FINITE]]
// CHECK:               arith.ori %[[SIGN]], %[[VALUE]]
// CHECK:               nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}]
// CHECK-SAME:            multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>
// CHECK-SAME:            shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK:               scf.yield
// CHECK:             %[[SCALE:.+]] = memref.load %[[S]][%[[SCALE_ROW]], %[[BLOCK]]]
// CHECK:             %[[P0:.+]] = arith.mulf %[[PARTIAL]]#0, %[[SCALE]]
// CHECK:             %[[T0:.+]] = arith.addf %[[S0]], %[[P0]]
// CHECK:             %[[P1:.+]] = arith.mulf %[[PARTIAL]]#1, %[[SCALE]]
// CHECK:             %[[T1:.+]] = arith.addf %[[S1]], %[[P1]]
// CHECK:             %[[P2:.+]] = arith.mulf %[[PARTIAL]]#2, %[[SCALE]]
// CHECK:             %[[T2:.+]] = arith.addf %[[S2]], %[[P2]]
// CHECK:             %[[P3:.+]] = arith.mulf %[[PARTIAL]]#3, %[[SCALE]]
// CHECK:             %[[T3:.+]] = arith.addf %[[S3]], %[[P3]]
// CHECK:             scf.yield %[[T0]], %[[T1]], %[[T2]], %[[T3]]
// CHECK:           scf.if
// CHECK:             memref.store %[[SUMS]]#0, %[[Y]]
// CHECK:             memref.store %[[SUMS]]#1, %[[Y]]
// CHECK:           scf.if
// CHECK:             memref.store %[[SUMS]]#2, %[[Y]]
// CHECK:             memref.store %[[SUMS]]#3, %[[Y]]
// CHECK-NOT:     linalg.generic
// PTX: .entry fp8_linear_kernel(
// PTX-SAME:    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#s = affine_map<(m, n, k) -> (n floordiv 128, k floordiv 128)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @fp8_linear(%input: memref<?x320xf32>, %weight: memref<80x320xf8E4M3FN>,
                      %scales: memref<1x3xf32>, %output: memref<?x80xf32>) {
  %c7_i16 = arith.constant 7 : i16
  %mask = arith.constant -16512 : i16
  %c127_i8 = arith.constant 127 : i8
  %nan = arith.constant 0x7FC00000 : f32
  %c256 = arith.constant 2.560000e+02 : f32
  linalg.generic {indexing_maps = [#x, #w, #s, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight, %scales : memref<?x320xf32>, memref<80x320xf8E4M3FN>, memref<1x3xf32>)
      outs(%output : memref<?x80xf32>) {
  ^bb0(%a: f32, %b: f8E4M3FN, %scale: f32, %acc: f32):
    %bits = arith.bitcast %b : f8E4M3FN to i8
    %sign_extended = arith.extsi %bits : i8 to i16
    %moved = arith.shli %sign_extended, %c7_i16 : i16
    %half_bits = arith.andi %moved, %mask : i16
    %half = arith.bitcast %half_bits : i16 to f16
    %widened = arith.extf %half : f16 to f32
    %nan_bits = arith.andi %bits, %c127_i8 : i8
    %is_nan = arith.cmpi eq, %nan_bits, %c127_i8 : i8
    %over256 = arith.select %is_nan, %nan, %widened : f32
    %decoded = arith.mulf %over256, %c256 : f32
    %wide = arith.mulf %decoded, %scale : f32
    %product = arith.mulf %a, %wide fastmath<reassoc,contract> : f32
    %sum = arith.addf %acc, %product fastmath<reassoc,contract> : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// Tests that an FP8 product whose decoding is not the exact e4m3 one (here
// a mask that drops a mantissa bit) is left to the generic mapping: the
// kernel would decode the weight differently.
// CHECK-LABEL: func.func @fp8_other_decoding(
// CHECK-NOT:     gpu.launch
// CHECK:         linalg.generic
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#s = affine_map<(m, n, k) -> (n floordiv 128, k floordiv 128)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @fp8_other_decoding(%input: memref<?x320xf32>, %weight: memref<80x320xf8E4M3FN>,
                           %scales: memref<1x3xf32>, %output: memref<?x80xf32>) {
  %c7_i16 = arith.constant 7 : i16
  %mask = arith.constant -16640 : i16
  %c127_i8 = arith.constant 127 : i8
  %nan = arith.constant 0x7FC00000 : f32
  %c256 = arith.constant 2.560000e+02 : f32
  linalg.generic {indexing_maps = [#x, #w, #s, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight, %scales : memref<?x320xf32>, memref<80x320xf8E4M3FN>, memref<1x3xf32>)
      outs(%output : memref<?x80xf32>) {
  ^bb0(%a: f32, %b: f8E4M3FN, %scale: f32, %acc: f32):
    %bits = arith.bitcast %b : f8E4M3FN to i8
    %sign_extended = arith.extsi %bits : i8 to i16
    %moved = arith.shli %sign_extended, %c7_i16 : i16
    %half_bits = arith.andi %moved, %mask : i16
    %half = arith.bitcast %half_bits : i16 to f16
    %widened = arith.extf %half : f16 to f32
    %nan_bits = arith.andi %bits, %c127_i8 : i8
    %is_nan = arith.cmpi eq, %nan_bits, %c127_i8 : i8
    %over256 = arith.select %is_nan, %nan, %widened : f32
    %decoded = arith.mulf %over256, %c256 : f32
    %wide = arith.mulf %decoded, %scale : f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// Tests that an FP8 product whose K blocks (8) would split a 16-wide K step
// between two scales is left to the generic mapping.
// CHECK-LABEL: func.func @fp8_small_blocks(
// CHECK-NOT:     gpu.launch
// CHECK:         linalg.generic
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#s = affine_map<(m, n, k) -> (n floordiv 128, k floordiv 8)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @fp8_small_blocks(%input: memref<?x320xf32>, %weight: memref<80x320xf8E4M3FN>,
                            %scales: memref<1x40xf32>, %output: memref<?x80xf32>) {
  %c7_i16 = arith.constant 7 : i16
  %mask = arith.constant -16512 : i16
  %c127_i8 = arith.constant 127 : i8
  %nan = arith.constant 0x7FC00000 : f32
  %c256 = arith.constant 2.560000e+02 : f32
  linalg.generic {indexing_maps = [#x, #w, #s, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight, %scales : memref<?x320xf32>, memref<80x320xf8E4M3FN>, memref<1x40xf32>)
      outs(%output : memref<?x80xf32>) {
  ^bb0(%a: f32, %b: f8E4M3FN, %scale: f32, %acc: f32):
    %bits = arith.bitcast %b : f8E4M3FN to i8
    %sign_extended = arith.extsi %bits : i8 to i16
    %moved = arith.shli %sign_extended, %c7_i16 : i16
    %half_bits = arith.andi %moved, %mask : i16
    %half = arith.bitcast %half_bits : i16 to f16
    %widened = arith.extf %half : f16 to f32
    %nan_bits = arith.andi %bits, %c127_i8 : i8
    %is_nan = arith.cmpi eq, %nan_bits, %c127_i8 : i8
    %over256 = arith.select %is_nan, %nan, %widened : f32
    %decoded = arith.mulf %over256, %c256 : f32
    %wide = arith.mulf %decoded, %scale : f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// Tests that the residual add right after an output projection (y = r + y
// in place) becomes the kernel's epilogue: each stored element is r's plus
// the product's, and the add is gone.
// CHECK-LABEL: func.func @residual(
// CHECK-SAME:    %[[X:.+]]: memref<?x64xf32>, %[[W:.+]]: memref<96x64xbf16>, %[[R:.+]]: memref<?x96xf32>
// CHECK:         %[[Y:.+]] = memref.alloc
// CHECK:         gpu.launch
// CHECK:           %[[SUMS:.+]]:4 = scf.for
// CHECK:             nvvm.mma.sync
// CHECK:           scf.if
// CHECK:             %[[R00:.+]] = memref.load %[[R]]
// CHECK:             %[[Y00:.+]] = arith.addf %[[R00]], %[[SUMS]]#0
// CHECK:             memref.store %[[Y00]], %[[Y]]
// CHECK:             %[[R01:.+]] = memref.load %[[R]]
// CHECK:             %[[Y01:.+]] = arith.addf %[[R01]], %[[SUMS]]#1
// CHECK:             memref.store %[[Y01]], %[[Y]]
// CHECK:           scf.if
// CHECK:             %[[R10:.+]] = memref.load %[[R]]
// CHECK:             %[[Y10:.+]] = arith.addf %[[R10]], %[[SUMS]]#2
// CHECK:             memref.store %[[Y10]], %[[Y]]
// CHECK:             %[[R11:.+]] = memref.load %[[R]]
// CHECK:             %[[Y11:.+]] = arith.addf %[[R11]], %[[SUMS]]#3
// CHECK:             memref.store %[[Y11]], %[[Y]]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[Y]]
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @residual(%input: memref<?x64xf32>, %weight: memref<96x64xbf16>,
                    %residual: memref<?x96xf32>) -> memref<?x96xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = memref.dim %input, %c0 : memref<?x64xf32>
  %output = memref.alloc(%rows) : memref<?x96xf32>
  linalg.fill ins(%zero : f32) outs(%output : memref<?x96xf32>)
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight : memref<?x64xf32>, memref<96x64xbf16>)
      outs(%output : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#e, #e, #e],
                  iterator_types = ["parallel", "parallel"]}
      ins(%residual, %output : memref<?x96xf32>, memref<?x96xf32>)
      outs(%output : memref<?x96xf32>) {
  ^bb0(%r: f32, %p: f32, %out: f32):
    %sum = arith.addf %r, %p : f32
    linalg.yield %sum : f32
  }
  return %output : memref<?x96xf32>
}

// -----

// Tests that an add whose other operand is a view of the product's own
// buffer stays a separate op: the kernel would read the elements it
// overwrites.
// CHECK-LABEL: func.func @residual_of_itself(
// CHECK:         gpu.launch
// CHECK:           scf.if
// CHECK-NOT:         arith.addf
// CHECK:             memref.store
// CHECK:         gpu.terminator
// CHECK:         linalg.generic
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @residual_of_itself(%input: memref<?x64xf32>, %weight: memref<96x64xbf16>)
    -> memref<?x96xf32> {
  %c0 = arith.constant 0 : index
  %rows = memref.dim %input, %c0 : memref<?x64xf32>
  %output = memref.alloc(%rows) : memref<?x96xf32>
  %view = memref.cast %output : memref<?x96xf32> to memref<?x96xf32, strided<[96, 1]>>
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight : memref<?x64xf32>, memref<96x64xbf16>)
      outs(%output : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#e, #e, #e],
                  iterator_types = ["parallel", "parallel"]}
      ins(%view, %output : memref<?x96xf32, strided<[96, 1]>>, memref<?x96xf32>)
      outs(%output : memref<?x96xf32>) {
  ^bb0(%r: f32, %p: f32, %out: f32):
    %sum = arith.addf %r, %p : f32
    linalg.yield %sum : f32
  }
  return %output : memref<?x96xf32>
}

// -----

// Tests that a residual add into a new buffer (z = r + y, z allocated
// between the two, attention's o_proj) becomes the epilogue too: the kernel
// is built after z's allocation and stores r + y into z only, y being read
// by nothing after.
// CHECK-LABEL: func.func @residual_into_new_buffer(
// CHECK-SAME:    %[[X:.+]]: memref<?x64xf32>, %[[W:.+]]: memref<96x64xbf16>, %[[R:.+]]: memref<?x96xf32>
// CHECK:         %[[Y:.+]] = memref.alloc
// CHECK:         %[[Z:.+]] = memref.alloc
// CHECK:         gpu.launch
// CHECK:           %[[SUMS:.+]]:4 = scf.for
// CHECK:           scf.if
// CHECK-NOT:         memref.store {{.*}}, %[[Y]]
// CHECK:             %[[R00:.+]] = memref.load %[[R]]
// CHECK:             %[[Z00:.+]] = arith.addf %[[R00]], %[[SUMS]]#0
// CHECK:             memref.store %[[Z00]], %[[Z]]
// CHECK-NOT:         memref.store {{.*}}, %[[Y]]
// CHECK:             memref.store %{{.+}}, %[[Z]]
// CHECK:           scf.if
// CHECK-NOT:         memref.store {{.*}}, %[[Y]]
// CHECK:             memref.store %{{.+}}, %[[Z]]
// CHECK-NOT:         memref.store {{.*}}, %[[Y]]
// CHECK:             memref.store %{{.+}}, %[[Z]]
// CHECK-NOT:     linalg.generic
// CHECK:         memref.dealloc %[[Y]]
// CHECK:         return %[[Z]]
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @residual_into_new_buffer(%input: memref<?x64xf32>, %weight: memref<96x64xbf16>,
                                    %residual: memref<?x96xf32>) -> memref<?x96xf32> {
  %c0 = arith.constant 0 : index
  %rows = memref.dim %input, %c0 : memref<?x64xf32>
  %output = memref.alloc(%rows) : memref<?x96xf32>
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight : memref<?x64xf32>, memref<96x64xbf16>)
      outs(%output : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  %result = memref.alloc(%rows) : memref<?x96xf32>
  linalg.generic {indexing_maps = [#e, #e, #e],
                  iterator_types = ["parallel", "parallel"]}
      ins(%residual, %output : memref<?x96xf32>, memref<?x96xf32>)
      outs(%result : memref<?x96xf32>) {
  ^bb0(%r: f32, %p: f32, %out: f32):
    %sum = arith.addf %r, %p : f32
    linalg.yield %sum : f32
  }
  memref.dealloc %output : memref<?x96xf32>
  return %result : memref<?x96xf32>
}

// -----

// Tests that when y is read after the residual add into a new buffer, the
// epilogue stores both y and z = r + y.
// CHECK-LABEL: func.func @residual_and_product(
// CHECK-SAME:    %[[X:.+]]: memref<?x64xf32>, %[[W:.+]]: memref<96x64xbf16>, %[[R:.+]]: memref<?x96xf32>
// CHECK:         %[[Y:.+]] = memref.alloc
// CHECK:         %[[Z:.+]] = memref.alloc
// CHECK:         gpu.launch
// CHECK:           %[[SUMS:.+]]:4 = scf.for
// CHECK:           scf.if
// CHECK:             memref.store %[[SUMS]]#0, %[[Y]]
// CHECK:             %[[R00:.+]] = memref.load %[[R]]
// CHECK:             %[[Z00:.+]] = arith.addf %[[R00]], %[[SUMS]]#0
// CHECK:             memref.store %[[Z00]], %[[Z]]
// CHECK:             memref.store %[[SUMS]]#1, %[[Y]]
// CHECK:             memref.store %{{.+}}, %[[Z]]
// CHECK:           scf.if
// CHECK:             memref.store %[[SUMS]]#2, %[[Y]]
// CHECK:             memref.store %{{.+}}, %[[Z]]
// CHECK:             memref.store %[[SUMS]]#3, %[[Y]]
// CHECK:             memref.store %{{.+}}, %[[Z]]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[Y]], %[[Z]]
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @residual_and_product(%input: memref<?x64xf32>, %weight: memref<96x64xbf16>,
                                %residual: memref<?x96xf32>)
    -> (memref<?x96xf32>, memref<?x96xf32>) {
  %c0 = arith.constant 0 : index
  %rows = memref.dim %input, %c0 : memref<?x64xf32>
  %output = memref.alloc(%rows) : memref<?x96xf32>
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight : memref<?x64xf32>, memref<96x64xbf16>)
      outs(%output : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  %result = memref.alloc(%rows) : memref<?x96xf32>
  linalg.generic {indexing_maps = [#e, #e, #e],
                  iterator_types = ["parallel", "parallel"]}
      ins(%residual, %output : memref<?x96xf32>, memref<?x96xf32>)
      outs(%result : memref<?x96xf32>) {
  ^bb0(%r: f32, %p: f32, %out: f32):
    %sum = arith.addf %r, %p : f32
    linalg.yield %sum : f32
  }
  return %output, %result : memref<?x96xf32>, memref<?x96xf32>
}

// -----

// Tests that an MLP's gate and up products (the same x, adjacent) with the
// SwiGLU after them become one kernel: per K step the x fragment is loaded
// once and feeds two mma.sync (one per weight, each onto its own four
// accumulators), and the SwiGLU's body, silu(g) * u, is computed where the
// kernel stores, into u's buffer (its result); g is not stored.
// CHECK-LABEL: func.func @swiglu(
// CHECK-SAME:    %[[X:.+]]: memref<?x64xf32>, %[[GATE:.+]]: memref<96x64xbf16>, %[[UP:.+]]: memref<96x64xbf16>
// CHECK:         %[[G:.+]] = memref.alloc
// CHECK:         %[[U:.+]] = memref.alloc
// CHECK:         gpu.launch
// CHECK-COUNT-4:   memref.load %[[G]]
// CHECK-COUNT-4:   memref.load %[[U]]
// CHECK:           %[[SUMS:.+]]:8 = scf.for
// CHECK-COUNT-8:     memref.load %[[X]]
// CHECK-NOT:         memref.load %[[X]]
// CHECK:             memref.load %[[GATE]]
// CHECK:             %[[GATE_MMA:.+]] = nvvm.mma.sync A[%[[A0:.+]], %[[A1:.+]], %[[A2:.+]], %[[A3:.+]]] B
// CHECK-NOT:         memref.load %[[X]]
// CHECK:             memref.load %[[UP]]
// CHECK:             %[[UP_MMA:.+]] = nvvm.mma.sync A[%[[A0]], %[[A1]], %[[A2]], %[[A3]]] B
// CHECK:           scf.if
// CHECK-NOT:         memref.store {{.*}}, %[[G]]
// CHECK:             %[[NEG:.+]] = arith.negf %[[SUMS]]#0
// CHECK:             %[[EXP:.+]] = math.exp %[[NEG]]
// CHECK:             %[[DEN:.+]] = arith.addf %[[EXP]], %{{.+}}
// CHECK:             %[[SILU:.+]] = arith.divf %[[SUMS]]#0, %[[DEN]]
// CHECK:             %[[OUT:.+]] = arith.mulf %[[SILU]], %[[SUMS]]#4
// CHECK:             memref.store %[[OUT]], %[[U]]
// CHECK:             arith.mulf %{{.+}}, %[[SUMS]]#5
// CHECK:           scf.if
// CHECK:             arith.mulf %{{.+}}, %[[SUMS]]#6
// CHECK:             arith.mulf %{{.+}}, %[[SUMS]]#7
// CHECK-NOT:     gpu.launch
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[U]]
// PTX: .entry swiglu_kernel(
// PTX-SAME:    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-SAME:    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @swiglu(%input: memref<?x64xf32>, %gate: memref<96x64xbf16>,
                  %up: memref<96x64xbf16>) -> memref<?x96xf32> {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %rows = memref.dim %input, %c0 : memref<?x64xf32>
  %g = memref.alloc(%rows) : memref<?x96xf32>
  %u = memref.alloc(%rows) : memref<?x96xf32>
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %gate : memref<?x64xf32>, memref<96x64xbf16>)
      outs(%g : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %up : memref<?x64xf32>, memref<96x64xbf16>)
      outs(%u : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#e, #e, #e],
                  iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : memref<?x96xf32>, memref<?x96xf32>)
      outs(%u : memref<?x96xf32>) {
  ^bb0(%gv: f32, %uv: f32, %out: f32):
    %neg = arith.negf %gv : f32
    %exp = math.exp %neg : f32
    %den = arith.addf %exp, %one : f32
    %silu = arith.divf %gv, %den : f32
    %r = arith.mulf %silu, %uv : f32
    linalg.yield %r : f32
  }
  memref.dealloc %g : memref<?x96xf32>
  return %u : memref<?x96xf32>
}

// -----

// Tests that two adjacent products over the same x with no op combining
// them keep a kernel each (and store both).
// CHECK-LABEL: func.func @two_products(
// CHECK:         gpu.launch
// CHECK-COUNT-1:   nvvm.mma.sync
// CHECK:         gpu.launch
// CHECK-COUNT-1:   nvvm.mma.sync
// CHECK-NOT:     linalg.generic
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @two_products(%input: memref<?x64xf32>, %gate: memref<96x64xbf16>,
                        %up: memref<96x64xbf16>, %g: memref<?x96xf32>,
                        %u: memref<?x96xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %gate : memref<?x64xf32>, memref<96x64xbf16>)
      outs(%g : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %up : memref<?x64xf32>, memref<96x64xbf16>)
      outs(%u : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// Tests that an add writing into the product's own x stays a separate op:
// other warps still read x while a warp would store its result.
// CHECK-LABEL: func.func @residual_into_input(
// CHECK:         gpu.launch
// CHECK:           scf.if
// CHECK-NOT:         arith.addf
// CHECK:             memref.store
// CHECK:         gpu.terminator
// CHECK:         linalg.generic
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @residual_into_input(%rows: index, %weight: memref<64x64xbf16>,
                               %residual: memref<?x64xf32>) -> memref<?x64xf32> {
  %input = memref.alloc(%rows) : memref<?x64xf32>
  %output = memref.alloc(%rows) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight : memref<?x64xf32>, memref<64x64xbf16>)
      outs(%output : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#e, #e, #e],
                  iterator_types = ["parallel", "parallel"]}
      ins(%residual, %output : memref<?x64xf32>, memref<?x64xf32>)
      outs(%input : memref<?x64xf32>) {
  ^bb0(%r: f32, %p: f32, %out: f32):
    %sum = arith.addf %r, %p : f32
    linalg.yield %sum : f32
  }
  return %input : memref<?x64xf32>
}

// -----

// Tests that FP8 gate and up products (the routed experts' form, K = 320
// in blocks of 128, 128 and 64) share a kernel with their SwiGLU: per K
// block, each product's block sum is multiplied by its own scale.
// CHECK-LABEL: func.func @fp8_swiglu(
// CHECK-SAME:    %[[X:.+]]: memref<?x320xf32>, %[[GATE:.+]]: memref<160x320xf8E4M3FN>, %[[GATE_SCALES:.+]]: memref<2x3xf32>, %[[UP:.+]]: memref<160x320xf8E4M3FN>, %[[UP_SCALES:.+]]: memref<2x3xf32>
// CHECK:         gpu.launch
// CHECK:           %[[SUMS:.+]]:8 = scf.for %[[BLOCK:.+]] = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args(%[[S0:[^ ]+]] = {{.+}}, %[[S1:[^ ]+]] = {{.+}}, %[[S2:[^ ]+]] = {{.+}}, %[[S3:[^ ]+]] = {{.+}}, %[[S4:[^ ]+]] = {{.+}}, %[[S5:[^ ]+]] = {{.+}}, %[[S6:[^ ]+]] = {{.+}}, %[[S7:[^ ]+]] = {{.+}})
// CHECK:             %[[PARTIAL:.+]]:8 = scf.for
// CHECK:               memref.load %[[GATE]]
// CHECK:               nvvm.mma.sync
// CHECK:               memref.load %[[UP]]
// CHECK:               nvvm.mma.sync
// CHECK:             %[[GATE_SCALE:.+]] = memref.load %[[GATE_SCALES]][%{{.+}}, %[[BLOCK]]]
// CHECK:             %[[G0:.+]] = arith.mulf %[[PARTIAL]]#0, %[[GATE_SCALE]]
// CHECK:             arith.addf %[[S0]], %[[G0]]
// CHECK:             %[[G3:.+]] = arith.mulf %[[PARTIAL]]#3, %[[GATE_SCALE]]
// CHECK:             arith.addf %[[S3]], %[[G3]]
// CHECK:             %[[UP_SCALE:.+]] = memref.load %[[UP_SCALES]][%{{.+}}, %[[BLOCK]]]
// CHECK:             %[[U0:.+]] = arith.mulf %[[PARTIAL]]#4, %[[UP_SCALE]]
// CHECK:             arith.addf %[[S4]], %[[U0]]
// CHECK:             %[[U3:.+]] = arith.mulf %[[PARTIAL]]#7, %[[UP_SCALE]]
// CHECK:             arith.addf %[[S7]], %[[U3]]
// CHECK:           scf.if
// CHECK:             math.exp
// CHECK:             arith.mulf %{{.+}}, %[[SUMS]]#4
// CHECK-NOT:     linalg.generic
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#s = affine_map<(m, n, k) -> (n floordiv 128, k floordiv 128)>
#y = affine_map<(m, n, k) -> (m, n)>
#e = affine_map<(m, n) -> (m, n)>
func.func @fp8_swiglu(%input: memref<?x320xf32>, %gate: memref<160x320xf8E4M3FN>,
                      %gate_scales: memref<2x3xf32>, %up: memref<160x320xf8E4M3FN>,
                      %up_scales: memref<2x3xf32>) -> memref<?x160xf32> {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %rows = memref.dim %input, %c0 : memref<?x320xf32>
  %g = memref.alloc(%rows) : memref<?x160xf32>
  %u = memref.alloc(%rows) : memref<?x160xf32>
  %c7_i16 = arith.constant 7 : i16
  %mask = arith.constant -16512 : i16
  %c127_i8 = arith.constant 127 : i8
  %nan = arith.constant 0x7FC00000 : f32
  %c256 = arith.constant 2.560000e+02 : f32
  linalg.generic {indexing_maps = [#x, #w, #s, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %gate, %gate_scales : memref<?x320xf32>, memref<160x320xf8E4M3FN>, memref<2x3xf32>)
      outs(%g : memref<?x160xf32>) {
  ^bb0(%a: f32, %b: f8E4M3FN, %scale: f32, %acc: f32):
    %bits = arith.bitcast %b : f8E4M3FN to i8
    %sign_extended = arith.extsi %bits : i8 to i16
    %moved = arith.shli %sign_extended, %c7_i16 : i16
    %half_bits = arith.andi %moved, %mask : i16
    %half = arith.bitcast %half_bits : i16 to f16
    %widened = arith.extf %half : f16 to f32
    %nan_bits = arith.andi %bits, %c127_i8 : i8
    %is_nan = arith.cmpi eq, %nan_bits, %c127_i8 : i8
    %over256 = arith.select %is_nan, %nan, %widened : f32
    %decoded = arith.mulf %over256, %c256 : f32
    %wide = arith.mulf %decoded, %scale : f32
    %product = arith.mulf %a, %wide fastmath<reassoc,contract> : f32
    %sum = arith.addf %acc, %product fastmath<reassoc,contract> : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #s, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %up, %up_scales : memref<?x320xf32>, memref<160x320xf8E4M3FN>, memref<2x3xf32>)
      outs(%u : memref<?x160xf32>) {
  ^bb0(%a: f32, %b: f8E4M3FN, %scale: f32, %acc: f32):
    %bits = arith.bitcast %b : f8E4M3FN to i8
    %sign_extended = arith.extsi %bits : i8 to i16
    %moved = arith.shli %sign_extended, %c7_i16 : i16
    %half_bits = arith.andi %moved, %mask : i16
    %half = arith.bitcast %half_bits : i16 to f16
    %widened = arith.extf %half : f16 to f32
    %nan_bits = arith.andi %bits, %c127_i8 : i8
    %is_nan = arith.cmpi eq, %nan_bits, %c127_i8 : i8
    %over256 = arith.select %is_nan, %nan, %widened : f32
    %decoded = arith.mulf %over256, %c256 : f32
    %wide = arith.mulf %decoded, %scale : f32
    %product = arith.mulf %a, %wide fastmath<reassoc,contract> : f32
    %sum = arith.addf %acc, %product fastmath<reassoc,contract> : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#e, #e, #e],
                  iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : memref<?x160xf32>, memref<?x160xf32>)
      outs(%u : memref<?x160xf32>) {
  ^bb0(%gv: f32, %uv: f32, %out: f32):
    %neg = arith.negf %gv : f32
    %exp = math.exp %neg : f32
    %den = arith.addf %exp, %one : f32
    %silu = arith.divf %gv, %den : f32
    %r = arith.mulf %silu, %uv : f32
    linalg.yield %r : f32
  }
  memref.dealloc %g : memref<?x160xf32>
  return %u : memref<?x160xf32>
}

// -----

// Tests that an FP8 product whose K (72) is not a multiple of 16 is left to
// the generic mapping, as a bf16 one is.
// CHECK-LABEL: func.func @fp8_ragged_k(
// CHECK-NOT:     gpu.launch
// CHECK:         linalg.generic
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#s = affine_map<(m, n, k) -> (n floordiv 128, k floordiv 128)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @fp8_ragged_k(%input: memref<?x72xf32>, %weight: memref<80x72xf8E4M3FN>,
                        %scales: memref<1x1xf32>, %output: memref<?x80xf32>) {
  %c7_i16 = arith.constant 7 : i16
  %mask = arith.constant -16512 : i16
  %c127_i8 = arith.constant 127 : i8
  %nan = arith.constant 0x7FC00000 : f32
  %c256 = arith.constant 2.560000e+02 : f32
  linalg.generic {indexing_maps = [#x, #w, #s, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight, %scales : memref<?x72xf32>, memref<80x72xf8E4M3FN>, memref<1x1xf32>)
      outs(%output : memref<?x80xf32>) {
  ^bb0(%a: f32, %b: f8E4M3FN, %scale: f32, %acc: f32):
    %bits = arith.bitcast %b : f8E4M3FN to i8
    %sign_extended = arith.extsi %bits : i8 to i16
    %moved = arith.shli %sign_extended, %c7_i16 : i16
    %half_bits = arith.andi %moved, %mask : i16
    %half = arith.bitcast %half_bits : i16 to f16
    %widened = arith.extf %half : f16 to f32
    %nan_bits = arith.andi %bits, %c127_i8 : i8
    %is_nan = arith.cmpi eq, %nan_bits, %c127_i8 : i8
    %over256 = arith.select %is_nan, %nan, %widened : f32
    %decoded = arith.mulf %over256, %c256 : f32
    %wide = arith.mulf %decoded, %scale : f32
    %product = arith.mulf %a, %wide : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// Tests that a product whose N (128) is a multiple of 64 and K (64) of 32
// gets the tiled kernel as well, chosen when M is 64 or more: 2 column
// tiles times ceil(M / 64) blocks of 128 threads with two workgroup slices
// of 64 rows of 20 i32 (16 bf16 pairs and 4 of padding); each warp starts
// its 2 x 4 tiles of 16 x 8 from y (32 values), and per 32 of K the block
// fills the slices (8 pairs of x and 8 of W per thread), waits, runs 2 x 8
// mma.sync and waits again. Fewer rows take the warp kernel; with
// tiles=false it is the only one.
// CHECK-LABEL: func.func @tiled(
// CHECK-SAME:    %[[X:.+]]: memref<?x64xf32>, %[[W:.+]]: memref<128x64xbf16>, %[[Y:.+]]: memref<?x128xf32>
// CHECK:         %[[M:.+]] = memref.dim %[[X]], %c0
// CHECK:         %[[MANY:.+]] = arith.cmpi uge, %[[M]], %c64
// CHECK:         scf.if %[[MANY]] {
// CHECK:           %[[ROW_TILES:.+]] = arith.ceildivui %{{.+}}, %c64
// CHECK:           %[[BLOCKS:.+]] = arith.muli %[[ROW_TILES]], %c2
// CHECK:           gpu.launch blocks({{.*}}) in ({{.*}} = %[[BLOCKS]], {{.*}}) threads({{.*}}) in ({{[^)]*}} = %c128, {{[^)]*}})
// CHECK-SAME:        workgroup(%[[XS:.+]] : memref<64x20xi32, #gpu.address_space<workgroup>>, %[[WS:.+]] : memref<64x20xi32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-32:    memref.load %[[Y]]
// CHECK:             scf.for %{{.+}} = %{{.+}} to %c64{{.*}} step %c32
// CHECK-COUNT-8:       memref.store %{{.+}}, %[[XS]]
// CHECK:               gpu.barrier
// CHECK-COUNT-16:      nvvm.mma.sync
// CHECK:               gpu.barrier
// CHECK:           scf.if
// CHECK:         } else {
// CHECK:           gpu.launch blocks({{.*}}) threads({{.*}}) in ({{.*}} = %c32{{.*}}) {
// NO-TILES-LABEL: func.func @tiled(
// NO-TILES-NOT:   arith.cmpi uge
// NO-TILES-NOT:   workgroup(
// NO-TILES:       gpu.launch blocks({{.*}}) threads({{.*}}) in ({{.*}} = %c32{{.*}}) {
// NO-TILES-NOT:   gpu.launch
// NO-TILES:       return
#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
func.func @tiled(%input: memref<?x64xf32>, %weight: memref<128x64xbf16>,
                 %output: memref<?x128xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%input, %weight : memref<?x64xf32>, memref<128x64xbf16>)
      outs(%output : memref<?x128xf32>) {
  ^bb0(%a: f32, %b: bf16, %acc: f32):
    %wide = arith.extf %b : bf16 to f32
    %product = arith.mulf %a, %wide fastmath<contract> : f32
    %sum = arith.addf %acc, %product fastmath<contract> : f32
    linalg.yield %sum : f32
  }
  return
}
