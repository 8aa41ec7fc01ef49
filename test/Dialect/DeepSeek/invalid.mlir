// RUN: jikji-opt %s --split-input-file --verify-diagnostics

// Tests that an empty parameter name is rejected.
func.func @f() {
  // expected-error@+1 {{parameter name must not be empty}}
  %w = deepseek.param "" : tensor<4xbf16>
  return
}

// -----

// Tests that a plain parameter may not name stacked experts.
func.func @f() {
  // expected-error@+1 {{parameter name must not contain '*'}}
  %w = deepseek.param "model.layers.1.mlp.experts.*.up_proj.weight" : tensor<4x4xbf16>
  return
}

// -----

// Tests that an expert parameter needs exactly one '*' component.
func.func @f() {
  // expected-error@+1 {{expert parameter name must have exactly one '*' component}}
  %w = deepseek.expert_param "model.layers.1.mlp.experts.e*.up_proj.weight" : tensor<4x4x4xbf16>
  return
}

// -----

// Tests that stacked expert parameters have an expert axis and a matrix.
func.func @f() {
  // expected-error@+1 {{stacked expert parameter must have rank >= 2}}
  %w = deepseek.expert_param "model.layers.1.mlp.experts.*.up_proj.weight" : tensor<4xbf16>
  return
}

// -----

// Tests that parameters have static shapes.
func.func @f() {
  // expected-error@+1 {{must be statically shaped tensor}}
  %w = deepseek.param "model.norm.weight" : tensor<?xbf16>
  return
}

// -----

// Tests that the embedding table is a matrix.
func.func @f(%t: tensor<1024xbf16>, %ids: tensor<?xi64>) {
  // expected-error@+1 {{table must have rank 2, found 1}}
  %h = deepseek.embedding %t[%ids] : tensor<1024xbf16>, tensor<?xi64> -> tensor<?x256xf32>
  return
}

// -----

// Tests that the embedding result has one row per token.
func.func @f(%t: tensor<1024x256xbf16>, %ids: tensor<?xi64>) {
  // expected-error@+1 {{result dimension 0 must be ?, found 4}}
  %h = deepseek.embedding %t[%ids] : tensor<1024x256xbf16>, tensor<?xi64> -> tensor<4x256xf32>
  return
}

// -----

// Tests that the embedding result has the table's width.
func.func @f(%t: tensor<1024x256xbf16>, %ids: tensor<?xi64>) {
  // expected-error@+1 {{result dimension 1 must be 256, found 128}}
  %h = deepseek.embedding %t[%ids] : tensor<1024x256xbf16>, tensor<?xi64> -> tensor<?x128xf32>
  return
}

// -----

// Tests that token ids are integers.
func.func @f(%t: tensor<1024x256xbf16>, %ids: tensor<?xf32>) {
  // expected-error@+1 {{must be 1D tensor of 32-bit signless integer or 64-bit signless integer values}}
  %h = deepseek.embedding %t[%ids] : tensor<1024x256xbf16>, tensor<?xf32> -> tensor<?x256xf32>
  return
}

// -----

// Tests that the RMSNorm weight is a vector.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<1x256xbf16>) {
  // expected-error@+1 {{weight must have rank 1, found 2}}
  %n = deepseek.rms_norm %x, %w eps 1.0e-06 : tensor<?x256xf32>, tensor<1x256xbf16>
  return
}

// -----

// Tests that RMSNorm needs an axis to normalise.
func.func @f(%x: tensor<f32>, %w: tensor<256xbf16>) {
  // expected-error@+1 {{input must have rank >= 1}}
  %n = deepseek.rms_norm %x, %w eps 1.0e-06 : tensor<f32>, tensor<256xbf16>
  return
}

// -----

// Tests that the RMSNorm weight matches the normalised axis.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<128xbf16>) {
  // expected-error@+1 {{weight size 128 must equal the normalised axis 256}}
  %n = deepseek.rms_norm %x, %w eps 1.0e-06 : tensor<?x256xf32>, tensor<128xbf16>
  return
}

// -----

// Tests that RMSNorm epsilon is positive.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<256xbf16>) {
  // expected-error@+1 {{epsilon must be positive}}
  %n = deepseek.rms_norm %x, %w eps 0.0 : tensor<?x256xf32>, tensor<256xbf16>
  return
}

// -----

