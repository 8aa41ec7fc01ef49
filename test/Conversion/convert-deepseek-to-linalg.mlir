// RUN: jikji-opt %s --split-input-file --convert-deepseek-to-linalg | FileCheck %s
// RUN: jikji-opt %s --split-input-file --convert-deepseek-to-linalg=cpu-kernels=false | FileCheck %s --check-prefix=GENERIC
// RUN: jikji-opt %s --split-input-file --convert-deepseek-to-linalg=x86-vbmi=true | FileCheck %s --check-prefix=VBMI
// RUN: jikji-opt %s --split-input-file --convert-deepseek-to-linalg="cpu-kernels=false x86-vbmi=true" | FileCheck %s --check-prefix=GENERIC

// Tests that linear becomes one contraction whose body widens the BF16
// weight next to the multiply (as integer ops: a shift into the top half,
// which LLVM vectorizes 16 wide), with FMA contraction and reassociation
// (so that reductions vectorize) allowed.
// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<?x8xf32>, %w: tensor<4x8xbf16>) -> tensor<?x4xf32> {
  // CHECK: %[[FILL:.+]] = linalg.fill
  // CHECK: linalg.generic
  // CHECK-SAME: iterator_types = ["parallel", "parallel", "reduction"]
  // CHECK-SAME: ins(%{{.+}}, %{{.+}} : tensor<?x8xf32>, tensor<4x8xbf16>) outs(%[[FILL]] : tensor<?x4xf32>)
  // CHECK: %[[BITS:.+]] = arith.bitcast %{{.+}} : bf16 to i16
  // CHECK: %[[WIDE:.+]] = arith.extui %[[BITS]] : i16 to i32
  // CHECK: %[[SHIFTED:.+]] = arith.shli %[[WIDE]], %{{.+}} : i32
  // CHECK: %[[WEIGHT:.+]] = arith.bitcast %[[SHIFTED]] : i32 to f32
  // CHECK: arith.mulf %{{.+}}, %[[WEIGHT]] fastmath<reassoc,contract>
  // CHECK: arith.addf {{.+}} fastmath<reassoc,contract>
  // CHECK-NOT: deepseek.linear
  %y = deepseek.linear %x, %w : tensor<?x8xf32>, tensor<4x8xbf16> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// Tests that an FP8 linear (704 features, a multiple of 4) takes the
