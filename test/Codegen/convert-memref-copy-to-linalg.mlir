// RUN: jikji-opt %s --convert-memref-copy-to-linalg | FileCheck %s

// Tests that a strided copy becomes linalg.copy, not a call into MLIR's
// runtime library.
// CHECK-LABEL: func.func @copy
func.func @copy(%a: memref<4x?xf32, strided<[?, 1], offset: ?>>, %b: memref<4x?xf32>) {
  // CHECK: linalg.copy ins(%{{.+}} : memref<4x?xf32, strided<[?, 1], offset: ?>>) outs(%{{.+}} : memref<4x?xf32>)
  // CHECK-NOT: memref.copy
  memref.copy %a, %b : memref<4x?xf32, strided<[?, 1], offset: ?>> to memref<4x?xf32>
  return
}