// Tests that activations are float32.
func.func @f(%x: tensor<?x256xbf16>, %w: tensor<256xbf16>) {
  // expected-error@+1 {{must be ranked tensor of 32-bit float values}}
  %n = deepseek.rms_norm %x, %w eps 1.0e-06 : tensor<?x256xbf16>, tensor<256xbf16>
  return
}

// -----

// Tests that linear takes [tokens, features].
func.func @f(%x: tensor<?x2x256xf32>, %w: tensor<512x256xbf16>) {
  // expected-error@+1 {{input must have rank 2, found 3}}
  %y = deepseek.linear %x, %w : tensor<?x2x256xf32>, tensor<512x256xbf16> -> tensor<?x512xf32>
  return
}

// -----

// Tests that the weight's in-features match the input.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<512x128xbf16>) {
  // expected-error@+1 {{weight [out, in] has in = 128 but the input has 256 features}}
  %y = deepseek.linear %x, %w : tensor<?x256xf32>, tensor<512x128xbf16> -> tensor<?x512xf32>
  return
}

// -----

// Tests that the result has the weight's out-features.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<512x256xbf16>) {
  // expected-error@+1 {{result dimension 1 must be 512, found 256}}
  %y = deepseek.linear %x, %w : tensor<?x256xf32>, tensor<512x256xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that weights have a supported storage type.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<512x256xi8>) {
  // expected-error@+1 {{ranked tensor of bfloat16 type or 16-bit float or 32-bit float or f8E4M3FN type values}}
  %y = deepseek.linear %x, %w : tensor<?x256xf32>, tensor<512x256xi8> -> tensor<?x512xf32>
  return
}

// -----

// Tests that an FP8 weight needs its block scales.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<512x256xf8E4M3FN>) {
  // expected-error@+1 {{weight of type f8E4M3FN needs block scales}}
  %y = deepseek.linear %x, %w : tensor<?x256xf32>, tensor<512x256xf8E4M3FN> -> tensor<?x512xf32>
  return
}

// -----

// Tests that block scales belong to FP8 weights only.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<512x256xbf16>, %s: tensor<4x2xf32>) {
  // expected-error@+1 {{block scales apply only to f8E4M3FN weight, found 'bf16'}}
  %y = deepseek.linear %x, %w scales %s block [128, 128] : tensor<?x256xf32>, tensor<512x256xbf16>, tensor<4x2xf32> -> tensor<?x512xf32>
  return
}

// -----

// Tests that the block size is two positive integers.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<512x256xf8E4M3FN>, %s: tensor<4x2xf32>) {
  // expected-error@+1 {{block size must be two positive integers}}
  %y = deepseek.linear %x, %w scales %s block [128] : tensor<?x256xf32>, tensor<512x256xf8E4M3FN>, tensor<4x2xf32> -> tensor<?x512xf32>
  return
}

// -----

// Tests that block scales are a matrix like the weight.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<512x256xf8E4M3FN>, %s: tensor<8xf32>) {
  // expected-error@+1 {{weight scales must have rank 2, found 1}}
  %y = deepseek.linear %x, %w scales %s block [128, 128] : tensor<?x256xf32>, tensor<512x256xf8E4M3FN>, tensor<8xf32> -> tensor<?x512xf32>
  return
}

// -----

// Tests that there is one scale per block, ragged edges included.
func.func @f(%x: tensor<?x320xf32>, %w: tensor<704x320xf8E4M3FN>, %s: tensor<5x3xf32>) {
  // expected-error@+1 {{weight scales dimension 0 must be 6 for blocks of 128x128, found 5}}
  %y = deepseek.linear %x, %w scales %s block [128, 128] : tensor<?x320xf32>, tensor<704x320xf8E4M3FN>, tensor<5x3xf32> -> tensor<?x704xf32>
  return
}

// -----

// Tests that split has one size per result.
func.func @f(%x: tensor<?x48xf32>) {
  // expected-error@+1 {{has 3 sizes but 2 results}}
  %a, %b = deepseek.split %x [16, 16, 16] : tensor<?x48xf32> -> tensor<?x16xf32>, tensor<?x16xf32>
  return
}

// -----

// Tests that split sizes are positive.
func.func @f(%x: tensor<?x48xf32>) {
  // expected-error@+1 {{split sizes must be positive}}
  %a, %b = deepseek.split %x [48, 0] : tensor<?x48xf32> -> tensor<?x48xf32>, tensor<?x0xf32>
  return
}