// vector kernel over its whole 128-column blocks: feature blocks on
// threads, 4 features per register block. Rows in blocks of 4 first: per
// 16 columns, each of the 4 features' 16 codes decoded once (the e4m3 bits
// sign-extended, shifted by 7, the sign's copy in bit 14 masked off (0xBF80
// is -16512), a float16 widened; S.1111.111 is NaN), times the block's
// scale (row `feature / 128`, column kb) times 2^8, then 16 FMAs for the 4
// rows. The rows left, one at a time: per 64 columns, the 4 features'
// codes 1024 columns ahead prefetched (past the end of the rows, 4 rows
// on: the next register block's; clamped to the weight), the largest code
// magnitude of each feature kept (a NaN code is the only one of 0x7F), and
// per 16 columns 4 FMAs of x · w/2^8 into 4 accumulators per 128-column
// block, scaled once by the block's scale; a feature whose largest
// magnitude is 0x7F gives NaN. The ragged edge (columns 256-319, the last
// column of scales) is one more contraction accumulating into the kernel's
// result.
// CHECK-DAG: #[[EDGE_SCALE:.+]] = affine_map<(d0, d1, d2) -> (d0 floordiv 128, 0)>
// CHECK-LABEL: func.func @fp8_linear
// CHECK: %[[KERNEL:.+]] = scf.forall (%{{.+}}) in (11)
// CHECK: %[[QUARTER:.+]] = arith.divui %{{.+}}, %{{.+}} : index
// CHECK: %[[BLOCKED:.+]] = arith.muli %[[QUARTER]], %{{.+}} : index
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[BLOCKED]] step %{{.+}} iter_args
// CHECK: %[[ROWS_SCALE_ROW:.+]] = arith.divui %{{.+}}, %{{.+}} : index
// CHECK: scf.for %[[ROWS_KB:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: %[[ROWS_SCALE:.+]] = tensor.extract %{{.+}}[%[[ROWS_SCALE_ROW]], %[[ROWS_KB]]] : tensor<6x3xf32>
// CHECK: %[[ROWS_SCALED:.+]] = arith.mulf %[[ROWS_SCALE]], %{{.+}} : f32
// CHECK: %[[ROWS_LANES:.+]] = vector.broadcast %[[ROWS_SCALED]] : f32 to vector<16xf32>
// CHECK-COUNT-4: vector.transfer_read %{{.+}} : tensor<?x320xf32>, vector<16xf32>
// CHECK: %[[CODES:.+]] = vector.transfer_read %{{.+}} : tensor<704x320xf8E4M3FN>, vector<16xf8E4M3FN>
// CHECK: %[[BITS:.+]] = arith.bitcast %[[CODES]] : vector<16xf8E4M3FN> to vector<16xi8>
// CHECK: %[[WIDE:.+]] = arith.extsi %[[BITS]] : vector<16xi8> to vector<16xi16>
// CHECK: %[[MOVED:.+]] = arith.shli %[[WIDE]], %{{.+}} : vector<16xi16>
// CHECK: %[[HALF_BITS:.+]] = arith.andi %[[MOVED]], %{{.+}} : vector<16xi16>
// CHECK: %[[HALF:.+]] = arith.bitcast %[[HALF_BITS]] : vector<16xi16> to vector<16xf16>
// CHECK: %[[WIDENED:.+]] = arith.extf %[[HALF]] : vector<16xf16> to vector<16xf32>
// CHECK: arith.cmpi eq
// CHECK: %[[DECODED:.+]] = arith.select %{{.+}}, %{{.+}}, %[[WIDENED]]
// CHECK: arith.mulf %[[DECODED]], %[[ROWS_LANES]] : vector<16xf32>
// CHECK-COUNT-3: arith.mulf %{{.+}}, %[[ROWS_LANES]] : vector<16xf32>
// CHECK-COUNT-16: vector.fma
// CHECK-COUNT-4: vector.reduction <add>
// CHECK: vector.transfer_write
// CHECK: scf.for %{{.+}} = %[[BLOCKED]] to %{{.+}} step %{{.+}} iter_args
// CHECK: %[[SCALE_ROW:.+]] = arith.divui %{{.+}}, %[[SCALE_ROWS:.+]] : index
// CHECK: %[[CODES_BUFFER:.+]] = bufferization.to_buffer %{{.+}} read_only : tensor<704x320xf8E4M3FN> to memref<704x320xf8E4M3FN, strided<[?, ?], offset: ?>>
// CHECK: scf.for %[[KB:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<64xi8>, vector<64xi8>, vector<64xi8>, vector<64xi8>)
// CHECK: scf.for %[[K:.+]] = %{{.+}} to %{{.+}} step %[[SIXTY_FOUR:.+]] iter_args
// CHECK: %[[DISTANCE:.+]] = arith.constant 1024 : index
// CHECK: %[[AHEAD:.+]] = arith.addi %[[K]], %[[DISTANCE]] : index
// CHECK: %[[WIDTH:.+]] = arith.constant 320 : index
// CHECK: %[[WRAPS:.+]] = arith.cmpi uge, %[[AHEAD]], %[[WIDTH]] : index
// CHECK: %[[LAST_COLUMN:.+]] = arith.constant 319 : index
// CHECK: %[[WRAPPED:.+]] = arith.subi %[[AHEAD]], %{{.+}} : index
// CHECK: %[[AHEAD_OR_WRAPPED:.+]] = arith.select %[[WRAPS]], %[[WRAPPED]], %[[AHEAD]] : index
// CHECK: %[[COLUMN:.+]] = arith.minui %[[AHEAD_OR_WRAPPED]], %[[LAST_COLUMN]] : index
// CHECK: %[[NEXT_BLOCK:.+]] = arith.addi %[[FEATURE:.+]], %{{.+}} : index
// CHECK: %[[FIRST:.+]] = arith.select %[[WRAPS]], %[[NEXT_BLOCK]], %[[FEATURE]] : index
// CHECK: %[[LAST_ROW:.+]] = arith.constant 703 : index
// CHECK: %[[ROW:.+]] = arith.minui %{{.+}}, %[[LAST_ROW]] : index
// CHECK: memref.prefetch %[[CODES_BUFFER]][%[[ROW]], %[[COLUMN]]], read, locality<3>, data
// CHECK-COUNT-3: memref.prefetch %[[CODES_BUFFER]][%{{.+}}, %[[COLUMN]]], read, locality<3>, data
// CHECK: %[[ROW_CODES:.+]] = vector.transfer_read %{{.+}} : tensor<704x320xf8E4M3FN>, vector<64xf8E4M3FN>
// CHECK: %[[ROW_BITS:.+]] = arith.bitcast %[[ROW_CODES]] : vector<64xf8E4M3FN> to vector<64xi8>
// CHECK: %[[MAGNITUDES:.+]] = arith.andi %[[ROW_BITS]], %{{.+}} : vector<64xi8>
// CHECK: arith.maxui %{{.+}}, %[[MAGNITUDES]] : vector<64xi8>
// CHECK-COUNT-3: arith.maxui
// CHECK: vector.transfer_read %{{.+}} : tensor<?x320xf32>, vector<16xf32>
// CHECK: vector.transfer_read %{{.+}} : tensor<704x320xf8E4M3FN>, vector<16xf8E4M3FN>
// CHECK: arith.extsi
// CHECK-NOT: arith.select
// CHECK: arith.extf %{{.+}} : vector<16xf16> to vector<16xf32>
// CHECK-NOT: arith.select
// CHECK: vector.fma
// CHECK-COUNT-15: vector.fma
// CHECK: %[[SCALE:.+]] = tensor.extract %{{.+}}[%[[SCALE_ROW]], %[[KB]]] : tensor<6x3xf32>
// CHECK: arith.mulf %[[SCALE]], %{{.+}} : f32
// CHECK: vector.broadcast
// CHECK-COUNT-4: vector.fma
// CHECK: vector.reduction <add>
// CHECK: %[[LARGEST:.+]] = vector.reduction <maxui>, %{{.+}} : vector<64xi8> into i8
// CHECK: %[[HAS_NAN:.+]] = arith.cmpi eq, %[[LARGEST]], %{{.+}} : i8
// CHECK: arith.select %[[HAS_NAN]], %{{.+}}, %{{.+}} : f32
// CHECK: vector.transfer_write
// CHECK: tensor.extract_slice %{{.+}}[0, 256] [%{{.+}}, 64] [1, 1] : tensor<?x320xf32> to tensor<?x64xf32>
// CHECK: tensor.extract_slice %{{.+}}[0, 256] [704, 64] [1, 1] : tensor<704x320xf8E4M3FN> to tensor<704x64xf8E4M3FN>
// CHECK: tensor.extract_slice %{{.+}}[0, 2] [6, 1] [1, 1] : tensor<6x3xf32> to tensor<6x1xf32>
// CHECK: linalg.generic {indexing_maps = [{{.+}}, {{.+}}, #[[EDGE_SCALE]], {{.+}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: outs(%[[KERNEL]] : tensor<?x704xf32>)
// CHECK: arith.extf %{{.+}} : f16 to f32
// Without the CPU's kernels (the CUDA target) it stays one contraction
// with the block scale of (o floordiv 128, i floordiv 128).
// GENERIC-DAG: #[[SCALE:.+]] = affine_map<(d0, d1, d2) -> (d1 floordiv 128, d2 floordiv 128)>
// GENERIC-LABEL: func.func @fp8_linear
// GENERIC: linalg.generic
// GENERIC-SAME: #[[SCALE]]
// GENERIC-SAME: iterator_types = ["parallel", "parallel", "reduction"]
// GENERIC: arith.bitcast %{{.+}} : f8E4M3FN to i8
// GENERIC: arith.extf %{{.+}} : f16 to f32
// GENERIC-NOT: linalg.generic
// GENERIC: return
// With x86-vbmi (a CPU with AVX-512 VBMI) the rows in blocks of 4 are as
// above, and the rows left decode 64 codes of each feature at a time by
// byte lookups: the codes permuted so that x86's unpacks give the values in
// order, the low and the high byte of each value's float32 bits looked up
// (vpermi2b) in two 128-entry tables of the 7 magnitude bits, the sign bit
// (-128) merged into the high byte, bytes interleaved into 16-bit halves
// and those with zeros into float32s (the low half of each value's bits is
// zero). The tables: code 1 (2^-9, 0x3B000000) has high byte 59 and low
// byte 0, code 2 (2^-8, 0x3B800000) 59 and 0x80 (-128); the last entry
// of the high table, code 0x7F, is NaN's 0x7F (0x7FC00000). The block
// scales carry no 2^8, and no NaN search is left: the NaN codes decode to
// NaN.
// VBMI-LABEL: func.func @fp8_linear
// VBMI: scf.for %{{.+}} iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// VBMI: arith.extf %{{.+}} : vector<16xf16> to vector<16xf32>
// VBMI: %[[ONE_ROW_SCALE_ROW:.+]] = arith.divui %{{.+}}, %{{.+}} : index
// VBMI: %[[CODES_BUFFER:.+]] = bufferization.to_buffer %{{.+}} read_only
// VBMI: scf.for %[[ONE_ROW_KB:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// VBMI: scf.for %{{.+}} step %{{.+}} iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// VBMI-COUNT-4: vector.transfer_read %{{.+}} : tensor<?x320xf32>, vector<16xf32>
// VBMI-COUNT-4: memref.prefetch %[[CODES_BUFFER]]
// VBMI: %[[CODES:.+]] = vector.transfer_read %{{.+}} : tensor<704x320xf8E4M3FN>, vector<64xf8E4M3FN>
// VBMI: %[[BITS:.+]] = arith.bitcast %[[CODES]] : vector<64xf8E4M3FN> to vector<64xi8>
// VBMI: %[[PERMUTED:.+]] = vector.shuffle %[[BITS]], %[[BITS]] [0, 1, 2, 3, 16, 17, 18, 19, 32, 33, 34, 35, 48, 49, 50, 51, 4, 5, 6, 7, 20, 21, 22, 23, 36, 37, 38, 39, 52, 53, 54, 55, 8, 9, 10, 11, 24, 25, 26, 27, 40, 41, 42, 43, 56, 57, 58, 59, 12, 13, 14, 15, 28, 29, 30, 31, 44, 45, 46, 47, 60, 61, 62, 63]
// VBMI: %[[LOW0:.+]] = arith.constant dense<[0, 0, -128, -64, 0, 32,
// VBMI: %[[LOW1:.+]] = arith.constant dense<
// VBMI: %[[HIGH0:.+]] = arith.constant dense<[0, 59, 59, 59, 60,
// VBMI: %[[HIGH1:.+]] = arith.constant dense<{{.+}}, 67, 127]> : vector<64xi8>
// VBMI: %[[LOW:.+]] = llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.qi.512"(%[[LOW0]], %[[PERMUTED]], %[[LOW1]]) : (vector<64xi8>, vector<64xi8>, vector<64xi8>) -> vector<64xi8>
// VBMI: %[[MAGNITUDE_HIGH:.+]] = llvm.call_intrinsic "llvm.x86.avx512.vpermi2var.qi.512"(%[[HIGH0]], %[[PERMUTED]], %[[HIGH1]])
// VBMI: %[[SIGN_BIT:.+]] = arith.constant dense<-128> : vector<64xi8>
// VBMI: %[[SIGN:.+]] = arith.andi %[[PERMUTED]], %[[SIGN_BIT]] : vector<64xi8>
// VBMI: %[[HIGH:.+]] = arith.ori %[[MAGNITUDE_HIGH]], %[[SIGN]] : vector<64xi8>
// VBMI: %[[HALVES_BYTES:.+]] = vector.shuffle %[[LOW]], %[[HIGH]] [0, 64, 1, 65, 2, 66, 3, 67, 4, 68, 5, 69, 6, 70, 7, 71, 16, 80,
// VBMI: %[[HALVES:.+]] = vector.bitcast %[[HALVES_BYTES]] : vector<64xi8> to vector<32xi16>
// VBMI: %[[FIRST_BITS:.+]] = vector.shuffle %{{.+}}, %[[HALVES]] [0, 32, 1, 33, 2, 34, 3, 35, 8, 40,
// VBMI: %[[FIRST:.+]] = vector.bitcast %[[FIRST_BITS]] : vector<32xi16> to vector<16xf32>
// VBMI: %[[SECOND_BITS:.+]] = vector.shuffle %{{.+}}, %[[HALVES]] [4, 36, 5, 37, 6, 38, 7, 39, 12, 44,
// VBMI: vector.bitcast %[[SECOND_BITS]] : vector<32xi16> to vector<16xf32>
// VBMI: vector.shuffle %[[LOW]], %[[HIGH]] [8, 72, 9, 73,
// VBMI-NOT: arith.maxui
// VBMI: vector.fma %{{.+}}, %[[FIRST]], %{{.+}} : vector<16xf32>
// VBMI-COUNT-15: vector.fma
// VBMI-NOT: arith.maxui
// VBMI: %[[SCALE:.+]] = tensor.extract %{{.+}}[%[[ONE_ROW_SCALE_ROW]], %[[ONE_ROW_KB]]] : tensor<6x3xf32>
// VBMI-NEXT: %[[LANES:.+]] = vector.broadcast %[[SCALE]] : f32 to vector<16xf32>
// VBMI-COUNT-4: vector.fma %{{.+}}, %[[LANES]], %{{.+}} : vector<16xf32>
// VBMI-COUNT-4: vector.reduction <add>
// VBMI-NOT: arith.select
// VBMI: vector.transfer_write
// VBMI: linalg.generic
func.func @fp8_linear(%x: tensor<?x320xf32>, %w: tensor<704x320xf8E4M3FN>, %s: tensor<6x3xf32>) -> tensor<?x704xf32> {
  %y = deepseek.linear %x, %w scales %s block [128, 128] : tensor<?x320xf32>, tensor<704x320xf8E4M3FN>, tensor<6x3xf32> -> tensor<?x704xf32>
  return %y : tensor<?x704xf32>
}

