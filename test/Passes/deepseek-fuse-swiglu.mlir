// RUN: jikji-opt %s --split-input-file --deepseek-fuse-swiglu | FileCheck %s

// Tests that a SwiGLU MLP of one input becomes one swiglu op.
// CHECK-LABEL: func.func @mlp
// CHECK-SAME: (%[[X:.+]]: tensor<?x8xf32>, %[[G:.+]]: tensor<16x8xbf16>, %[[U:.+]]: tensor<16x8xbf16>, %[[D:.+]]: tensor<8x16xbf16>)
// CHECK-NEXT: %[[Y:.+]] = deepseek.swiglu %[[X]] gate(%[[G]]) up(%[[U]]) down(%[[D]])
// CHECK-NEXT: return %[[Y]]
func.func @mlp(%x: tensor<?x8xf32>, %wg: tensor<16x8xbf16>, %wu: tensor<16x8xbf16>, %wd: tensor<8x16xbf16>) -> tensor<?x8xf32> {
  %g = deepseek.linear %x, %wg : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
  %u = deepseek.linear %x, %wu : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
  %a = deepseek.silu_mul %g, %u : tensor<?x16xf32>
  %y = deepseek.linear %a, %wd : tensor<?x16xf32>, tensor<8x16xbf16> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Tests that gate and up projections of different inputs stay as written.
// CHECK-LABEL: func.func @two_inputs
// CHECK-NOT: deepseek.swiglu
func.func @two_inputs(%x: tensor<?x8xf32>, %z: tensor<?x8xf32>, %wg: tensor<16x8xbf16>, %wu: tensor<16x8xbf16>, %wd: tensor<8x16xbf16>) -> tensor<?x8xf32> {
  %g = deepseek.linear %x, %wg : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
  %u = deepseek.linear %z, %wu : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
  %a = deepseek.silu_mul %g, %u : tensor<?x16xf32>
  %y = deepseek.linear %a, %wd : tensor<?x16xf32>, tensor<8x16xbf16> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Tests that FP8 block-scaled MLPs stay as written.
// CHECK-LABEL: func.func @fp8
// CHECK-NOT: deepseek.swiglu
func.func @fp8(%x: tensor<?x8xf32>, %wg: tensor<16x8xf8E4M3FN>, %s: tensor<1x1xf32>, %wu: tensor<16x8xbf16>, %wd: tensor<8x16xbf16>) -> tensor<?x8xf32> {
  %g = deepseek.linear %x, %wg scales %s block [128, 128] : tensor<?x8xf32>, tensor<16x8xf8E4M3FN>, tensor<1x1xf32> -> tensor<?x16xf32>
  %u = deepseek.linear %x, %wu : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
  %a = deepseek.silu_mul %g, %u : tensor<?x16xf32>
  %y = deepseek.linear %a, %wd : tensor<?x16xf32>, tensor<8x16xbf16> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
