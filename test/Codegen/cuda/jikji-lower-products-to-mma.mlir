// RUN: jikji-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(jikji-lower-products-to-mma))" | FileCheck %s
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