// -----

// Tests that with a feature count that is not a multiple of 4 (702) the
// whole blocks are one contraction, loops (o, t, kb, ii): features
// outermost, the scale of (o floordiv 128, kb) invariant in the innermost
// loop; the edge as above.
// CHECK-DAG: #[[BLOCKED_X:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
// CHECK-DAG: #[[BLOCKED_W:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[BLOCK_SCALE:.+]] = affine_map<(d0, d1, d2, d3) -> (d0 floordiv 128, d2)>
// CHECK-DAG: #[[BLOCK_OUT:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d0)>
// CHECK-DAG: #[[ODD_EDGE_SCALE:.+]] = affine_map<(d0, d1, d2) -> (d0 floordiv 128, 0)>
// CHECK-LABEL: func.func @fp8_linear_odd
// CHECK-NOT: scf.forall
// CHECK: %[[X:.+]] = tensor.extract_slice %{{.+}}[0, 0] [%{{.+}}, 256] [1, 1] : tensor<?x320xf32> to tensor<?x256xf32>
// CHECK: tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2]] output_shape [%{{.+}}, 2, 128]
// CHECK: %[[W:.+]] = tensor.extract_slice %{{.+}}[0, 0] [702, 256] [1, 1] : tensor<702x320xf8E4M3FN> to tensor<702x256xf8E4M3FN>
// CHECK: tensor.expand_shape %[[W]] {{\[\[}}0], [1, 2]] output_shape [702, 2, 128]
// CHECK: tensor.extract_slice %{{.+}}[0, 0] [6, 2] [1, 1] : tensor<6x3xf32> to tensor<6x2xf32>
// CHECK: %[[WHOLE:.+]] = linalg.generic {indexing_maps = [#[[BLOCKED_X]], #[[BLOCKED_W]], #[[BLOCK_SCALE]], #[[BLOCK_OUT]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK: arith.bitcast %{{.+}} : f8E4M3FN to i8
// CHECK-NOT: tensor.extract
// CHECK: arith.extf %{{.+}} : f16 to f32
// CHECK: linalg.yield
// CHECK: linalg.generic {indexing_maps = [{{.+}}, {{.+}}, #[[ODD_EDGE_SCALE]], {{.+}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: outs(%[[WHOLE]] : tensor<?x702xf32>)
// GENERIC-LABEL: func.func @fp8_linear_odd
func.func @fp8_linear_odd(%x: tensor<?x320xf32>, %w: tensor<702x320xf8E4M3FN>, %s: tensor<6x3xf32>) -> tensor<?x702xf32> {
  %y = deepseek.linear %x, %w scales %s block [128, 128] : tensor<?x320xf32>, tensor<702x320xf8E4M3FN>, tensor<6x3xf32> -> tensor<?x702xf32>
  return %y : tensor<?x702xf32>
}

