// RUN: jikji-opt %s --split-input-file --deepseek-absorb-mla | FileCheck %s
// RUN: jikji-opt %s --split-input-file --deepseek-absorb-mla="report-skipped" --verify-diagnostics > /dev/null

// Tests that an as-written attention becomes latent attention over the
// latent and rotary-key caches, that the expansion through kv_b_proj is
// gone, and that @forward's stacked caches and slices follow.
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: tensor<2x?x8xf32> {deepseek.kv_cache = "latent"}
// CHECK-SAME: tensor<2x?x2xf32> {deepseek.kv_cache = "key_rope"}
// CHECK-SAME: -> (tensor<?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x2xf32>)
// CHECK: tensor.extract_slice %{{.+}}[1, 0, 0] [1, %{{.+}}, 8] [1, 1, 1] : tensor<2x?x8xf32> to tensor<?x8xf32>
// CHECK: call @layer({{.+}}) : (tensor<?x8xf32>, index, tensor<?x8xf32>, tensor<?x2xf32>, {{.+}}) -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x2xf32>)
// CHECK: tensor.insert_slice %{{.+}} into %{{.+}}[1, 0, 0] [1, %{{.+}}, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<2x?x8xf32>
// CHECK-LABEL: func.func private @layer(
// CHECK-SAME: %[[LATENT_CACHE:[a-z0-9]+]]: tensor<?x8xf32>, %[[ROPE_CACHE:[a-z0-9]+]]: tensor<?x2xf32>
// CHECK-SAME: -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x2xf32>)
// CHECK-NOT: deepseek.linear
// CHECK: deepseek.latent_attention query(%{{.+}}, %{{.+}}) latent(%{{.+}}, %{{.+}}) up(%{{.+}} : tensor<16x8xbf16>) cache(%[[LATENT_CACHE]], %[[ROPE_CACHE]])
// CHECK-NOT: deepseek.mla_attention
module {
  func.func @forward(%h: tensor<?x8xf32>, %start: index, %kc: tensor<2x?x2x6xf32> {deepseek.kv_cache = "key"}, %vc: tensor<2x?x2x4xf32> {deepseek.kv_cache = "value"}) -> (tensor<?x8xf32>, tensor<2x?x2x6xf32>, tensor<2x?x2x4xf32>) {
    %c1 = arith.constant 1 : index
    %cap = tensor.dim %kc, %c1 : tensor<2x?x2x6xf32>
    %w = deepseek.param "model.layers.1.self_attn.kv_b_proj.weight" : tensor<16x8xbf16>
    %k1 = tensor.extract_slice %kc[1, 0, 0, 0] [1, %cap, 2, 6] [1, 1, 1, 1] : tensor<2x?x2x6xf32> to tensor<?x2x6xf32>
    %v1 = tensor.extract_slice %vc[1, 0, 0, 0] [1, %cap, 2, 4] [1, 1, 1, 1] : tensor<2x?x2x4xf32> to tensor<?x2x4xf32>
    %r:3 = call @layer(%h, %start, %k1, %v1, %w) : (tensor<?x8xf32>, index, tensor<?x2x6xf32>, tensor<?x2x4xf32>, tensor<16x8xbf16>) -> (tensor<?x8xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32>)
    %kc2 = tensor.insert_slice %r#1 into %kc[1, 0, 0, 0] [1, %cap, 2, 6] [1, 1, 1, 1] : tensor<?x2x6xf32> into tensor<2x?x2x6xf32>
    %vc2 = tensor.insert_slice %r#2 into %vc[1, 0, 0, 0] [1, %cap, 2, 4] [1, 1, 1, 1] : tensor<?x2x4xf32> into tensor<2x?x2x4xf32>
    return %r#0, %kc2, %vc2 : tensor<?x8xf32>, tensor<2x?x2x6xf32>, tensor<2x?x2x4xf32>
  }
  func.func private @layer(%x: tensor<?x8xf32>, %start: index, %kc: tensor<?x2x6xf32>, %vc: tensor<?x2x4xf32>, %w: tensor<16x8xbf16>) -> (tensor<?x8xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32>) {
    %q = deepseek.view %x : tensor<?x8xf32> -> tensor<?x2x4xf32>
    %qn, %qr = deepseek.split %q [2, 2] : tensor<?x2x4xf32> -> tensor<?x2x2xf32>, tensor<?x2x2xf32>
    %c, %kr = deepseek.split %x [6, 2] : tensor<?x8xf32> -> tensor<?x6xf32>, tensor<?x2xf32>
    %kv = deepseek.linear %x, %w : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
    %kv3 = deepseek.view %kv : tensor<?x16xf32> -> tensor<?x2x8xf32>
    %kn, %v = deepseek.split %kv3 [4, 4] : tensor<?x2x8xf32> -> tensor<?x2x4xf32>, tensor<?x2x4xf32>
    %qn4 = deepseek.view %x : tensor<?x8xf32> -> tensor<?x2x4xf32>
    %o, %kc2, %vc2 = deepseek.mla_attention query(%qn4, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %start scale 0.5
        : tensor<?x2x4xf32>, tensor<?x2x2xf32>, tensor<?x2x4xf32>, tensor<?x2xf32>, tensor<?x2x4xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32> -> tensor<?x2x4xf32>
    %out = deepseek.view %o : tensor<?x2x4xf32> -> tensor<?x8xf32>
    return %out, %kc2, %vc2 : tensor<?x8xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32>
  }
}

// -----

// Tests that a batched decode step is absorbed too: the caches keep their
// slot axis, and @forward_batch's stacked caches [slots, layers, capacity,
// ...] follow, sliced at the layer axis.
// CHECK-LABEL: func.func @forward_batch(
// CHECK-SAME: tensor<?x2x?x8xf32> {deepseek.kv_cache = "latent"}
// CHECK-SAME: tensor<?x2x?x2xf32> {deepseek.kv_cache = "key_rope"}
// CHECK: tensor.extract_slice %{{.+}}[0, 1, 0, 0] [%{{.+}}, 1, %{{.+}}, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x?x8xf32>
// CHECK: call @layer_batch({{.+}}) : (tensor<?x8xf32>, tensor<?xi64>, tensor<?x?x8xf32>, tensor<?x?x2xf32>, {{.+}}) -> (tensor<?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x2xf32>)
// CHECK: tensor.insert_slice %{{.+}} into %{{.+}}[0, 1, 0, 0] [%{{.+}}, 1, %{{.+}}, 8] [1, 1, 1, 1] : tensor<?x?x8xf32> into tensor<?x2x?x8xf32>
// CHECK-LABEL: func.func private @layer_batch(
// CHECK-SAME: %[[LATENT_CACHE:[a-z0-9]+]]: tensor<?x?x8xf32>, %[[ROPE_CACHE:[a-z0-9]+]]: tensor<?x?x2xf32>
// CHECK: deepseek.latent_attention query(%{{.+}}, %{{.+}}) latent(%{{.+}}, %{{.+}}) up(%{{.+}} : tensor<16x8xbf16>) cache(%[[LATENT_CACHE]], %[[ROPE_CACHE]]) at positions(%{{.+}} : tensor<?xi64>)
// CHECK-NOT: deepseek.mla_attention
module {
  func.func @forward_batch(%h: tensor<?x8xf32>, %pos: tensor<?xi64>, %kc: tensor<?x2x?x2x6xf32> {deepseek.kv_cache = "key"}, %vc: tensor<?x2x?x2x4xf32> {deepseek.kv_cache = "value"}) -> (tensor<?x8xf32>, tensor<?x2x?x2x6xf32>, tensor<?x2x?x2x4xf32>) {
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %slots = tensor.dim %kc, %c0 : tensor<?x2x?x2x6xf32>
    %cap = tensor.dim %kc, %c2 : tensor<?x2x?x2x6xf32>
    %w = deepseek.param "model.layers.1.self_attn.kv_b_proj.weight" : tensor<16x8xbf16>
    %k1 = tensor.extract_slice %kc[0, 1, 0, 0, 0] [%slots, 1, %cap, 2, 6] [1, 1, 1, 1, 1] : tensor<?x2x?x2x6xf32> to tensor<?x?x2x6xf32>
    %v1 = tensor.extract_slice %vc[0, 1, 0, 0, 0] [%slots, 1, %cap, 2, 4] [1, 1, 1, 1, 1] : tensor<?x2x?x2x4xf32> to tensor<?x?x2x4xf32>
    %r:3 = call @layer_batch(%h, %pos, %k1, %v1, %w) : (tensor<?x8xf32>, tensor<?xi64>, tensor<?x?x2x6xf32>, tensor<?x?x2x4xf32>, tensor<16x8xbf16>) -> (tensor<?x8xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x4xf32>)
    %kc2 = tensor.insert_slice %r#1 into %kc[0, 1, 0, 0, 0] [%slots, 1, %cap, 2, 6] [1, 1, 1, 1, 1] : tensor<?x?x2x6xf32> into tensor<?x2x?x2x6xf32>
    %vc2 = tensor.insert_slice %r#2 into %vc[0, 1, 0, 0, 0] [%slots, 1, %cap, 2, 4] [1, 1, 1, 1, 1] : tensor<?x?x2x4xf32> into tensor<?x2x?x2x4xf32>
    return %r#0, %kc2, %vc2 : tensor<?x8xf32>, tensor<?x2x?x2x6xf32>, tensor<?x2x?x2x4xf32>
  }
  func.func private @layer_batch(%x: tensor<?x8xf32>, %pos: tensor<?xi64>, %kc: tensor<?x?x2x6xf32>, %vc: tensor<?x?x2x4xf32>, %w: tensor<16x8xbf16>) -> (tensor<?x8xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x4xf32>) {
    %q = deepseek.view %x : tensor<?x8xf32> -> tensor<?x2x4xf32>
    %qn, %qr = deepseek.split %q [2, 2] : tensor<?x2x4xf32> -> tensor<?x2x2xf32>, tensor<?x2x2xf32>
    %c, %kr = deepseek.split %x [6, 2] : tensor<?x8xf32> -> tensor<?x6xf32>, tensor<?x2xf32>
    %kv = deepseek.linear %x, %w : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
    %kv3 = deepseek.view %kv : tensor<?x16xf32> -> tensor<?x2x8xf32>
    %kn, %v = deepseek.split %kv3 [4, 4] : tensor<?x2x8xf32> -> tensor<?x2x4xf32>, tensor<?x2x4xf32>
    %qn4 = deepseek.view %x : tensor<?x8xf32> -> tensor<?x2x4xf32>
    %o, %kc2, %vc2 = deepseek.mla_attention query(%qn4, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at positions(%pos : tensor<?xi64>) scale 0.5
        : tensor<?x2x4xf32>, tensor<?x2x2xf32>, tensor<?x2x4xf32>, tensor<?x2xf32>, tensor<?x2x4xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x4xf32> -> tensor<?x2x4xf32>
    %out = deepseek.view %o : tensor<?x2x4xf32> -> tensor<?x8xf32>
    return %out, %kc2, %vc2 : tensor<?x8xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x4xf32>
  }
}

// -----

// Tests that keys and values that do not come from one up-projection are
// left as written, with the reason.
// CHECK-LABEL: func.func @not_expanded
// CHECK: deepseek.mla_attention
func.func @not_expanded(%qn: tensor<?x2x4xf32>, %qr: tensor<?x2x2xf32>, %kn: tensor<?x2x4xf32>, %kr: tensor<?x2xf32>, %v: tensor<?x2x4xf32>, %kc: tensor<?x2x6xf32>, %vc: tensor<?x2x4xf32>, %start: index) -> (tensor<?x2x4xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32>) {
  // expected-remark@+1 {{not absorbed: keys and values are not the two parts of one split}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %start scale 0.5
      : tensor<?x2x4xf32>, tensor<?x2x2xf32>, tensor<?x2x4xf32>, tensor<?x2xf32>, tensor<?x2x4xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32> -> tensor<?x2x4xf32>
  return %o, %kc2, %vc2 : tensor<?x2x4xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32>
}

// -----

// Tests that a split not fed by a linear layer is left as written.
// CHECK-LABEL: func.func @not_linear
// CHECK: deepseek.mla_attention
func.func @not_linear(%qn: tensor<?x2x4xf32>, %qr: tensor<?x2x2xf32>, %kv: tensor<?x16xf32>, %kr: tensor<?x2xf32>, %kc: tensor<?x2x6xf32>, %vc: tensor<?x2x4xf32>, %start: index) -> (tensor<?x2x4xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32>) {
  %kv3 = deepseek.view %kv : tensor<?x16xf32> -> tensor<?x2x8xf32>
  %kn, %v = deepseek.split %kv3 [4, 4] : tensor<?x2x8xf32> -> tensor<?x2x4xf32>, tensor<?x2x4xf32>
  // expected-remark@+1 {{not absorbed: keys and values are not a per-head view of one linear layer}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %start scale 0.5
      : tensor<?x2x4xf32>, tensor<?x2x2xf32>, tensor<?x2x4xf32>, tensor<?x2xf32>, tensor<?x2x4xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32> -> tensor<?x2x4xf32>
  return %o, %kc2, %vc2 : tensor<?x2x4xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32>
}

// -----

// Tests that caches which are not function arguments are left as written.
// CHECK-LABEL: func.func @local_caches
// CHECK: deepseek.mla_attention
func.func @local_caches(%qn: tensor<?x2x4xf32>, %qr: tensor<?x2x2xf32>, %c: tensor<?x8xf32>, %w: tensor<16x8xbf16>, %kr: tensor<?x2xf32>, %start: index, %n: index) -> tensor<?x2x4xf32> {
  %kc = tensor.empty(%n) : tensor<?x2x6xf32>
  %vc = tensor.empty(%n) : tensor<?x2x4xf32>
  %kv = deepseek.linear %c, %w : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
  %kv3 = deepseek.view %kv : tensor<?x16xf32> -> tensor<?x2x8xf32>
  %kn, %v = deepseek.split %kv3 [4, 4] : tensor<?x2x8xf32> -> tensor<?x2x4xf32>, tensor<?x2x4xf32>
  // expected-remark@+1 {{not absorbed: the caches are not arguments of the enclosing function}}
  %o, %kc2, %vc2 = deepseek.mla_attention query(%qn, %qr) key(%kn, %kr) value(%v) cache(%kc, %vc) at %start scale 0.5
      : tensor<?x2x4xf32>, tensor<?x2x2xf32>, tensor<?x2x4xf32>, tensor<?x2xf32>, tensor<?x2x4xf32>, tensor<?x2x6xf32>, tensor<?x2x4xf32> -> tensor<?x2x4xf32>
  return %o : tensor<?x2x4xf32>
}
