// RUN: jikji-opt %s --split-input-file --jikji-create-entry-point --verify-diagnostics | FileCheck %s
// RUN: jikji-opt %s --split-input-file --jikji-create-entry-point --verify-diagnostics | FileCheck %s --check-prefix=BATCH

// Tests that parameters become reads of the runtime's table, in order (one
// entry per parameter, one per expert of a stacked parameter, each expert
// read in place through its own pointer), that the table is recorded for
// the manifest, and that jikji_forward has the C signature of
// docs/runtime-abi.md.
// CHECK: module attributes {jikji.parameters = [{name = "model.embed_tokens.weight", type = tensor<16x4xbf16>}, {experts = 2 : i64, name = "model.layers.0.mlp.experts.*.up_proj.weight", type = tensor<2x3x4xbf16>}]}
module {
  // CHECK-LABEL: func.func private @forward(
  // CHECK-SAME: %[[TABLE:arg[0-9]+]]: !llvm.ptr {deepseek.param_table})
  func.func @forward(%tokens: tensor<?xi64>, %start: index, %kc: tensor<1x?x2x6xf32> {deepseek.kv_cache = "key"}, %vc: tensor<1x?x2x4xf32> {deepseek.kv_cache = "value"}, %first: index {deepseek.first_logit}) -> (tensor<?x16xf32>, tensor<1x?x2x6xf32>, tensor<1x?x2x4xf32>) {
    // CHECK: llvm.getelementptr %[[TABLE]][0]
    // CHECK: bufferization.to_tensor %{{.+}} restrict : memref<16x4xbf16>
    %e = deepseek.param "model.embed_tokens.weight" : tensor<16x4xbf16>
    // CHECK: %[[EXPERTS:.+]] = llvm.getelementptr %[[TABLE]][1]
    // CHECK: %[[E:.+]] = arith.index_cast %{{.+}} : index to i64
    // CHECK: llvm.getelementptr %[[EXPERTS]][%[[E]]]
    // CHECK: bufferization.to_tensor %{{.+}} restrict : memref<3x4xbf16>
    %u = deepseek.expert_param "model.layers.0.mlp.experts.*.up_proj.weight" : tensor<2x3x4xbf16>
    %c1 = arith.constant 1 : index
    %u1 = tensor.extract_slice %u[%c1, 0, 0] [1, 3, 4] [1, 1, 1] : tensor<2x3x4xbf16> to tensor<3x4xbf16>
    %h = deepseek.embedding %e[%tokens] : tensor<16x4xbf16>, tensor<?xi64> -> tensor<?x4xf32>
    %l = deepseek.linear %h, %e : tensor<?x4xf32>, tensor<16x4xbf16> -> tensor<?x16xf32>
    return %l, %kc, %vc : tensor<?x16xf32>, tensor<1x?x2x6xf32>, tensor<1x?x2x4xf32>
  }
  // Tests that jikji_forward asks @forward for every token's logits (its
  // first logit row is num_tokens - num_tokens), and that
  // jikji_forward_last_logits takes num_logits and asks for the last ones.
  // CHECK-LABEL: func.func @jikji_forward(
  // CHECK-SAME: %{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr, %[[T:.+]]: i64, %{{.+}}: i64, %{{.+}}: !llvm.ptr, %{{.+}}: i64, %{{.+}}: !llvm.ptr) -> i32
  // CHECK: bufferization.to_tensor %{{.+}} restrict writable : memref<1x?x2x6xf32>
  // CHECK: %[[NONE:.+]] = arith.subi %[[T]], %[[T]] : i64
  // CHECK: %[[FIRST:.+]] = arith.index_cast %[[NONE]] : i64 to index
  // CHECK: call @forward(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[FIRST]], %{{.+}})
  // CHECK: bufferization.materialize_in_destination {{.+}} in restrict writable
  // CHECK-LABEL: func.func @jikji_forward_last_logits(
  // CHECK-SAME: %{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr, %[[T:.+]]: i64, %{{.+}}: i64, %{{.+}}: !llvm.ptr, %{{.+}}: i64, %{{.+}}: !llvm.ptr, %[[N:.+]]: i64) -> i32
  // CHECK: %[[SKIPPED:.+]] = arith.subi %[[T]], %[[N]] : i64
  // CHECK: %[[FIRST:.+]] = arith.index_cast %[[SKIPPED]] : i64 to index
  // CHECK: call @forward(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[FIRST]], %{{.+}})
}

// -----