// -----

// Tests that RMSNorm is a reduction of squares and one normalising pass,
// and that a residual addition is one elementwise pass; each shares its
// rows among threads from 64 rows on (jikji.parallel = 64, which the CPU
// pipeline tests at run time: a prefill's hundreds of tokens, not a decode
// step's one).
// CHECK-LABEL: func.func @rms_norm_add
func.func @rms_norm_add(%x: tensor<?x8xf32>, %w: tensor<8xbf16>) -> tensor<?x8xf32> {
  // CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]{{.+}} attrs = {jikji.parallel = 64 : i64}
  // CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "parallel"]{{.+}} attrs = {jikji.parallel = 64 : i64}
  // CHECK: math.rsqrt
  %y = deepseek.rms_norm %x, %w eps 1.0e-06 : tensor<?x8xf32>, tensor<8xbf16>
  // CHECK: linalg.generic {{.+}} attrs = {jikji.parallel = 64 : i64}
  // CHECK: arith.addf
  %z = deepseek.add %x, %y : tensor<?x8xf32>
  return %z : tensor<?x8xf32>
}

// -----

// Tests that split and view become slices and reshapes.
// CHECK-LABEL: func.func @split_view
func.func @split_view(%x: tensor<?x96xf32>) -> (tensor<?x2x32xf32>, tensor<?x2x16xf32>) {
  // CHECK: tensor.expand_shape %{{.+}} {{\[\[}}0], [1, 2]] output_shape
  %v = deepseek.view %x : tensor<?x96xf32> -> tensor<?x2x48xf32>
  // CHECK: tensor.extract_slice %{{.+}}[0, 0, 0] [%{{.+}}, 2, 32] [1, 1, 1]
  // CHECK: tensor.extract_slice %{{.+}}[0, 0, 32] [%{{.+}}, 2, 16] [1, 1, 1]
  %a, %b = deepseek.split %v [32, 16] : tensor<?x2x48xf32> -> tensor<?x2x32xf32>, tensor<?x2x16xf32>
  return %a, %b : tensor<?x2x32xf32>, tensor<?x2x16xf32>
}

// -----

