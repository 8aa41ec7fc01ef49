// RUN: jikji-opt %s --split-input-file --convert-deepseek-to-linalg=bf16-dot=true | FileCheck %s
// RUN: jikji-opt %s --split-input-file --convert-deepseek-to-linalg | FileCheck %s --check-prefix=EXACT

// Tests that with bf16-dot a product over a bf16 weight rounds its input to
// bf16 once, that its rows in blocks of 4 multiply with vdpbf16ps (32 of
// the reduction per step, the weight read as stored, no widening), and that
// the 0-3 rows left take the generic contraction over the rounded input.
// CHECK-LABEL: func.func @blocked_linear
// EXACT-LABEL: func.func @blocked_linear
func.func @blocked_linear(%x: tensor<?x64xf32>, %w: tensor<128x64xbf16>) -> tensor<?x128xf32> {
  // CHECK: %[[ROUNDED:.+]] = linalg.generic
  // CHECK-SAME: ins(%{{.+}} : tensor<?x64xf32>) outs(%{{.+}} : tensor<?x64xbf16>)
  // CHECK: arith.truncf %{{.+}} : f32 to bf16
  // CHECK: scf.forall
  // CHECK: scf.for {{.+}} iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
  // CHECK-COUNT-4: vector.transfer_read %[[ROUNDED]]{{.+}} : tensor<?x64xbf16>, vector<32xbf16>
  // CHECK-COUNT-4: vector.transfer_read {{.+}} : tensor<128x64xbf16>, vector<32xbf16>
  // CHECK-NOT: arith.shli
  // CHECK-COUNT-16: x86vector.avx512.dot {{.+}} : vector<32xbf16> -> vector<16xf32>
  // CHECK-NOT: vector.fma
  // CHECK: vector.reduction <add>
  // CHECK: tensor.parallel_insert_slice
  // CHECK: tensor.extract_slice %[[ROUNDED]]{{.+}} : tensor<?x64xbf16> to tensor<?x64xbf16>
  // CHECK: linalg.generic {{.+}} attrs = {jikji.parallel}
  // CHECK: ^bb0(%[[X:.+]]: bf16, %[[W:.+]]: bf16, %{{.+}}: f32):
  // CHECK: arith.bitcast %[[W]] : bf16 to i16
  // CHECK: arith.bitcast %[[X]] : bf16 to i16
  // EXACT-NOT: arith.truncf
  // EXACT-NOT: x86vector
  // EXACT: return
  %y = deepseek.linear %x, %w : tensor<?x64xf32>, tensor<128x64xbf16> -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

// Tests that a reduction that is not a multiple of 32 still rounds its input
// (every product over a bf16 weight multiplies rounded activations) but
// takes the generic contraction for all of its rows.
// CHECK-LABEL: func.func @short_reduction
func.func @short_reduction(%x: tensor<?x48xf32>, %w: tensor<128x48xbf16>) -> tensor<?x128xf32> {
  // CHECK: arith.truncf %{{.+}} : f32 to bf16
  // CHECK-NOT: x86vector.avx512.dot
  // CHECK: linalg.generic
  // CHECK-SAME: ins(%{{.+}}, %{{.+}} : tensor<?x48xbf16>, tensor<128x48xbf16>)
  // CHECK-NOT: x86vector.avx512.dot
  // CHECK: return
  %y = deepseek.linear %x, %w : tensor<?x48xf32>, tensor<128x48xbf16> -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

// Tests that an FP8 product stays exact: no rounding of its input.
// CHECK-LABEL: func.func @fp8_linear
func.func @fp8_linear(%x: tensor<?x128xf32>, %w: tensor<128x128xf8E4M3FN>, %s: tensor<1x1xf32>) -> tensor<?x128xf32> {
  // CHECK-NOT: arith.truncf
  // CHECK-NOT: x86vector.avx512.dot
  // CHECK: return
  %y = deepseek.linear %x, %w scales %s block [128, 128] : tensor<?x128xf32>, tensor<128x128xf8E4M3FN>, tensor<1x1xf32> -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

// Tests that a SwiGLU MLP rounds its input once, before the column tiles
// share it among threads, and its down projection rounds the activated
// product.
// CHECK-LABEL: func.func @swiglu
func.func @swiglu(%x: tensor<?x256xf32>, %wg: tensor<192x256xbf16>, %wu: tensor<192x256xbf16>, %wd: tensor<256x192xbf16>) -> tensor<?x256xf32> {
  // CHECK: arith.truncf
  // CHECK: scf.forall
  // CHECK-NOT: arith.truncf
  // CHECK-COUNT-32: x86vector.avx512.dot
  // CHECK: tensor.parallel_insert_slice
  // CHECK: arith.truncf
  // CHECK: x86vector.avx512.dot
  %y = deepseek.swiglu %x gate(%wg) up(%wu) down(%wd) : tensor<?x256xf32>, tensor<192x256xbf16>, tensor<192x256xbf16>, tensor<256x192xbf16> -> tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// Tests that the router's logits stay float32 (as fused_router's do): the
// linear that feeds moe_router rounds nothing.
// CHECK-LABEL: func.func @router_logits
func.func @router_logits(%x: tensor<?x64xf32>, %gate: tensor<4x64xbf16>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  // CHECK-NOT: arith.truncf
  // CHECK-NOT: x86vector.avx512.dot
  // CHECK: return
  %logits = deepseek.linear %x, %gate : tensor<?x64xf32>, tensor<4x64xbf16> -> tensor<?x4xf32>
  %w, %i = deepseek.moe_router %logits scoring softmax method greedy top 2 groups 1 topk_groups 1 scaling 1.0
      : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %i : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// Tests that routed experts round their input once for all the experts'
// gate and up products: before the forall over one token's k experts, and
// before the forall over a batched step's experts; each expert's down
// projection rounds its own activated rows.
// CHECK-LABEL: func.func @grouped_experts
func.func @grouped_experts(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x64xbf16>, %acc: tensor<?x256xf32>) -> tensor<?x256xf32> {
  // CHECK: scf.if
  // CHECK: arith.truncf
  // CHECK: scf.forall (%{{.+}}) in (4)
  // CHECK-NOT: arith.truncf
  // CHECK: math.exp
  // CHECK: arith.truncf
  // CHECK: } else {
  // CHECK: scf.if
  // CHECK: arith.truncf
  // CHECK: scf.forall (%{{.+}}) in (%{{.+}})
  // CHECK-NOT: arith.truncf
  // CHECK: math.exp
  // CHECK: arith.truncf
  // CHECK: } else {
  %y = deepseek.grouped_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) accumulate(%acc)
      : tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}
