// RUN: jikji-opt %s --jikji-name-kernels | FileCheck %s
// RUN: jikji-opt %s --jikji-name-kernels --gpu-kernel-outlining | FileCheck %s --check-prefix=OUTLINED

// Tests that each launch whose location carries a DeepSeek op's mark
// (jikji-mark-op-locations) gets the kernel name <function>_<op>, then
// _1, _2 for the next of the same op, never a symbol the module has
// (moe_layer_linear_1 is taken below); through fused and call-site
// locations; a step of an op (`latent_attention.scores`, marked by its
// lowering) joined with '_', as PTX names need; that a launch named
// already keeps its name, which no other launch then gets; and that a
// launch without a mark keeps outlining's default.

// CHECK-LABEL: func.func @moe_layer
// CHECK:         gpu.launch {{.*}} function(@moe_layer_rms_norm)
// CHECK:         gpu.launch {{.*}} function(@moe_layer_rms_norm_1)
// CHECK:         gpu.launch {{.*}} function(@moe_layer_linear)
// CHECK:         gpu.launch {{.*}} function(@moe_layer_linear_2)
// CHECK:         gpu.launch {{.*}} function(@moe_layer_grouped_experts)
// CHECK:         gpu.launch {{.*}} function(@moe_layer_latent_attention_scores)
// CHECK:         gpu.launch
// CHECK-NOT:       function(
// CHECK:         gpu.launch {{.*}} function(@moe_layer_add)
// CHECK:         gpu.launch {{.*}} function(@moe_layer_add_1)

// OUTLINED: gpu.launch_func @moe_layer_rms_norm::@moe_layer_rms_norm
// OUTLINED: gpu.launch_func @moe_layer_rms_norm_1::@moe_layer_rms_norm_1
// OUTLINED: gpu.launch_func @moe_layer_kernel::@moe_layer_kernel
module {
  func.func private @moe_layer_linear_1()

  func.func @moe_layer(%n: index) {
    %c1 = arith.constant 1 : index
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      gpu.terminator
    } loc("deepseek.rms_norm"("model.py":1:1))
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      gpu.terminator
    } loc("deepseek.rms_norm"("model.py":2:1))
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      gpu.terminator
    } loc(fused["model.py":3:1, "deepseek.linear"("model.py":3:1)])
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      gpu.terminator
    } loc("deepseek_v3"("deepseek.linear"("model.py":4:1)))
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      gpu.terminator
    } loc(callsite("deepseek.grouped_experts"("model.py":5:1) at "caller.py":1:1))
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      gpu.terminator
    } loc("deepseek.latent_attention.scores"("deepseek.latent_attention"("model.py":5:2)))
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      gpu.terminator
    } loc("deepseek_v3"("model.py":6:1))
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) function(@moe_layer_add) {
      gpu.terminator
    } loc("deepseek.add"("model.py":7:1))
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      gpu.terminator
    } loc("deepseek.add"("model.py":8:1))
    return
  }
}
