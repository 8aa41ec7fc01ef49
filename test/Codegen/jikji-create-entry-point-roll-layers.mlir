// RUN: jikji-opt %s --split-input-file --jikji-create-entry-point | FileCheck %s
// RUN: jikji-opt %s --split-input-file --jikji-create-entry-point=roll-layers=false | FileCheck %s --check-prefix=UNROLLED

// Tests that a run of calls to one layer function becomes one loop over its
// layers: the hidden state is carried and copied back into its buffer, each
// cache is sliced at the loop's layer (first layer 1) and written back
// there, and each parameter reads table entry base + step * stride, where
// the stride counts one pointer per expert of a stacked parameter (1 + 2 =
// 3 per layer here). The dense layer before the run stays a plain call, and
// the table still lists every layer's parameters in order.
// CHECK: jikji.parameters = [{name = "embed", {{.+}}}, {name = "layers.0.w", {{.+}}}, {name = "layers.1.w", {{.+}}}, {experts = 2 : i64, name = "layers.1.experts.*.w", {{.+}}}, {name = "layers.2.w", {{.+}}}, {experts = 2 : i64, name = "layers.2.experts.*.w", {{.+}}}, {name = "layers.3.w", {{.+}}}, {experts = 2 : i64, name = "layers.3.experts.*.w", {{.+}}}]
// UNROLLED-COUNT-3: call @moe_layer
// UNROLLED-NOT: scf.for
module {
  func.func private @dense_layer(%h: tensor<?x4xf32>, %start: index, %kc: tensor<?x6xf32>, %w: tensor<4x4xbf16>) -> (tensor<?x4xf32>, tensor<?x6xf32>) {
    return %h, %kc : tensor<?x4xf32>, tensor<?x6xf32>
  }
  func.func private @moe_layer(%h: tensor<?x4xf32>, %start: index, %kc: tensor<?x6xf32>, %w: tensor<4x4xbf16>, %experts: tensor<2x3x4xbf16>) -> (tensor<?x4xf32>, tensor<?x6xf32>) {
    %c1 = arith.constant 1 : index
    %e1 = tensor.extract_slice %experts[%c1, 0, 0] [1, 3, 4] [1, 1, 1] : tensor<2x3x4xbf16> to tensor<3x4xbf16>
    return %h, %kc : tensor<?x4xf32>, tensor<?x6xf32>
  }
  // CHECK-LABEL: func.func private @forward(
  // CHECK-SAME: %[[START:[a-z0-9]+]]: index, %[[KC:[a-z0-9]+]]: tensor<4x?x6xf32> {{.+}}, %[[TABLE:[a-z0-9]+]]: !llvm.ptr {deepseek.param_table})
  func.func @forward(%tokens: tensor<?xi64>, %start: index, %kc: tensor<4x?x6xf32> {deepseek.kv_cache = "key"}, %vc: tensor<4x?x2xf32> {deepseek.kv_cache = "value"}, %first: index {deepseek.first_logit}) -> (tensor<?x16xf32>, tensor<4x?x6xf32>, tensor<4x?x2xf32>) {
    %c1 = arith.constant 1 : index
    %e = deepseek.param "embed" : tensor<16x4xbf16>
    %h0 = deepseek.embedding %e[%tokens] : tensor<16x4xbf16>, tensor<?xi64> -> tensor<?x4xf32>
    %n = tensor.dim %kc, %c1 : tensor<4x?x6xf32>
    // CHECK: %[[DENSE:.+]]:2 = call @dense_layer(
    %s0 = tensor.extract_slice %kc[0, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<4x?x6xf32> to tensor<?x6xf32>
    %w0 = deepseek.param "layers.0.w" : tensor<4x4xbf16>
    %r0:2 = call @dense_layer(%h0, %start, %s0, %w0) : (tensor<?x4xf32>, index, tensor<?x6xf32>, tensor<4x4xbf16>) -> (tensor<?x4xf32>, tensor<?x6xf32>)
    // CHECK: %[[KC0:.+]] = tensor.insert_slice %[[DENSE]]#1 into %[[KC]][0, 0, 0]
    %k0 = tensor.insert_slice %r0#1 into %kc[0, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<?x6xf32> into tensor<4x?x6xf32>
    // CHECK: %[[LOOP:.+]]:2 = scf.for %[[STEP:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[H:.+]] = %[[DENSE]]#0, %[[CACHE:.+]] = %[[KC0]])
    // CHECK: %[[STEP64:.+]] = arith.index_cast %[[STEP]] : index to i64
    // CHECK: %[[OFFSET:.+]] = arith.muli %[[STEP64]], %{{.+}} : i64
    // CHECK: %[[LAYER:.+]] = arith.addi %[[STEP]], %{{.+}} : index
    // CHECK: %[[SLICE:.+]] = tensor.extract_slice %[[CACHE]][%[[LAYER]], 0, 0] [1, %{{.+}}, 6] [1, 1, 1]
    // CHECK: %[[WENTRY:.+]] = arith.addi %[[OFFSET]], %{{.+}} : i64
    // CHECK: llvm.getelementptr %[[TABLE]][%[[WENTRY]]]
    // CHECK: %[[XENTRY:.+]] = arith.addi %[[OFFSET]], %{{.+}} : i64
    // CHECK: %[[EXPERTS:.+]] = llvm.getelementptr %[[TABLE]][%[[XENTRY]]]
    // CHECK: %[[RESULT:.+]]:2 = func.call @moe_layer(%[[H]], %[[START]], %[[SLICE]], %{{.+}}, %[[EXPERTS]])
    // CHECK: %[[NEWH:.+]] = bufferization.materialize_in_destination %[[RESULT]]#0 in %[[H]]
    // CHECK: %[[NEWCACHE:.+]] = tensor.insert_slice %[[RESULT]]#1 into %[[CACHE]][%[[LAYER]], 0, 0]
    // CHECK: scf.yield %[[NEWH]], %[[NEWCACHE]]
    %s1 = tensor.extract_slice %k0[1, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<4x?x6xf32> to tensor<?x6xf32>
    %w1 = deepseek.param "layers.1.w" : tensor<4x4xbf16>
    %x1 = deepseek.expert_param "layers.1.experts.*.w" : tensor<2x3x4xbf16>
    %r1:2 = call @moe_layer(%r0#0, %start, %s1, %w1, %x1) : (tensor<?x4xf32>, index, tensor<?x6xf32>, tensor<4x4xbf16>, tensor<2x3x4xbf16>) -> (tensor<?x4xf32>, tensor<?x6xf32>)
    %k1 = tensor.insert_slice %r1#1 into %k0[1, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<?x6xf32> into tensor<4x?x6xf32>
    %s2 = tensor.extract_slice %k1[2, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<4x?x6xf32> to tensor<?x6xf32>
    %w2 = deepseek.param "layers.2.w" : tensor<4x4xbf16>
    %x2 = deepseek.expert_param "layers.2.experts.*.w" : tensor<2x3x4xbf16>
    %r2:2 = call @moe_layer(%r1#0, %start, %s2, %w2, %x2) : (tensor<?x4xf32>, index, tensor<?x6xf32>, tensor<4x4xbf16>, tensor<2x3x4xbf16>) -> (tensor<?x4xf32>, tensor<?x6xf32>)
    %k2 = tensor.insert_slice %r2#1 into %k1[2, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<?x6xf32> into tensor<4x?x6xf32>
    %s3 = tensor.extract_slice %k2[3, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<4x?x6xf32> to tensor<?x6xf32>
    %w3 = deepseek.param "layers.3.w" : tensor<4x4xbf16>
    %x3 = deepseek.expert_param "layers.3.experts.*.w" : tensor<2x3x4xbf16>
    %r3:2 = call @moe_layer(%r2#0, %start, %s3, %w3, %x3) : (tensor<?x4xf32>, index, tensor<?x6xf32>, tensor<4x4xbf16>, tensor<2x3x4xbf16>) -> (tensor<?x4xf32>, tensor<?x6xf32>)
    %k3 = tensor.insert_slice %r3#1 into %k2[3, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<?x6xf32> into tensor<4x?x6xf32>
    // CHECK-NOT: call @moe_layer
    // CHECK: deepseek.linear %[[LOOP]]#0
    // CHECK: return %{{.+}}, %[[LOOP]]#1
    %l = deepseek.linear %r3#0, %e : tensor<?x4xf32>, tensor<16x4xbf16> -> tensor<?x16xf32>
    return %l, %k3, %vc : tensor<?x16xf32>, tensor<4x?x6xf32>, tensor<4x?x2xf32>
  }
}

// -----

// Tests that calls are left alone when a loop would hide a value used
// elsewhere: here the first layer's hidden state also feeds the output.
// CHECK-LABEL: func.func private @forward(
// CHECK-NOT: scf.for
// CHECK-COUNT-2: call @layer
module {
  func.func private @layer(%h: tensor<?x4xf32>, %start: index, %kc: tensor<?x6xf32>, %w: tensor<4x4xbf16>) -> (tensor<?x4xf32>, tensor<?x6xf32>) {
    return %h, %kc : tensor<?x4xf32>, tensor<?x6xf32>
  }
  func.func @forward(%tokens: tensor<?xi64>, %start: index, %kc: tensor<2x?x6xf32> {deepseek.kv_cache = "key"}, %vc: tensor<2x?x2xf32> {deepseek.kv_cache = "value"}, %first: index {deepseek.first_logit}) -> (tensor<?x16xf32>, tensor<2x?x6xf32>, tensor<2x?x2xf32>) {
    %c1 = arith.constant 1 : index
    %e = deepseek.param "embed" : tensor<16x4xbf16>
    %h0 = deepseek.embedding %e[%tokens] : tensor<16x4xbf16>, tensor<?xi64> -> tensor<?x4xf32>
    %n = tensor.dim %kc, %c1 : tensor<2x?x6xf32>
    %s0 = tensor.extract_slice %kc[0, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<2x?x6xf32> to tensor<?x6xf32>
    %w0 = deepseek.param "layers.0.w" : tensor<4x4xbf16>
    %r0:2 = call @layer(%h0, %start, %s0, %w0) : (tensor<?x4xf32>, index, tensor<?x6xf32>, tensor<4x4xbf16>) -> (tensor<?x4xf32>, tensor<?x6xf32>)
    %k0 = tensor.insert_slice %r0#1 into %kc[0, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<?x6xf32> into tensor<2x?x6xf32>
    %s1 = tensor.extract_slice %k0[1, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<2x?x6xf32> to tensor<?x6xf32>
    %w1 = deepseek.param "layers.1.w" : tensor<4x4xbf16>
    %r1:2 = call @layer(%r0#0, %start, %s1, %w1) : (tensor<?x4xf32>, index, tensor<?x6xf32>, tensor<4x4xbf16>) -> (tensor<?x4xf32>, tensor<?x6xf32>)
    %k1 = tensor.insert_slice %r1#1 into %k0[1, 0, 0] [1, %n, 6] [1, 1, 1] : tensor<?x6xf32> into tensor<2x?x6xf32>
    %l = deepseek.linear %r0#0, %e : tensor<?x4xf32>, tensor<16x4xbf16> -> tensor<?x16xf32>
    return %l, %k1, %vc : tensor<?x16xf32>, tensor<2x?x6xf32>, tensor<2x?x2xf32>
  }
}