// Tests that RoPE tabulates YaRN's frequencies at compile time and rotates
// adjacent pairs by the position's angle in float32, its rows shared among
// threads from 64 on.
// CHECK-LABEL: func.func @rope
func.func @rope(%x: tensor<?x4xf32>, %start: index) -> tensor<?x4xf32> {
  // CHECK: arith.constant dense<[1.000000e+00, 0.00999999977]> : tensor<2xf32>
  // CHECK: linalg.generic {{.+}} attrs = {jikji.parallel = 64 : i64}
  // CHECK: math.cos
  // CHECK: math.sin
  %y = deepseek.rope %x at %start with <theta = 10000.0, factor = 1.0, original_max_position = 4096, beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// Tests that RoPE with positions reads each token's own position.
// CHECK-LABEL: func.func @rope_positions
func.func @rope_positions(%x: tensor<?x4xf32>, %pos: tensor<?xi64>) -> tensor<?x4xf32> {
  // CHECK: linalg.generic
  // CHECK: %[[P:.+]] = tensor.extract %{{.+}}[%{{.+}}] : tensor<?xi64>
  // CHECK: arith.uitofp %[[P]] : i64 to f32
  %y = deepseek.rope %x at positions(%pos : tensor<?xi64>) with <theta = 10000.0, factor = 1.0, original_max_position = 4096, beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// Tests that a batched decode step becomes a parallel loop over the slots,
// each attending at its own position over its own slot of the caches, and
// writing back its output row and cache slot.
// CHECK-LABEL: func.func @batched_latent_attention
func.func @batched_latent_attention(%qn: tensor<?x2x4xf32>, %qr: tensor<?x2x2xf32>, %c: tensor<?x8xf32>, %kr: tensor<?x2xf32>, %w: tensor<16x8xbf16>, %lc: tensor<?x?x8xf32>, %rc: tensor<?x?x2xf32>, %pos: tensor<?xi64>) -> (tensor<?x2x4xf32>, tensor<?x?x8xf32>, tensor<?x?x2xf32>) {
  // CHECK: scf.forall (%[[SLOT:.+]]) in (%{{.+}}) shared_outs(%[[OUT:.+]] = %{{.+}}, %[[LC:.+]] = %{{.+}}, %[[RC:.+]] = %{{.+}})
  // CHECK: %[[P:.+]] = tensor.extract %{{.+}}[%[[SLOT]]] : tensor<?xi64>
  // CHECK: %[[START:.+]] = arith.index_cast %[[P]] : i64 to index
  // CHECK: tensor.extract_slice %[[LC]][%[[SLOT]], 0, 0] [1, %{{.+}}, 8] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x8xf32>
  // CHECK: tensor.insert_slice %{{.+}} into %{{.+}}[%[[START]], 0] [%{{.+}}, 8]
  // CHECK: scf.forall.in_parallel
  // CHECK: tensor.parallel_insert_slice %{{.+}} into %[[OUT]][%[[SLOT]], 0, 0] [%{{.+}}, 2, 4]
  // CHECK: tensor.parallel_insert_slice %{{.+}} into %[[LC]][%[[SLOT]], 0, 0] [1, %{{.+}}, 8]
  // CHECK: tensor.parallel_insert_slice %{{.+}} into %[[RC]][%[[SLOT]], 0, 0] [1, %{{.+}}, 2]
  // CHECK-NOT: deepseek.latent_attention
  %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<16x8xbf16>) cache(%lc, %rc) at positions(%pos : tensor<?xi64>) scale 0.5
      : tensor<?x2x4xf32>, tensor<?x2x2xf32>, tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x?x8xf32>, tensor<?x?x2xf32> -> tensor<?x2x4xf32>
  return %o, %lc2, %rc2 : tensor<?x2x4xf32>, tensor<?x?x8xf32>, tensor<?x?x2xf32>
}

// -----

// Tests that a batched as-written attention loops over the slots too.
// CHECK-LABEL: func.func @batched_attention
func.func @batched_attention(%qn: tensor<?x2x4xf32>, %qr: tensor<?x2x2xf32>, %kn: tensor<?x2x4xf32>, %kr: tensor<?x2xf32>, %v: tensor<?x2x4xf32>, %kc: tensor<?x?x2x6xf32>, %vc: tensor<?x?x2x4xf32>, %pos: tensor<?xi64>) -> (tensor<?x2x4xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x4xf32>) {
  // CHECK: scf.forall (%[[SLOT:.+]]) in
  // CHECK: tensor.extract_slice %{{.+}}[%[[SLOT]], 0, 0, 0] [1, %{{.+}}, 2, 6] [1, 1, 1, 1] : tensor<?x?x2x6xf32> to tensor<?x2x6xf32>
  // CHECK: math.exp
  // CHECK: tensor.parallel_insert_slice
  // CHECK-NOT: deepseek.mla_attention
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at positions(%pos : tensor<?xi64>) scale 0.5
      : tensor<?x2x4xf32>, tensor<?x2x2xf32>, tensor<?x2x4xf32>, tensor<?x2xf32>, tensor<?x2x4xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x4xf32> -> tensor<?x2x4xf32>
  return %o, %kc2, %vc2 : tensor<?x2x4xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x4xf32>
}

// -----

// Tests that the as-written attention writes the new rows into both caches,
// reads rows [0, start + T), and masks the future with -inf.
// CHECK-LABEL: func.func @attention
func.func @attention(%qn: tensor<?x2x4xf32>, %qr: tensor<?x2x2xf32>, %kn: tensor<?x2x4xf32>, %kr: tensor<?x2xf32>, %v: tensor<?x2x4xf32>, %kc: tensor<?x2x6xf32>, %vc: tensor<?x2x4xf32>, %start: index) -> (tensor<?x2x4xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32>) {
  // CHECK: tensor.insert_slice %{{.+}} into %{{.+}}[%{{.+}}, 0, 0] [%{{.+}}, 2, 6]
  // CHECK: tensor.insert_slice %{{.+}} into %{{.+}}[%{{.+}}, 0, 0] [%{{.+}}, 2, 4]
  // CHECK: arith.constant 0xFF800000 : f32
  // CHECK: math.exp
  // CHECK-NOT: deepseek.mla_attention
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %start scale 0.5
      : tensor<?x2x4xf32>, tensor<?x2x2xf32>, tensor<?x2x4xf32>, tensor<?x2xf32>, tensor<?x2x4xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32> -> tensor<?x2x4xf32>
  return %o, %kc2, %vc2 : tensor<?x2x4xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32>
}

// -----

// Tests the CPU's blocked attention for heads whose depths are multiples of
// 16 (queries and keys 32, values 16): queries, keys and values copied per
// head into buffers of whole blocks of 4 rows, the query's two parts each
// transposed straight into its columns (no concatenation first), only the
// padding rows filled with zeros; then per head, on one thread (heads
// shared among threads): the scores by the register-blocked kernel into a
// [T4, S16] temporary of that head, each block of 4 tokens up to the cache
// rows it sees; the causal softmax in place, each token's maximum over the
// columns it sees only, exponentials over vectors of 16 up to its block's
// seen rows (zero past its own), divided by their sum; the
// weighted sum in 4 x 1 register blocks of broadcast weights times value
// vectors (into an unfilled output: it writes every element); transposed
// back to [T, heads, dv] into a buffer of its own. Without the CPU kernels
// the attention stays two contractions.
// CHECK-LABEL: func.func @blocked_attention
// GENERIC-LABEL: func.func @blocked_attention
func.func @blocked_attention(%qn: tensor<?x2x16xf32>, %qr: tensor<?x2x16xf32>, %kn: tensor<?x2x16xf32>, %kr: tensor<?x16xf32>, %v: tensor<?x2x16xf32>, %kc: tensor<?x2x32xf32>, %vc: tensor<?x2x16xf32>, %start: index) -> (tensor<?x2x16xf32>, tensor<?x2x32xf32>, tensor<?x2x16xf32>) {
  // CHECK: %[[QUERIES:.+]] = tensor.empty(%[[T4:.+]]) : tensor<2x?x32xf32>
  // CHECK: %[[NOPE:.+]] = tensor.extract_slice %[[QUERIES]][0, %{{.+}}, 0] [2, %[[T:.+]], 16]
  // CHECK: %[[WITH_NOPE:.+]] = linalg.transpose ins(%arg0 : tensor<?x2x16xf32>) outs(%[[NOPE]] : tensor<2x?x16xf32>) permutation = [1, 0, 2]  {jikji.parallel}
  // CHECK: %[[QUERIES2:.+]] = tensor.insert_slice %[[WITH_NOPE]] into %[[QUERIES]]
  // CHECK: %[[ROPE:.+]] = tensor.extract_slice %[[QUERIES2]][0, %{{.+}}, 16] [2, %[[T]], 16]
  // CHECK: %[[WITH_ROPE:.+]] = linalg.transpose ins(%arg1 : tensor<?x2x16xf32>) outs(%[[ROPE]] : tensor<2x?x16xf32>) permutation = [1, 0, 2]  {jikji.parallel}
  // CHECK: %[[QUERIES3:.+]] = tensor.insert_slice %[[WITH_ROPE]] into %[[QUERIES2]]
  // CHECK: %[[PAD_ROWS:.+]] = arith.subi %[[T4]], %[[T]] : index
  // CHECK: %[[PADDING:.+]] = tensor.extract_slice %[[QUERIES3]][0, %[[T]], 0] [2, %[[PAD_ROWS]], 32]
  // CHECK: %[[ZEROS:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[PADDING]] : tensor<2x?x32xf32>)
  // CHECK: tensor.insert_slice %[[ZEROS]] into %[[QUERIES3]][0, %[[T]], 0] [2, %[[PAD_ROWS]], 32]
  // CHECK-COUNT-2: linalg.transpose {{.+}} permutation = [1, 0, 2]  {jikji.parallel}
  // CHECK: %[[OUT:.+]] = tensor.empty(%[[T4]]) : tensor<2x?x16xf32>
  // CHECK-NEXT: scf.forall (%{{.+}}) in (2) shared_outs(%{{.+}} = %[[OUT]])
  // CHECK: %[[SCORES:.+]] = tensor.empty(%[[T4]], %{{.+}}) : tensor<?x?xf32>
  // CHECK: scf.for %{{.+}} = %{{.+}} to %[[T4]] step %{{.+}} iter_args(%{{.+}} = %[[SCORES]])
  // CHECK: %[[SEEN:.+]] = arith.minui
  // CHECK: scf.for %{{.+}} = %{{.+}} to %[[SEEN]] step %{{.+}}
  // CHECK-COUNT-16: vector.fma
  // CHECK: %[[BLOCK_SEEN:.+]] = arith.minui
  // CHECK: %[[VISIBLE:.+]] = arith.minui %{{.+}}, %[[BLOCK_SEEN]] : index
  // CHECK: scf.for %{{.+}} = %{{.+}} to %[[VISIBLE]] step %{{.+}} iter_args(%{{.+}} = %{{.+}}) -> (vector<16xf32>)
  // CHECK: vector.create_mask
  // CHECK: arith.maximumf
  // CHECK: vector.reduction <maximumf>
  // CHECK: scf.for %{{.+}} = %{{.+}} to %[[BLOCK_SEEN]] step %{{.+}} iter_args
  // CHECK: math.exp %{{.+}} : vector<16xf32>
  // CHECK: vector.create_mask
  // CHECK: vector.transfer_write
  // CHECK: vector.reduction <add>
  // CHECK: scf.for %{{.+}} = %{{.+}} to %[[VISIBLE]] step %{{.+}} iter_args
  // CHECK: arith.divf %{{.+}} : vector<16xf32>
  // CHECK: %[[SEEN2:.+]] = arith.minui
  // CHECK: scf.for %{{.+}} = %{{.+}} to %[[SEEN2]] step %{{.+}}
  // CHECK-COUNT-4: vector.broadcast
  // CHECK: vector.transfer_read {{.+}} : tensor<?x16xf32>, vector<16xf32>
  // CHECK-COUNT-4: vector.fma
  // CHECK: tensor.parallel_insert_slice
  // CHECK: tensor.extract_slice {{.+}} : tensor<2x?x16xf32> to tensor<2x?x16xf32>
  // CHECK: linalg.transpose {{.+}} permutation = [1, 0, 2]  {jikji.parallel}
  // GENERIC-NOT: linalg.transpose
  // GENERIC-NOT: vector.fma
  // GENERIC: return
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %start scale 0.5
      : tensor<?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x16xf32>, tensor<?x2x16xf32>, tensor<?x2x32xf32>, tensor<?x2x16xf32> -> tensor<?x2x16xf32>
  return %o, %kc2, %vc2 : tensor<?x2x16xf32>, tensor<?x2x32xf32>, tensor<?x2x16xf32>
}

// -----

// Tests the expanded form of a latent attention's prefill on the CPU, the
// blocked attention: the keys' rope part, one vector per cache row shared by
// all heads, broadcast straight into every head's columns next to the
// transposed nope part.
// CHECK-LABEL: func.func @blocked_latent_prefill
func.func @blocked_latent_prefill(%qn: tensor<?x2x16xf32>, %qr: tensor<?x2x16xf32>, %c: tensor<?x16xf32>, %kr: tensor<?x16xf32>, %w: tensor<64x16xbf16>, %lc: tensor<?x16xf32>, %rc: tensor<?x16xf32>, %start: index) -> (tensor<?x2x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>) {
  // CHECK: scf.if
  // CHECK-COUNT-2: linalg.transpose ins(%arg{{[01]}} : tensor<?x2x16xf32>)
  // CHECK: %[[KEYS:.+]] = tensor.empty(%{{.+}}) : tensor<2x?x32xf32>
  // CHECK: linalg.transpose {{.+}} : tensor<2x?x16xf32>) permutation = [1, 0, 2]  {jikji.parallel}
  // CHECK: %[[ROPE:.+]] = tensor.extract_slice %{{.+}}[0, %{{.+}}, 16] [2, %{{.+}}, 16]
  // CHECK: linalg.broadcast ins(%{{.+}} : tensor<?x16xf32>) outs(%[[ROPE]] : tensor<2x?x16xf32>) dimensions = [0]  {jikji.parallel}
  // CHECK: scf.forall (%{{.+}}) in (2)
  // CHECK: } else {
  %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<64x16xbf16>) cache(%lc, %rc) at %start scale 0.5
      : tensor<?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x2x16xf32>
  return %o, %lc2, %rc2 : tensor<?x2x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>
}