// -----

// Tests that split sizes cover the last axis.
func.func @f(%x: tensor<?x48xf32>) {
  // expected-error@+1 {{split sizes add up to 40 but the last axis has 48}}
  %a, %b = deepseek.split %x [32, 8] : tensor<?x48xf32> -> tensor<?x32xf32>, tensor<?x8xf32>
  return
}

// -----

// Tests that each split result has its part of the last axis.
func.func @f(%x: tensor<?x48xf32>) {
  // expected-error@+1 {{result 1 must be 'tensor<?x16xf32>', found 'tensor<?x8xf32>'}}
  %a, %b = deepseek.split %x [32, 16] : tensor<?x48xf32> -> tensor<?x32xf32>, tensor<?x8xf32>
  return
}

// -----

// Tests that view keeps a token axis.
func.func @f(%x: tensor<f32>) {
  // expected-error@+1 {{view needs a token axis}}
  %y = deepseek.view %x : tensor<f32> -> tensor<?x1xf32>
  return
}

// -----

// Tests that view keeps the token count.
func.func @f(%x: tensor<?x384xf32>) {
  // expected-error@+1 {{result dimension 0 must be ?, found 2}}
  %y = deepseek.view %x : tensor<?x384xf32> -> tensor<2x8x48xf32>
  return
}

// -----

// Tests that view reshapes only static trailing axes.
func.func @f(%x: tensor<?x384xf32>) {
  // expected-error@+1 {{only the token axis may be dynamic}}
  %y = deepseek.view %x : tensor<?x384xf32> -> tensor<?x?x48xf32>
  return
}

// -----

// Tests that view keeps the values per token.
func.func @f(%x: tensor<?x384xf32>) {
  // expected-error@+1 {{reshapes 384 values per token into 392}}
  %y = deepseek.view %x : tensor<?x384xf32> -> tensor<?x8x49xf32>
  return
}

// -----

// Tests that RoPE takes [T, d] or [T, heads, d].
func.func @f(%x: tensor<?xf32>, %p: index) {
  // expected-error@+1 {{input must be [tokens, dim] or [tokens, heads, dim], found rank 1}}
  %y = deepseek.rope %x at %p with <theta = 10000.0, factor = 1.0, original_max_position = 4096, beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<?xf32>
  return
}

// -----

// Tests that RoPE rotates pairs.
func.func @f(%x: tensor<?x15xf32>, %p: index) {
  // expected-error@+1 {{rotary dimension must be static and even, found 15}}
  %y = deepseek.rope %x at %p with <theta = 10000.0, factor = 1.0, original_max_position = 4096, beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<?x15xf32>
  return
}

// -----

// Tests that the RoPE base is positive.
func.func @f(%x: tensor<?x16xf32>, %p: index) {
  // expected-error@+1 {{rope theta must be positive}}
  %y = deepseek.rope %x at %p with <theta = 0.0, factor = 1.0, original_max_position = 4096, beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<?x16xf32>
  return
}

// -----

// Tests that YaRN never shrinks the context.
func.func @f(%x: tensor<?x16xf32>, %p: index) {
  // expected-error@+1 {{rope factor must be at least 1}}
  %y = deepseek.rope %x at %p with <theta = 10000.0, factor = 0.5, original_max_position = 4096, beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<?x16xf32>
  return
}

// -----

// Tests that YaRN's original context is positive.
func.func @f(%x: tensor<?x16xf32>, %p: index) {
  // expected-error@+1 {{rope original_max_position must be positive}}
  %y = deepseek.rope %x at %p with <theta = 10000.0, factor = 1.0, original_max_position = 0, beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<?x16xf32>
  return
}

// -----

// Tests that YaRN's correction counts are positive.
func.func @f(%x: tensor<?x16xf32>, %p: index) {
  // expected-error@+1 {{rope beta_fast and beta_slow must be positive}}
  %y = deepseek.rope %x at %p with <theta = 10000.0, factor = 1.0, original_max_position = 4096, beta_fast = -1.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<?x16xf32>
  return
}

// -----

// Tests that the rotary key is one vector per token, shared by all heads.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %kn: tensor<?x8x32xf32>, %kr: tensor<?x8x16xf32>, %v: tensor<?x8x32xf32>, %kc: tensor<?x8x48xf32>, %vc: tensor<?x8x32xf32>, %p: index) {
  // expected-error@+1 {{key_rope must have rank 2, found 3}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %p scale 0.125 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x8x48xf32>, tensor<?x8x32xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that the model's head count is static.
