// RUN: jikji-opt %s --jikji-bufferize | FileCheck %s

// Tests that every function argument and result becomes a memref with a
// dynamic offset and outer strides but a unit innermost stride, that a call
// passes a row slice of a larger buffer without copying it, and that the
// body writes its result in place.
// CHECK-LABEL: func.func private @layer
// CHECK-SAME: (%{{.+}}: memref<?x8xf32, strided<[?, 1], offset: ?>>) -> memref<?x8xf32, strided<[?, 1], offset: ?>>
func.func private @layer(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%d) : tensor<?x8xf32>
  // CHECK: linalg.copy
  %y = linalg.copy ins(%x : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// CHECK-LABEL: func.func @caller
// CHECK-SAME: (%[[STACK:.+]]: memref<4x?x8xf32, strided<[?, ?, 1], offset: ?>>, %[[LAYER:.+]]: index)
func.func @caller(%stack: tensor<4x?x8xf32>, %l: index) -> tensor<?x8xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %stack, %c1 : tensor<4x?x8xf32>
  // CHECK: %[[ROWS:.+]] = memref.subview %[[STACK]][%[[LAYER]], 0, 0]
  // CHECK-NOT: memref.copy
  // CHECK: call @layer(%[[ROWS]])
  %rows = tensor.extract_slice %stack[%l, 0, 0] [1, %n, 8] [1, 1, 1] : tensor<4x?x8xf32> to tensor<?x8xf32>
  %y = func.call @layer(%rows) : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// Tests that an scf.if whose branches each compute into a buffer of their
// own returns a contiguous (identity layout) buffer, so that the reshape
// after it views that buffer instead of copying it.
// CHECK-LABEL: func.func @choice
// CHECK: %[[RESULT:.+]] = scf.if %{{.+}} -> (memref<?x2x4xf32>)
// CHECK-NOT: memref.copy
// CHECK: memref.collapse_shape %[[RESULT]] {{\[\[}}0], [1, 2]] : memref<?x2x4xf32> into memref<?x8xf32>
func.func @choice(%x: tensor<?x2x4xf32>, %cheap: i1) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %x, %c0 : tensor<?x2x4xf32>
  %y = scf.if %cheap -> (tensor<?x2x4xf32>) {
    %e = tensor.empty(%d) : tensor<?x2x4xf32>
    %c = linalg.copy ins(%x : tensor<?x2x4xf32>) outs(%e : tensor<?x2x4xf32>) -> tensor<?x2x4xf32>
    scf.yield %c : tensor<?x2x4xf32>
  } else {
    %e = tensor.empty(%d) : tensor<?x2x4xf32>
    %zero = arith.constant 0.0 : f32
    %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x2x4xf32>) -> tensor<?x2x4xf32>
    scf.yield %f : tensor<?x2x4xf32>
  }
  %v = tensor.collapse_shape %y [[0], [1, 2]] : tensor<?x2x4xf32> into tensor<?x8xf32>
  return %v : tensor<?x8xf32>
}