// Tests that @forward_batch reads the same table as @forward (entries by
// name, in @forward's order, whatever order it reads them in) and that
// jikji_forward_batch has the C signature of docs/runtime-abi.md: its
// caches are [batch, layers, capacity, ...] over the given pointers.
// BATCH: module attributes {jikji.parameters = [{name = "model.embed_tokens.weight", type = tensor<16x4xbf16>}, {name = "model.norm.weight", type = tensor<4xbf16>}]}
module {
  func.func @forward(%tokens: tensor<?xi64>, %start: index, %kc: tensor<1x?x6xf32> {deepseek.kv_cache = "key"}, %vc: tensor<1x?x2xf32> {deepseek.kv_cache = "value"}, %first: index {deepseek.first_logit}) -> (tensor<?x16xf32>, tensor<1x?x6xf32>, tensor<1x?x2xf32>) {
    %e = deepseek.param "model.embed_tokens.weight" : tensor<16x4xbf16>
    %n = deepseek.param "model.norm.weight" : tensor<4xbf16>
    %h = deepseek.embedding %e[%tokens] : tensor<16x4xbf16>, tensor<?xi64> -> tensor<?x4xf32>
    %r = deepseek.rms_norm %h, %n eps 1.0e-6 : tensor<?x4xf32>, tensor<4xbf16>
    %l = deepseek.linear %r, %e : tensor<?x4xf32>, tensor<16x4xbf16> -> tensor<?x16xf32>
    return %l, %kc, %vc : tensor<?x16xf32>, tensor<1x?x6xf32>, tensor<1x?x2xf32>
  }
  // BATCH-LABEL: func.func private @forward_batch(
  // BATCH-SAME: %[[TABLE:arg[0-9]+]]: !llvm.ptr {deepseek.param_table})
  // BATCH: llvm.getelementptr %[[TABLE]][1]
  // BATCH: llvm.getelementptr %[[TABLE]][0]
  func.func @forward_batch(%tokens: tensor<?xi64>, %positions: tensor<?xi64>, %kc: tensor<?x1x?x6xf32> {deepseek.kv_cache = "key"}, %vc: tensor<?x1x?x2xf32> {deepseek.kv_cache = "value"}) -> (tensor<?x16xf32>, tensor<?x1x?x6xf32>, tensor<?x1x?x2xf32>) {
    %n = deepseek.param "model.norm.weight" : tensor<4xbf16>
    %e = deepseek.param "model.embed_tokens.weight" : tensor<16x4xbf16>
    %h = deepseek.embedding %e[%tokens] : tensor<16x4xbf16>, tensor<?xi64> -> tensor<?x4xf32>
    %r = deepseek.rms_norm %h, %n eps 1.0e-6 : tensor<?x4xf32>, tensor<4xbf16>
    %l = deepseek.linear %r, %e : tensor<?x4xf32>, tensor<16x4xbf16> -> tensor<?x16xf32>
    return %l, %kc, %vc : tensor<?x16xf32>, tensor<?x1x?x6xf32>, tensor<?x1x?x2xf32>
  }
  // BATCH-LABEL: func.func @jikji_forward_batch(
  // BATCH-SAME: %[[PARAMS:.+]]: !llvm.ptr, %[[TOKENS:.+]]: !llvm.ptr, %[[POSITIONS:.+]]: !llvm.ptr, %[[B:.+]]: i64, %[[CACHES:.+]]: !llvm.ptr, %[[CAP:.+]]: i64, %[[LOGITS:.+]]: !llvm.ptr) -> i32
  // BATCH: bufferization.to_tensor %{{.+}} restrict writable : memref<?x1x?x6xf32>
  // BATCH: bufferization.to_tensor %{{.+}} restrict writable : memref<?x1x?x2xf32>
  // BATCH: call @forward_batch(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[PARAMS]])
  // BATCH-COUNT-3: bufferization.materialize_in_destination {{.+}} in restrict writable
}

// -----

// Tests that @forward_batch may read only parameters that @forward reads:
// the runtime fills one table, in @forward's order.
module {
  func.func @forward(%tokens: tensor<?xi64>, %start: index, %kc: tensor<1x?x6xf32> {deepseek.kv_cache = "key"}, %vc: tensor<1x?x2xf32> {deepseek.kv_cache = "value"}, %first: index {deepseek.first_logit}) -> (tensor<?x16xf32>, tensor<1x?x6xf32>, tensor<1x?x2xf32>) {
    %e = deepseek.param "model.embed_tokens.weight" : tensor<16x4xbf16>
    %h = deepseek.embedding %e[%tokens] : tensor<16x4xbf16>, tensor<?xi64> -> tensor<?x4xf32>
    %l = deepseek.linear %h, %e : tensor<?x4xf32>, tensor<16x4xbf16> -> tensor<?x16xf32>
    return %l, %kc, %vc : tensor<?x16xf32>, tensor<1x?x6xf32>, tensor<1x?x2xf32>
  }
  func.func @forward_batch(%tokens: tensor<?xi64>, %positions: tensor<?xi64>, %kc: tensor<?x1x?x6xf32> {deepseek.kv_cache = "key"}, %vc: tensor<?x1x?x2xf32> {deepseek.kv_cache = "value"}) -> (tensor<?x16xf32>, tensor<?x1x?x6xf32>, tensor<?x1x?x2xf32>) {
    %e = deepseek.param "model.embed_tokens.weight" : tensor<16x4xbf16>
    // expected-error@+1 {{reads a parameter that @forward does not}}
    %x = deepseek.param "lm_head.weight" : tensor<16x4xbf16>
    %h = deepseek.embedding %e[%tokens] : tensor<16x4xbf16>, tensor<?xi64> -> tensor<?x4xf32>
    %l = deepseek.linear %h, %x : tensor<?x4xf32>, tensor<16x4xbf16> -> tensor<?x16xf32>
    return %l, %kc, %vc : tensor<?x16xf32>, tensor<?x1x?x6xf32>, tensor<?x1x?x2xf32>
  }
}