func.func @f(%qn: tensor<?x?x32xf32>, %qr: tensor<?x8x16xf32>, %kn: tensor<?x8x32xf32>, %kr: tensor<?x16xf32>, %v: tensor<?x8x32xf32>, %kc: tensor<?x8x48xf32>, %vc: tensor<?x8x32xf32>, %p: index) {
  // expected-error@+1 {{head count and head dimensions must be static}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %p scale 0.125 : tensor<?x?x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x16xf32>, tensor<?x8x32xf32>, tensor<?x8x48xf32>, tensor<?x8x32xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that the keys have the query's heads.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %kn: tensor<?x4x32xf32>, %kr: tensor<?x16xf32>, %v: tensor<?x8x32xf32>, %kc: tensor<?x8x48xf32>, %vc: tensor<?x8x32xf32>, %p: index) {
  // expected-error@+1 {{key_nope dimension 1 must be 8, found 4}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %p scale 0.125 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x4x32xf32>, tensor<?x16xf32>, tensor<?x8x32xf32>, tensor<?x8x48xf32>, tensor<?x8x32xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that every new-token operand has the token count.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %kn: tensor<?x8x32xf32>, %kr: tensor<?x16xf32>, %v: tensor<3x8x32xf32>, %kc: tensor<?x8x48xf32>, %vc: tensor<?x8x32xf32>, %p: index) {
  // expected-error@+1 {{value dimension 0 must be ?, found 3}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %p scale 0.125 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x16xf32>, tensor<3x8x32xf32>, tensor<?x8x48xf32>, tensor<?x8x32xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that the output has the value's head dimension.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %kn: tensor<?x8x32xf32>, %kr: tensor<?x16xf32>, %v: tensor<?x8x32xf32>, %kc: tensor<?x8x48xf32>, %vc: tensor<?x8x32xf32>, %p: index) {
  // expected-error@+1 {{output dimension 2 must be 32, found 16}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %p scale 0.125 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x16xf32>, tensor<?x8x32xf32>, tensor<?x8x48xf32>, tensor<?x8x32xf32> -> tensor<?x8x16xf32>
  return
}

// -----

// Tests that the expanded key cache holds dn + dr per head.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %kn: tensor<?x8x32xf32>, %kr: tensor<?x16xf32>, %v: tensor<?x8x32xf32>, %kc: tensor<?x8x32xf32>, %vc: tensor<?x8x32xf32>, %p: index) {
  // expected-error@+1 {{key_cache dimension 2 must be 48, found 32}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %p scale 0.125 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x16xf32>, tensor<?x8x32xf32>, tensor<?x8x32xf32>, tensor<?x8x32xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that the two caches have the same capacity.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %kn: tensor<?x8x32xf32>, %kr: tensor<?x16xf32>, %v: tensor<?x8x32xf32>, %kc: tensor<?x8x48xf32>, %vc: tensor<16x8x32xf32>, %p: index) {
  // expected-error@+1 {{value_cache dimension 0 must be ?, found 16}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %p scale 0.125 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x16xf32>, tensor<?x8x32xf32>, tensor<?x8x48xf32>, tensor<16x8x32xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that the softmax scale is positive.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %kn: tensor<?x8x32xf32>, %kr: tensor<?x16xf32>, %v: tensor<?x8x32xf32>, %kc: tensor<?x8x48xf32>, %vc: tensor<?x8x32xf32>, %p: index) {
  // expected-error@+1 {{scale must be positive}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %p scale 0.0 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x16xf32>, tensor<?x8x32xf32>, tensor<?x8x48xf32>, tensor<?x8x32xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that the expert count is static.
func.func @f(%l: tensor<?x?xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{the number of experts must be static}}
  %w, %i = deepseek.moe_router %l bias %b scoring sigmoid method noaux_tc top 4 groups 4 topk_groups 2 normalize scaling 2.5 : tensor<?x?xf32>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return
}

// -----

// Tests that k <= experts.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{top 17 exceeds the 16 experts}}
  %w, %i = deepseek.moe_router %l scoring sigmoid method group_limited_greedy top 17 groups 1 topk_groups 1 normalize scaling 2.5 : tensor<?x16xf32> -> tensor<?x17xf32>, tensor<?x17xi32>
  return
}

