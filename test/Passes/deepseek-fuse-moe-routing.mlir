// RUN: jikji-opt %s --split-input-file --deepseek-fuse-moe-routing | FileCheck %s

// Tests that the gate's linear layer and the router become one router op,
// and that the routed experts summed with the shared experts become one
// grouped computation accumulating into the shared output.
// CHECK-LABEL: func.func @moe
// CHECK-NOT: deepseek.linear %[[X:.+]], %{{.+}} : tensor<?x8xf32>, tensor<4x8xbf16>
// CHECK: %[[W:.+]], %[[I:.+]] = deepseek.fused_router %{{.+}} gate(%{{.+}}) bias %{{.+}} scoring sigmoid method noaux_tc top 2 groups 2 topk_groups 1 normalize scaling 2.500000e+00
// CHECK: %[[Y:.+]] = deepseek.grouped_experts %{{.+}} routed(%[[W]], %[[I]]) gate(%{{.+}}) up(%{{.+}}) down(%{{.+}}) accumulate(%{{.+}})
// CHECK-NOT: deepseek.moe_experts
// CHECK: return %[[Y]]
func.func @moe(%x: tensor<?x8xf32>, %gate: tensor<4x8xbf16>, %bias: tensor<4xf32>, %g: tensor<4x2x8xbf16>, %u: tensor<4x2x8xbf16>, %d: tensor<4x8x2xbf16>, %shared: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %logits = deepseek.linear %x, %gate : tensor<?x8xf32>, tensor<4x8xbf16> -> tensor<?x4xf32>
  %w, %i = deepseek.moe_router %logits bias %bias scoring sigmoid method noaux_tc top 2 groups 2 topk_groups 1 normalize scaling 2.5
      : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %routed = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d)
      : tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xi32>, tensor<4x2x8xbf16>, tensor<4x2x8xbf16>, tensor<4x8x2xbf16> -> tensor<?x8xf32>
  %y = deepseek.add %routed, %shared : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Tests that logits that are not a linear layer keep the router as written,
// and that experts without a shared-expert sum stay as written.
// CHECK-LABEL: func.func @unfused
// CHECK: deepseek.moe_router
// CHECK: deepseek.moe_experts
func.func @unfused(%x: tensor<?x8xf32>, %logits: tensor<?x4xf32>, %g: tensor<4x2x8xbf16>, %u: tensor<4x2x8xbf16>, %d: tensor<4x8x2xbf16>) -> tensor<?x8xf32> {
  %w, %i = deepseek.moe_router %logits scoring softmax method greedy top 2 groups 1 topk_groups 1 scaling 1.0
      : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %routed = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d)
      : tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xi32>, tensor<4x2x8xbf16>, tensor<4x2x8xbf16>, tensor<4x8x2xbf16> -> tensor<?x8xf32>
  return %routed : tensor<?x8xf32>
}