// -----

// Tests that the router picks experts per token in loops, and that the
// experts run one SwiGLU per (token, choice). Without the CPU kernels (the
// GPU's lowering) the router is one linalg op and the experts take the
// grouped experts' linalg ops (GENERIC checks of @grouped_experts) onto
// zeros: products over the pairs, then a gather per (token, feature); no
// loop outside them.
// CHECK-LABEL: func.func @moe
// GENERIC-LABEL: func.func @moe
// GENERIC-NOT: scf.for
// GENERIC: %[[ROUTED:.+]]:2 = linalg.generic {{.+}} outs(%{{.+}}, %{{.+}} : tensor<?x2xf32>, tensor<?x2xi32>)
// GENERIC: } -> (tensor<?x2xf32>, tensor<?x2xi32>)
// GENERIC-NOT: scf.for
// GENERIC: linalg.generic {{.+}} ins(%[[ROUTED]]#1 : tensor<?x2xi32>) outs(%{{.+}} : tensor<4xindex>)
// GENERIC: linalg.generic {{.+}} ins(%[[ROUTED]]#0 : tensor<?x2xf32>) outs(%{{.+}} : tensor<?x8xf32>)
// GENERIC: } -> tensor<?x8xf32>
// GENERIC-NEXT: return
func.func @moe(%x: tensor<?x8xf32>, %logits: tensor<?x4xf32>, %g: tensor<4x2x8xbf16>, %u: tensor<4x2x8xbf16>, %d: tensor<4x8x2xbf16>) -> tensor<?x8xf32> {
  // CHECK: scf.for
  // CHECK: scf.for
  // CHECK: scf.for
  %w, %i = deepseek.moe_router %logits scoring softmax method greedy top 2 groups 1 topk_groups 1 scaling 1.0
      : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  // CHECK-NOT: deepseek.moe_experts
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d)
      : tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xi32>, tensor<4x2x8xbf16>, tensor<4x2x8xbf16>, tensor<4x8x2xbf16> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Tests that without the CPU kernels (the GPU's lowering) the router is one
// linalg op over (token, choice), scores, bias, groups, top-k and the
// normalized, scaled weight computed in its body: no loop outside it.
// GENERIC-LABEL: func.func @router_by_element
func.func @router_by_element(%l: tensor<?x16xf32>, %b: tensor<16xf32>) -> (tensor<?x4xf32>, tensor<?x4xi32>) {
  // GENERIC-NOT: scf.for
  // GENERIC: linalg.generic {{.+}} iterator_types = ["parallel", "parallel"]} outs(%{{.+}}, %{{.+}} : tensor<?x4xf32>, tensor<?x4xi32>)
  // GENERIC: linalg.index 0
  // GENERIC: linalg.index 1
  // GENERIC: tensor.extract %arg0
  // GENERIC: math.exp
  // GENERIC: tensor.extract %arg1
  // GENERIC: scf.for %{{.+}} = %{{.+}} to %c4{{(_[0-9]+)?}} step
  // GENERIC: scf.for %{{.+}} = %{{.+}} to %c16{{(_[0-9]+)?}} step
  // GENERIC: arith.divf
  // GENERIC: arith.mulf
  // GENERIC: arith.trunci %{{.+}} : i64 to i32
  // GENERIC-NEXT: linalg.yield %{{.+}}, %{{.+}} : f32, i32
  // GENERIC-NEXT: } -> (tensor<?x4xf32>, tensor<?x4xi32>)
  // GENERIC-NEXT: return
  %w, %i = deepseek.moe_router %l bias %b scoring sigmoid method noaux_tc top 4 groups 4 topk_groups 2 normalize scaling 2.5 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return %w, %i : tensor<?x4xf32>, tensor<?x4xi32>
}

// -----

// Tests that grouped experts take three paths chosen by the token count:
// one token (a decode step) shares its k experts among threads, each
// expert's gate, up and down products whole on one thread (no
// jikji.parallel of their own) into row j of a [k, hidden] buffer, which a
// loop over the k choices then adds, weighted, onto the accumulator. More
// tokens are counted and sorted by expert; up to 4 rows per expert on
// average (tokens x 4 choices <= 16 experts x 4: a batched decode step),
// the experts with rows are listed and shared among threads, each one's
// gate, up and down whole on one thread (no scf.forall or jikji.parallel
// inside) into its rows of a [pairs, hidden] buffer, which a loop over the
// pairs adds, weighted, onto the accumulator; beyond that the experts run
// one after another, each sharing its products among threads. Without the
// CPU kernels (the GPU's lowering) nothing runs outside a linalg op, so
// nothing becomes host code: the counts, offsets, sorted positions and
// their inverse are linalg ops over experts or pairs, and the products run
// over all sorted rows at once, each row reading its own expert's weight
// (the expert slice taken inside the body) before a gather per (token,
// feature) adds the rows onto the accumulator.
// CHECK-LABEL: func.func @grouped_experts
// GENERIC-LABEL: func.func @grouped_experts
func.func @grouped_experts(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x64xbf16>, %acc: tensor<?x256xf32>) -> tensor<?x256xf32> {
  // CHECK: %[[TOKENS:.+]] = tensor.dim %{{.+}}, %c0
  // CHECK: %[[ONE:.+]] = arith.cmpi eq, %[[TOKENS]], %c1
  // CHECK: %[[PAIRS:.+]] = arith.muli %[[TOKENS]], %c4
  // CHECK: %[[FEW:.+]] = arith.cmpi ule, %[[PAIRS]], %c64
  // CHECK: scf.if %[[ONE]]
  // CHECK: scf.forall (%{{.+}}) in (4) shared_outs(%{{.+}} = %{{.+}}) -> (tensor<4x256xf32>)
  // CHECK-NOT: jikji.parallel
  // CHECK: tensor.extract %{{.+}} : tensor<?x4xi32>
  // CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<256xf32>, tensor<64x256xbf16>)
  // CHECK-NOT: jikji.parallel
  // CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<256xf32>, tensor<64x256xbf16>)
  // CHECK-NOT: jikji.parallel
  // CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<64xf32>, tensor<256x64xbf16>)
  // CHECK-NOT: jikji.parallel
  // CHECK: tensor.parallel_insert_slice %{{.+}} into %{{.+}}[%{{.+}}, 0] [1, 256] [1, 1] : tensor<256xf32> into tensor<4x256xf32>
  // CHECK: scf.for %{{.+}} = %{{.+}} to %c4{{(_[0-9]+)?}} step
  // CHECK: tensor.extract %{{.+}} : tensor<?x4xf32>
  // CHECK: } else {
  // CHECK: %[[OFFSETS:.+]]:2 = scf.for %{{.+}} = %{{.+}} to %c16 step
  // CHECK: scf.if %[[FEW]]
  // CHECK: %[[USED:.+]]:2 = scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) -> (tensor<16xindex>, index)
  // CHECK: arith.cmpi ne
  // CHECK: tensor.insert %{{.+}} into %{{.+}}[%{{.+}}] : tensor<16xindex>
  // CHECK: %[[ROWS:.+]] = scf.forall (%[[U:.+]]) in (%[[USED]]#1) shared_outs(%{{.+}} = %{{.+}}) -> (tensor<?x256xf32>)
  // CHECK: %[[E:.+]] = tensor.extract %[[USED]]#0[%[[U]]] : tensor<16xindex>
  // CHECK: %[[OFFSET:.+]] = tensor.extract %[[OFFSETS]]#0[%[[E]]] : tensor<16xindex>
  // CHECK: tensor.extract_slice %{{.+}}[%[[OFFSET]], 0] [%{{.+}}, 256] [1, 1] : tensor<?x256xf32> to tensor<?x256xf32>
  // CHECK-NOT: scf.forall
  // CHECK-NOT: jikji.parallel
  // CHECK: vector.fma
  // CHECK-NOT: scf.forall
  // CHECK-NOT: jikji.parallel
  // CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<?x256xf32>, tensor<64x256xbf16>)
  // CHECK-NOT: scf.forall
  // CHECK-NOT: jikji.parallel
  // CHECK: math.exp
  // CHECK-NOT: scf.forall
  // CHECK-NOT: jikji.parallel
  // CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<?x64xf32>, tensor<256x64xbf16>)
  // CHECK-NOT: scf.forall (
  // CHECK-NOT: jikji.parallel
  // CHECK: tensor.parallel_insert_slice %{{.+}} into %{{.+}}[%[[OFFSET]], 0] [%{{.+}}, 256] [1, 1] : tensor<?x256xf32> into tensor<?x256xf32>
  // CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step
  // CHECK: tensor.extract_slice %[[ROWS]][%{{.+}}, 0] [1, 256] [1, 1]
  // CHECK: } else {
  // CHECK: scf.for %{{.+}} = %{{.+}} to %c16{{(_[0-9]+)?}} step
  // CHECK: scf.forall
  // CHECK-NOT: deepseek.grouped_experts
  // GENERIC-NOT: scf.for
  // GENERIC-NOT: scf.forall
  // GENERIC: %[[COUNTS:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction", "reduction"]} ins(%{{.+}} : tensor<?x4xi32>) outs(%{{.+}} : tensor<16xindex>)
  // GENERIC: %[[OFFSETS:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%[[COUNTS]] : tensor<16xindex>) outs(%{{.+}} : tensor<16xindex>)
  // GENERIC: %[[POSITIONS:.+]] = linalg.generic {{.+}} iterator_types = ["parallel"]} outs(%{{.+}} : tensor<?xindex>)
  // GENERIC: tensor.extract %[[OFFSETS]]
  // GENERIC: %[[ORDER:.+]]:2 = linalg.generic {{.+}} iterator_types = ["parallel"]} outs(%{{.+}}, %{{.+}} : tensor<?xindex>, tensor<?xindex>)
  // GENERIC: tensor.extract %[[POSITIONS]]
  // GENERIC: %[[SORTED:.+]] = linalg.generic
  // GENERIC: tensor.extract %[[ORDER]]#0
  // GENERIC: linalg.generic {{.+}} ins(%[[SORTED]], %[[ORDER]]#1 : tensor<?x256xf32>, tensor<?xindex>)
  // GENERIC-NEXT: ^bb0(%{{.+}}: f32, %[[E:.+]]: index, %{{.+}}: f32):
  // GENERIC: tensor.extract_slice %arg3[%[[E]], 0, 0] [1, 64, 256]
  // GENERIC: linalg.generic {{.+}} ins(%[[SORTED]], %[[ORDER]]#1 : tensor<?x256xf32>, tensor<?xindex>)
  // GENERIC: tensor.extract_slice %arg4[
  // GENERIC: math.exp
  // GENERIC: %[[DOWN:.+]] = linalg.generic {{.+}} ins(%{{.+}}, %[[ORDER]]#1 : tensor<?x64xf32>, tensor<?xindex>)
  // GENERIC: tensor.extract_slice %arg5[
  // GENERIC: linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg1 : tensor<?x4xf32>) outs(%arg6 : tensor<?x256xf32>)
  // GENERIC: tensor.extract %[[POSITIONS]]
  // GENERIC: tensor.extract %[[DOWN]]
  // GENERIC-NOT: scf.for
  // GENERIC-NOT: scf.forall
  // GENERIC: return
  %y = deepseek.grouped_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) accumulate(%acc)
      : tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// Tests that a SwiGLU MLP computes gate and up per 64-column tile with the
// SwiGLU as their epilogue, the tiles shared among threads (scf.forall) and
// each tile's products on one thread (no scf.forall or jikji.parallel of
// their own), then the down projection shared among threads.
// CHECK-LABEL: func.func @swiglu
func.func @swiglu(%x: tensor<?x256xf32>, %wg: tensor<192x256xbf16>, %wu: tensor<192x256xbf16>, %wd: tensor<256x192xbf16>) -> tensor<?x256xf32> {
  // CHECK: %[[ACT:.+]] = scf.forall (%[[TILE:.+]]) in (3) shared_outs(%[[OUT:.+]] = %{{.+}}) -> (tensor<?x192xf32>)
  // CHECK: %[[COL:.+]] = arith.muli %[[TILE]], %{{.+}} : index
  // CHECK: tensor.extract_slice %{{.+}}[%[[COL]], 0] [64, 256] [1, 1] : tensor<192x256xbf16> to tensor<64x256xbf16>
  // CHECK-NOT: scf.forall
  // CHECK-NOT: jikji.parallel
  // CHECK: vector.fma
  // CHECK-NOT: scf.forall
  // CHECK-NOT: jikji.parallel
  // CHECK: math.exp
  // CHECK: tensor.parallel_insert_slice %{{.+}} into %[[OUT]][0, %[[COL]]] [%{{.+}}, 64] [1, 1]
  // CHECK: scf.forall (%{{.+}}) in (4)
  // CHECK: vector.transfer_read %[[ACT]]
  // CHECK: linalg.generic {{.+}} attrs = {jikji.parallel}
  %y = deepseek.swiglu %x gate(%wg) up(%wu) down(%wd) : tensor<?x256xf32>, tensor<192x256xbf16>, tensor<192x256xbf16>, tensor<256x192xbf16> -> tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// Tests the register-blocked product for rows in blocks of 4: output
// features in blocks of 64 shared among threads, 4 x 4 sums of 16 lanes
// each carried across the reduction in steps of 16, the bf16 weight widened
// by a shift; the 0-3 rows left (a decode step's one row) take the threaded
// generic contraction.
// CHECK-LABEL: func.func @blocked_linear
func.func @blocked_linear(%x: tensor<?x32xf32>, %w: tensor<128x32xbf16>) -> tensor<?x128xf32> {
  // CHECK: %[[ROWS:.+]] = tensor.dim %{{.+}}, %{{.+}} : tensor<?x32xf32>
  // CHECK: %[[OUT:.+]] = bufferization.alloc_tensor(%[[ROWS]]) : tensor<?x128xf32>
  // CHECK: scf.if
  // CHECK: scf.forall (%{{.+}}) in (2) shared_outs(%{{.+}} = %[[OUT]])
  // CHECK: scf.for
  // CHECK: scf.for
  // CHECK: scf.for {{.+}} iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
  // CHECK-COUNT-4: vector.transfer_read {{.+}} : tensor<?x32xf32>, vector<16xf32>
  // CHECK: vector.transfer_read {{.+}} : tensor<128x32xbf16>, vector<16xbf16>
  // CHECK: arith.shli
  // CHECK-COUNT-16: vector.fma
  // CHECK: vector.reduction <add>
  // CHECK: vector.transfer_write {{.+}} : vector<4xf32>, tensor<?x64xf32>
  // CHECK: tensor.parallel_insert_slice
  // CHECK: scf.if
  // CHECK: linalg.generic {{.+}} attrs = {jikji.parallel}
  // CHECK: tensor.insert_slice
  %y = deepseek.linear %x, %w : tensor<?x32xf32>, tensor<128x32xbf16> -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}