// -----

// Tests that groups divide the experts.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{3 groups do not divide 16 experts}}
  %w, %i = deepseek.moe_router %l bias %b scoring sigmoid method noaux_tc top 4 groups 3 topk_groups 2 normalize scaling 2.5 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return
}

// -----

// Tests that the kept groups are among the groups.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{topk_groups 5 exceeds the 4 groups}}
  %w, %i = deepseek.moe_router %l bias %b scoring sigmoid method noaux_tc top 4 groups 4 topk_groups 5 normalize scaling 2.5 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return
}

// -----

// Tests that k fits in the kept groups.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{top 9 exceeds the 8 experts in the kept groups}}
  %w, %i = deepseek.moe_router %l bias %b scoring sigmoid method noaux_tc top 9 groups 4 topk_groups 2 normalize scaling 2.5 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x9xf32>, tensor<?x9xi32>
  return
}

// -----

// Tests that greedy routing ignores groups.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{greedy routing takes a single group}}
  %w, %i = deepseek.moe_router %l scoring sigmoid method greedy top 4 groups 4 topk_groups 2 normalize scaling 2.5 : tensor<?x16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return
}

// -----

// Tests that noaux_tc groups have at least 2 experts.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{noaux_tc scores a group by its top 2 experts, so groups need at least 2 experts}}
  %w, %i = deepseek.moe_router %l bias %b scoring sigmoid method noaux_tc top 4 groups 16 topk_groups 4 normalize scaling 2.5 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return
}

// -----

// Tests that noaux_tc needs its bias.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{noaux_tc routing needs the correction bias}}
  %w, %i = deepseek.moe_router %l scoring sigmoid method noaux_tc top 4 groups 4 topk_groups 2 normalize scaling 2.5 : tensor<?x16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return
}

// -----

// Tests that only noaux_tc has a bias.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{only noaux_tc routing takes a correction bias}}
  %w, %i = deepseek.moe_router %l bias %b scoring sigmoid method group_limited_greedy top 4 groups 4 topk_groups 2 normalize scaling 2.5 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return
}

// -----

// Tests that the router returns k weights per token.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{weights dimension 1 must be 4, found 3}}
  %w, %i = deepseek.moe_router %l bias %b scoring sigmoid method noaux_tc top 4 groups 4 topk_groups 2 normalize scaling 2.5 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x3xf32>, tensor<?x4xi32>
  return
}

// -----

// Tests that routed_scaling_factor is positive.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{scaling must be positive}}
  %w, %i = deepseek.moe_router %l bias %b scoring sigmoid method noaux_tc top 4 groups 4 topk_groups 2 normalize scaling 0.0 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return
}

// -----

// Tests that k is positive.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<16xf32>) {
  // expected-error@+1 {{attribute 'top_k' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %w, %i = deepseek.moe_router %l bias %b scoring sigmoid method noaux_tc top 0 groups 4 topk_groups 2 normalize scaling 2.5 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x1xf32>, tensor<?x1xi32>
  return
}

// -----

// Tests that the correction bias has one entry per expert.
func.func @f(%l: tensor<?x16xf32>, %b: tensor<8xf32>) {
  // expected-error@+1 {{bias dimension 0 must be 16, found 8}}
  %w, %i = deepseek.moe_router %l bias %b scoring sigmoid method noaux_tc top 4 groups 4 topk_groups 2 scaling 1.0 : tensor<?x16xf32>, tensor<8xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return
}

// -----

// Tests that expert weights are stacked [E, out, in].
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x64xbf16>) {
  // expected-error@+1 {{gate must have rank 3, found 2}}
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that up and gate have one shape.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x32x256xbf16>, %d: tensor<16x256x64xbf16>) {
  // expected-error@+1 {{up must have the gate's type 'tensor<16x64x256xbf16>', found 'tensor<16x32x256xbf16>'}}
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x32x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that down maps the expert width back to hidden.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x32xbf16>) {
  // expected-error@+1 {{down dimension 2 must be 64, found 32}}
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x32xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that the experts read the hidden size.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x128xbf16>, %u: tensor<16x64x128xbf16>, %d: tensor<16x256x64xbf16>) {
  // expected-error@+1 {{gate dimension 2 must be 256, found 128}}
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x128xbf16>, tensor<16x64x128xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that weights and indices agree.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x2xi32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x64xbf16>) {
  // expected-error@+1 {{indices dimension 1 must be 4, found 2}}
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x2xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that k <= experts.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x17xf32>, %i: tensor<?x17xi32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x64xbf16>) {
  // expected-error@+1 {{17 experts per token exceed the 16 experts}}
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) : tensor<?x256xf32>, tensor<?x17xf32>, tensor<?x17xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that the result has the input's type.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x64xbf16>) {
  // expected-error@+1 {{result must have the input's type 'tensor<?x256xf32>', found 'tensor<4x256xf32>'}}
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<4x256xf32>
  return
}

