// RUN: jikji-opt %s --jikji-create-entry-point | FileCheck %s

// Tests that parameters become reads of the runtime's table, in order (one
// entry per parameter, one per expert of a stacked parameter, each expert
// read in place through its own pointer), that the table is recorded for
// the manifest, and that jikji_forward has the C signature of
// docs/runtime-abi.md.
// CHECK: module attributes {jikji.parameters = [{name = "model.embed_tokens.weight", type = tensor<16x4xbf16>}, {experts = 2 : i64, name = "model.layers.0.mlp.experts.*.up_proj.weight", type = tensor<2x3x4xbf16>}]}
module {
  // CHECK-LABEL: func.func private @forward(
  // CHECK-SAME: %[[TABLE:arg[0-9]+]]: !llvm.ptr)
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
