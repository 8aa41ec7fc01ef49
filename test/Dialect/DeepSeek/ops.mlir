// RUN: jikji-opt %s --split-input-file | FileCheck %s
// RUN: jikji-opt %s --split-input-file | jikji-opt | FileCheck %s
// RUN: jikji-opt %s --split-input-file --mlir-print-op-generic | jikji-opt --split-input-file | FileCheck %s

// Tests that parameters round-trip with their checkpoint names.
// CHECK-LABEL: func.func @params
func.func @params() -> (tensor<512x64xbf16>, tensor<16x64x256xbf16>) {
  // CHECK: %[[W:.+]] = deepseek.param "model.layers.0.self_attn.kv_b_proj.weight" : tensor<512x64xbf16>
  %w = deepseek.param "model.layers.0.self_attn.kv_b_proj.weight" : tensor<512x64xbf16>
  // CHECK: %[[E:.+]] = deepseek.expert_param "model.layers.1.mlp.experts.*.gate_proj.weight" : tensor<16x64x256xbf16>
  %e = deepseek.expert_param "model.layers.1.mlp.experts.*.gate_proj.weight" : tensor<16x64x256xbf16>
  return %w, %e : tensor<512x64xbf16>, tensor<16x64x256xbf16>
}

// -----

// Tests embedding, RMSNorm, residual add and the SwiGLU gate.
// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%table: tensor<1024x256xbf16>, %tokens: tensor<?xi64>, %w: tensor<256xbf16>) -> tensor<?x256xf32> {
  // CHECK: %[[H:.+]] = deepseek.embedding %{{.+}}[%{{.+}}] : tensor<1024x256xbf16>, tensor<?xi64> -> tensor<?x256xf32>
  %h = deepseek.embedding %table[%tokens] : tensor<1024x256xbf16>, tensor<?xi64> -> tensor<?x256xf32>
  // CHECK: %[[N:.+]] = deepseek.rms_norm %[[H]], %{{.+}} eps 9.9999999999999995E-7 : tensor<?x256xf32>, tensor<256xbf16>
  %n = deepseek.rms_norm %h, %w eps 1.0e-06 : tensor<?x256xf32>, tensor<256xbf16>
  // CHECK: %[[A:.+]] = deepseek.silu_mul %[[H]], %[[N]] : tensor<?x256xf32>
  %a = deepseek.silu_mul %h, %n : tensor<?x256xf32>
  // CHECK: deepseek.add %[[A]], %[[H]] : tensor<?x256xf32>
  %s = deepseek.add %a, %h : tensor<?x256xf32>
  return %s : tensor<?x256xf32>
}

// -----

// Tests linear layers with BF16 and FP8 block-scaled weights.
// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<?x320xf32>, %w: tensor<704x320xbf16>, %w8: tensor<704x320xf8E4M3FN>, %s: tensor<6x3xf32>) -> (tensor<?x704xf32>, tensor<?x704xf32>) {
  // CHECK: deepseek.linear %{{.+}}, %{{.+}} : tensor<?x320xf32>, tensor<704x320xbf16> -> tensor<?x704xf32>
  %y = deepseek.linear %x, %w : tensor<?x320xf32>, tensor<704x320xbf16> -> tensor<?x704xf32>
  // CHECK: deepseek.linear %{{.+}}, %{{.+}} scales %{{.+}} block [128, 128] : tensor<?x320xf32>, tensor<704x320xf8E4M3FN>, tensor<6x3xf32> -> tensor<?x704xf32>
  %z = deepseek.linear %x, %w8 scales %s block [128, 128] : tensor<?x320xf32>, tensor<704x320xf8E4M3FN>, tensor<6x3xf32> -> tensor<?x704xf32>
  return %y, %z : tensor<?x704xf32>, tensor<?x704xf32>
}

// -----

// Tests split, view and RoPE with YaRN parameters.
// CHECK-LABEL: func.func @heads
func.func @heads(%q: tensor<?x384xf32>, %start: index) -> (tensor<?x8x32xf32>, tensor<?x8x16xf32>) {
  // CHECK: %[[V:.+]] = deepseek.view %{{.+}} : tensor<?x384xf32> -> tensor<?x8x48xf32>
  %v = deepseek.view %q : tensor<?x384xf32> -> tensor<?x8x48xf32>
  // CHECK: %[[P:.+]]:2 = deepseek.split %[[V]] [32, 16] : tensor<?x8x48xf32> -> tensor<?x8x32xf32>, tensor<?x8x16xf32>
  %nope, %pe = deepseek.split %v [32, 16] : tensor<?x8x48xf32> -> tensor<?x8x32xf32>, tensor<?x8x16xf32>
  // CHECK: deepseek.rope %[[P]]#1 at %{{.+}} with <theta = 1.000000e+04, factor = 4.000000e+00, original_max_position = 128, beta_fast = 3.200000e+01, beta_slow = 1.000000e+00, mscale = 7.070000e-01, mscale_all_dim = 7.070000e-01> : tensor<?x8x16xf32>
  %r = deepseek.rope %pe at %start with <theta = 10000.0, factor = 4.0, original_max_position = 128, beta_fast = 32.0, beta_slow = 1.0, mscale = 0.707, mscale_all_dim = 0.707> : tensor<?x8x16xf32>
  return %nope, %r : tensor<?x8x32xf32>, tensor<?x8x16xf32>
}