// -----

// Tests that FP8 experts carry three scales.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x256xf8E4M3FN>, %u: tensor<16x64x256xf8E4M3FN>, %d: tensor<16x256x64xf8E4M3FN>, %s0: tensor<16x1x2xf32>, %s1: tensor<16x1x2xf32>) {
  // expected-error@+1 {{takes the scales of gate, up and down (3), found 2}}
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) scales(%s0, %s1) block [128, 128] : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xf8E4M3FN>, tensor<16x64x256xf8E4M3FN>, tensor<16x256x64xf8E4M3FN>, tensor<16x1x2xf32>, tensor<16x1x2xf32> -> tensor<?x256xf32>
  return
}

// -----

// Tests that FP8 experts need scales.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x256xf8E4M3FN>, %u: tensor<16x64x256xf8E4M3FN>, %d: tensor<16x256x64xf8E4M3FN>) {
  // expected-error@+1 {{expert weights of type f8E4M3FN needs block scales}}
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xf8E4M3FN>, tensor<16x64x256xf8E4M3FN>, tensor<16x256x64xf8E4M3FN> -> tensor<?x256xf32>
  return
}

// -----

// Tests that experts share one storage type.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x64xf32>) {
  // expected-error@+1 {{gate, up and down must share an element type}}
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xf32> -> tensor<?x256xf32>
  return
}

// -----

// Tests that each expert has one scale per block.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x256xf8E4M3FN>, %u: tensor<16x64x256xf8E4M3FN>, %d: tensor<16x256x64xf8E4M3FN>, %s0: tensor<16x1x2xf32>, %s1: tensor<16x1x2xf32>, %s2: tensor<16x1x1xf32>) {
  // expected-error@+1 {{down scales dimension 1 must be 2 for blocks of 128x128, found 1}}
  %y = deepseek.moe_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) scales(%s0, %s1, %s2) block [128, 128] : tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xf8E4M3FN>, tensor<16x64x256xf8E4M3FN>, tensor<16x256x64xf8E4M3FN>, tensor<16x1x2xf32>, tensor<16x1x2xf32>, tensor<16x1x1xf32> -> tensor<?x256xf32>
  return
}

// -----

// Tests that the up-projection has heads x (dn + dv) rows.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %c: tensor<?x64xf32>, %kr: tensor<?x16xf32>, %w: tensor<256x64xbf16>, %lc: tensor<?x64xf32>, %rc: tensor<?x16xf32>, %p: index) {
  // expected-error@+1 {{up dimension 0 must be 512, found 256}}
  %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<256x64xbf16>) cache(%lc, %rc) at %p scale 0.125 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x16xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that the up-projection reads the latent.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %c: tensor<?x64xf32>, %kr: tensor<?x16xf32>, %w: tensor<512x32xbf16>, %lc: tensor<?x64xf32>, %rc: tensor<?x16xf32>, %p: index) {
  // expected-error@+1 {{up dimension 1 must be 64, found 32}}
  %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<512x32xbf16>) cache(%lc, %rc) at %p scale 0.125 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x16xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that the latent cache holds the latent.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %c: tensor<?x64xf32>, %kr: tensor<?x16xf32>, %w: tensor<512x64xbf16>, %lc: tensor<?x32xf32>, %rc: tensor<?x16xf32>, %p: index) {
  // expected-error@+1 {{latent_cache dimension 1 must be 64, found 32}}
  %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<512x64xbf16>) cache(%lc, %rc) at %p scale 0.125 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x32xf32>, tensor<?x16xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that the latent rank is static.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %c: tensor<?x?xf32>, %kr: tensor<?x16xf32>, %w: tensor<512x64xbf16>, %lc: tensor<?x64xf32>, %rc: tensor<?x16xf32>, %p: index) {
  // expected-error@+1 {{head count, head dimensions and the latent rank must be static}}
  %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<512x64xbf16>) cache(%lc, %rc) at %p scale 0.125 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x?xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x16xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that an FP8 up-projection needs its scales.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %c: tensor<?x64xf32>, %kr: tensor<?x16xf32>, %w: tensor<512x64xf8E4M3FN>, %lc: tensor<?x64xf32>, %rc: tensor<?x16xf32>, %p: index) {
  // expected-error@+1 {{up of type f8E4M3FN needs block scales}}
  %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<512x64xf8E4M3FN>) cache(%lc, %rc) at %p scale 0.125 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x16xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that the latent attention's scale is positive.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %c: tensor<?x64xf32>, %kr: tensor<?x16xf32>, %w: tensor<512x64xbf16>, %lc: tensor<?x64xf32>, %rc: tensor<?x16xf32>, %p: index) {
  // expected-error@+1 {{scale must be positive}}
  %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<512x64xbf16>) cache(%lc, %rc) at %p scale 0.0 : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x16xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that the fused router's gate reads the input's features.