// -----

// Tests the as-written MLA attention over an expanded cache.
// CHECK-LABEL: func.func @attention
func.func @attention(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %kn: tensor<?x8x32xf32>, %kr: tensor<?x16xf32>, %v: tensor<?x8x32xf32>, %kc: tensor<?x8x48xf32>, %vc: tensor<?x8x32xf32>, %start: index) -> tensor<?x8x32xf32> {
  // CHECK: %{{.+}}, %{{.+}}, %{{.+}} = deepseek.mla_attention query(%{{.+}}, %{{.+}}) key(%{{.+}}, %{{.+}}) value(%{{.+}}) cache(%{{.+}}, %{{.+}}) at %{{.+}} scale 1.250000e-01
  // CHECK-SAME: -> tensor<?x8x32xf32>
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %start scale 0.125
      : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x16xf32>, tensor<?x8x32xf32>, tensor<?x8x48xf32>, tensor<?x8x32xf32> -> tensor<?x8x32xf32>
  return %o : tensor<?x8x32xf32>
}

// -----

// Tests the router in its three methods and the routed experts.
// CHECK-LABEL: func.func @moe
func.func @moe(%x: tensor<?x256xf32>, %logits: tensor<?x16xf32>, %bias: tensor<16xf32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x64xbf16>) -> tensor<?x256xf32> {
  // CHECK: deepseek.moe_router %{{.+}} bias %{{.+}} scoring sigmoid method noaux_tc top 4 groups 4 topk_groups 2 normalize scaling 2.500000e+00 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  %w, %i = deepseek.moe_router %logits bias %bias scoring sigmoid method noaux_tc top 4 groups 4 topk_groups 2 normalize scaling 2.5
      : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  // CHECK: deepseek.moe_router %{{.+}} scoring softmax method greedy top 3 groups 1 topk_groups 1 scaling 1.000000e+00 : tensor<?x16xf32> -> tensor<?x3xf32>, tensor<?x3xi64>
  %w2, %i2 = deepseek.moe_router %logits scoring softmax method greedy top 3 groups 1 topk_groups 1 scaling 1.0
      : tensor<?x16xf32> -> tensor<?x3xf32>, tensor<?x3xi64>
  // CHECK: deepseek.moe_router %{{.+}} scoring softmax method group_limited_greedy top 2 groups 8 topk_groups 3 scaling 1.600000e+01
  %w3, %i3 = deepseek.moe_router %logits scoring softmax method group_limited_greedy top 2 groups 8 topk_groups 3 scaling 16.0
      : tensor<?x16xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  // CHECK: deepseek.moe_experts %{{.+}} routed(%{{.+}}, %{{.+}}) gate(%{{.+}}) up(%{{.+}}) down(%{{.+}}) : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d)
      : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// Tests FP8 experts with their stacked block scales.
// CHECK-LABEL: func.func @fp8_experts
func.func @fp8_experts(%x: tensor<?x320xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x160x320xf8E4M3FN>, %u: tensor<16x160x320xf8E4M3FN>, %d: tensor<16x320x160xf8E4M3FN>, %gs: tensor<16x2x3xf32>, %us: tensor<16x2x3xf32>, %ds: tensor<16x3x2xf32>) -> tensor<?x320xf32> {
  // CHECK: deepseek.moe_experts %{{.+}} routed(%{{.+}}, %{{.+}}) gate(%{{.+}}) up(%{{.+}}) down(%{{.+}}) scales(%{{.+}}, %{{.+}}, %{{.+}}) block [128, 128]
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) scales(%gs, %us, %ds) block [128, 128]
      : tensor<?x320xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x160x320xf8E4M3FN>, tensor<16x160x320xf8E4M3FN>, tensor<16x320x160xf8E4M3FN>, tensor<16x2x3xf32>, tensor<16x2x3xf32>, tensor<16x3x2xf32> -> tensor<?x320xf32>
  return %y : tensor<?x320xf32>
}

// -----

// Tests the absorbed attention over the latent cache, BF16 and FP8.
// CHECK-LABEL: func.func @latent_attention
func.func @latent_attention(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %c: tensor<?x64xf32>, %kr: tensor<?x16xf32>, %w: tensor<512x64xbf16>, %w8: tensor<512x64xf8E4M3FN>, %s: tensor<4x1xf32>, %lc: tensor<?x64xf32>, %rc: tensor<?x16xf32>, %start: index) -> (tensor<?x8x32xf32>, tensor<?x8x32xf32>) {
  // CHECK: deepseek.latent_attention query(%{{.+}}, %{{.+}}) latent(%{{.+}}, %{{.+}}) up(%{{.+}} : tensor<512x64xbf16>) cache(%{{.+}}, %{{.+}}) at %{{.+}} scale 1.250000e-01 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x16xf32> -> tensor<?x8x32xf32>
  %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<512x64xbf16>) cache(%lc, %rc) at %start scale 0.125
      : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x16xf32> -> tensor<?x8x32xf32>
  // CHECK: up(%{{.+}} scales %{{.+}} block [128, 128] : tensor<512x64xf8E4M3FN>, tensor<4x1xf32>)
  %o8, %lc3, %rc3 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w8 scales %s block [128, 128] : tensor<512x64xf8E4M3FN>, tensor<4x1xf32>) cache(%lc, %rc) at %start scale 0.125
      : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x16xf32> -> tensor<?x8x32xf32>
  return %o, %o8 : tensor<?x8x32xf32>, tensor<?x8x32xf32>
}

// -----

// Tests a batched decode step: RoPE at each token's position, and both
// attentions over caches with a leading slot axis, one slot per token.
// CHECK-LABEL: func.func @batched_decode
func.func @batched_decode(%x: tensor<?x8x16xf32>, %pos: tensor<?xi64>, %qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %kn: tensor<?x8x32xf32>, %kr: tensor<?x16xf32>, %v: tensor<?x8x32xf32>, %kc: tensor<?x?x8x48xf32>, %vc: tensor<?x?x8x32xf32>, %c: tensor<?x64xf32>, %w: tensor<512x64xbf16>, %lc: tensor<?x?x64xf32>, %rc: tensor<?x?x16xf32>) -> (tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x8x32xf32>) {
  // CHECK: deepseek.rope %{{.+}} at positions(%{{.+}} : tensor<?xi64>) with <theta = 1.000000e+04, {{.+}}> : tensor<?x8x16xf32>
  %r = deepseek.rope %x at positions(%pos : tensor<?xi64>) with <theta = 10000.0, factor = 1.0, original_max_position = 4096, beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<?x8x16xf32>
  // CHECK: deepseek.mla_attention query(%{{.+}}, %{{.+}}) key(%{{.+}}, %{{.+}}) value(%{{.+}}) cache(%{{.+}}, %{{.+}}) at positions(%{{.+}} : tensor<?xi64>) scale 1.250000e-01
  // CHECK-SAME: tensor<?x?x8x48xf32>, tensor<?x?x8x32xf32> -> tensor<?x8x32xf32>
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at positions(%pos : tensor<?xi64>) scale 0.125
      : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x16xf32>, tensor<?x8x32xf32>, tensor<?x?x8x48xf32>, tensor<?x?x8x32xf32> -> tensor<?x8x32xf32>
  // CHECK: deepseek.latent_attention query(%{{.+}}, %{{.+}}) latent(%{{.+}}, %{{.+}}) up(%{{.+}} : tensor<512x64xbf16>) cache(%{{.+}}, %{{.+}}) at positions(%{{.+}} : tensor<?xi64>) scale 1.250000e-01
  // CHECK-SAME: tensor<?x?x64xf32>, tensor<?x?x16xf32> -> tensor<?x8x32xf32>
  %lo, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<512x64xbf16>) cache(%lc, %rc) at positions(%pos : tensor<?xi64>) scale 0.125
      : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32> -> tensor<?x8x32xf32>
  return %r, %o, %lo : tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x8x32xf32>
}

// -----

// Tests the fused router and the grouped experts.
// CHECK-LABEL: func.func @fused_moe
func.func @fused_moe(%x: tensor<?x256xf32>, %gate: tensor<16x256xbf16>, %bias: tensor<16xf32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x64xbf16>, %shared: tensor<?x256xf32>) -> tensor<?x256xf32> {
  // CHECK: deepseek.fused_router %{{.+}} gate(%{{.+}}) bias %{{.+}} scoring sigmoid method noaux_tc top 4 groups 4 topk_groups 2 normalize scaling 2.500000e+00 : tensor<?x256xf32>, tensor<16x256xbf16>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  %w, %i = deepseek.fused_router %x gate(%gate) bias %bias scoring sigmoid method noaux_tc top 4 groups 4 topk_groups 2 normalize scaling 2.5
      : tensor<?x256xf32>, tensor<16x256xbf16>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  // CHECK: deepseek.grouped_experts %{{.+}} routed(%{{.+}}, %{{.+}}) gate(%{{.+}}) up(%{{.+}}) down(%{{.+}}) accumulate(%{{.+}}) : tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  %y = deepseek.grouped_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) accumulate(%shared)
      : tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// -----

// Tests the fused SwiGLU MLP.
// CHECK-LABEL: func.func @swiglu
func.func @swiglu(%x: tensor<?x256xf32>, %wg: tensor<512x256xbf16>, %wu: tensor<512x256xbf16>, %wd: tensor<256x512xbf16>) -> tensor<?x256xf32> {
  // CHECK: deepseek.swiglu %{{.+}} gate(%{{.+}}) up(%{{.+}}) down(%{{.+}}) : tensor<?x256xf32>, tensor<512x256xbf16>, tensor<512x256xbf16>, tensor<256x512xbf16> -> tensor<?x256xf32>
  %y = deepseek.swiglu %x gate(%wg) up(%wu) down(%wd) : tensor<?x256xf32>, tensor<512x256xbf16>, tensor<512x256xbf16>, tensor<256x512xbf16> -> tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}