func.func @f(%x: tensor<?x128xf32>, %gate: tensor<16x256xbf16>) {
  // expected-error@+1 {{gate [experts, in] has in = 256 but the input has 128 features}}
  %w, %i = deepseek.fused_router %x gate(%gate) scoring softmax method greedy top 2 groups 1 topk_groups 1 scaling 1.0 : tensor<?x128xf32>, tensor<16x256xbf16> -> tensor<?x2xf32>, tensor<?x2xi32>
  return
}

// -----

// Tests that the fused router checks routing like moe_router.
func.func @f(%x: tensor<?x256xf32>, %gate: tensor<16x256xbf16>) {
  // expected-error@+1 {{top 17 exceeds the 16 experts}}
  %w, %i = deepseek.fused_router %x gate(%gate) scoring softmax method greedy top 17 groups 1 topk_groups 1 scaling 1.0 : tensor<?x256xf32>, tensor<16x256xbf16> -> tensor<?x17xf32>, tensor<?x17xi32>
  return
}

// -----

// Tests that the grouped experts accumulate into a tensor like the input.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x64xbf16>, %acc: tensor<?x128xf32>) {
  // expected-error@+1 {{accumulator must have the input's type 'tensor<?x256xf32>', found 'tensor<?x128xf32>'}}
  %y = deepseek.grouped_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) accumulate(%acc) : tensor<?x256xf32>, tensor<?x128xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x64xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that the grouped experts check experts like moe_experts.
func.func @f(%x: tensor<?x256xf32>, %w: tensor<?x4xf32>, %i: tensor<?x4xi32>, %g: tensor<16x64x256xbf16>, %u: tensor<16x64x256xbf16>, %d: tensor<16x256x32xbf16>, %acc: tensor<?x256xf32>) {
  // expected-error@+1 {{down dimension 2 must be 64, found 32}}
  %y = deepseek.grouped_experts %x routed(%w, %i) gate(%g) up(%u) down(%d) accumulate(%acc) : tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x4xf32>, tensor<?x4xi32>, tensor<16x64x256xbf16>, tensor<16x64x256xbf16>, tensor<16x256x32xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that swiglu's gate and up projections have one type.
func.func @f(%x: tensor<?x256xf32>, %wg: tensor<512x256xbf16>, %wu: tensor<256x256xbf16>, %wd: tensor<256x512xbf16>) {
  // expected-error@+1 {{up must have the gate's type 'tensor<512x256xbf16>', found 'tensor<256x256xbf16>'}}
  %y = deepseek.swiglu %x gate(%wg) up(%wu) down(%wd) : tensor<?x256xf32>, tensor<512x256xbf16>, tensor<256x256xbf16>, tensor<256x512xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that swiglu's down projection maps the width back to the input's.
func.func @f(%x: tensor<?x256xf32>, %wg: tensor<512x256xbf16>, %wu: tensor<512x256xbf16>, %wd: tensor<256x256xbf16>) {
  // expected-error@+1 {{down dimension 1 must be 512, found 256}}
  %y = deepseek.swiglu %x gate(%wg) up(%wu) down(%wd) : tensor<?x256xf32>, tensor<512x256xbf16>, tensor<512x256xbf16>, tensor<256x256xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that swiglu takes no FP8 weights (they keep their block scales in linear).
func.func @f(%x: tensor<?x256xf32>, %wg: tensor<512x256xf8E4M3FN>, %wu: tensor<512x256xf8E4M3FN>, %wd: tensor<256x512xbf16>) {
  // expected-error@+1 {{takes no block-scaled FP8 weights}}
  %y = deepseek.swiglu %x gate(%wg) up(%wu) down(%wd) : tensor<?x256xf32>, tensor<512x256xf8E4M3FN>, tensor<512x256xf8E4M3FN>, tensor<256x512xbf16> -> tensor<?x256xf32>
  return
}

// -----

// Tests that RoPE takes a start or positions, not both.
func.func @f(%x: tensor<?x16xf32>, %p: index, %pos: tensor<?xi64>) {
  // expected-error@+1 {{takes either a start or positions, not both}}
  %y = deepseek.rope %x at %p positions(%pos : tensor<?xi64>) with <theta = 10000.0, factor = 1.0, original_max_position = 4096, beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<?x16xf32>
  return
}

// -----

// Tests that RoPE places its tokens somewhere.
func.func @f(%x: tensor<?x16xf32>) {
  // expected-error@+1 {{takes either a start or positions, not both}}
  %y = deepseek.rope %x at with <theta = 10000.0, factor = 1.0, original_max_position = 4096, beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<?x16xf32>
  return
}

// -----

// Tests that there is one position per token.
func.func @f(%x: tensor<4x16xf32>, %pos: tensor<3xi64>) {
  // expected-error@+1 {{positions dimension 0 must be 4, found 3}}
  %y = deepseek.rope %x at positions(%pos : tensor<3xi64>) with <theta = 10000.0, factor = 1.0, original_max_position = 4096, beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 1.0> : tensor<4x16xf32>
  return
}

// -----

// Tests that a batched step's caches have a slot axis.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %kn: tensor<?x8x32xf32>, %kr: tensor<?x16xf32>, %v: tensor<?x8x32xf32>, %kc: tensor<?x8x48xf32>, %vc: tensor<?x8x32xf32>, %pos: tensor<?xi64>) {
  // expected-error@+1 {{key_cache must have rank 4, found 3}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at positions(%pos : tensor<?xi64>) scale 0.125
      : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x8x32xf32>, tensor<?x16xf32>, tensor<?x8x32xf32>, tensor<?x8x48xf32>, tensor<?x8x32xf32> -> tensor<?x8x32xf32>
  return
}

// -----

// Tests that a batched step has one cache slot per token.
func.func @f(%qn: tensor<2x8x32xf32>, %qr: tensor<2x8x16xf32>, %c: tensor<2x64xf32>, %kr: tensor<2x16xf32>, %w: tensor<512x64xbf16>, %lc: tensor<3x?x64xf32>, %rc: tensor<3x?x16xf32>, %pos: tensor<2xi64>) {
  // expected-error@+1 {{latent_cache dimension 0 must be 2, found 3}}
  %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<512x64xbf16>) cache(%lc, %rc) at positions(%pos : tensor<2xi64>) scale 0.125
      : tensor<2x8x32xf32>, tensor<2x8x16xf32>, tensor<2x64xf32>, tensor<2x16xf32>, tensor<3x?x64xf32>, tensor<3x?x16xf32> -> tensor<2x8x32xf32>
  return
}

// -----

// Tests that a batched step's slots hold the per-token entry.
func.func @f(%qn: tensor<?x8x32xf32>, %qr: tensor<?x8x16xf32>, %c: tensor<?x64xf32>, %kr: tensor<?x16xf32>, %w: tensor<512x64xbf16>, %lc: tensor<?x?x32xf32>, %rc: tensor<?x?x16xf32>, %pos: tensor<?xi64>) {
  // expected-error@+1 {{latent_cache slot dimension 1 must be 64, found 32}}
  %o, %lc2, %rc2 = deepseek.latent_attention query(%qn, %qr) latent(%c, %kr) up(%w : tensor<512x64xbf16>) cache(%lc, %rc) at positions(%pos : tensor<?xi64>) scale 0.125
      : tensor<?x8x32xf32>, tensor<?x8x16xf32>, tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x?x32xf32>, tensor<?x?x16xf32> -> tensor<?x8x32xf32>
  return
}
