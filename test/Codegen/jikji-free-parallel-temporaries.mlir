// RUN: jikji-opt %s --jikji-free-parallel-temporaries | FileCheck %s

// Tests that a buffer an scf.forall iteration allocates at its top level is
// freed at the end of the iteration, once, and that one already freed is
// left as it is.
// CHECK-LABEL: func.func @iteration_buffers
func.func @iteration_buffers(%out: memref<4x8xf32>) {
  %c0 = arith.constant 0.0 : f32
  scf.forall (%i) in (4) {
    // CHECK: %[[KEPT:.+]] = memref.alloc() : memref<8xf32>
    %kept = memref.alloc() : memref<8xf32>
    // CHECK: %[[FREED:.+]] = memref.alloc() : memref<8xf32>
    %freed = memref.alloc() : memref<8xf32>
    linalg.fill ins(%c0 : f32) outs(%kept : memref<8xf32>)
    linalg.fill ins(%c0 : f32) outs(%freed : memref<8xf32>)
    %row = memref.subview %out[%i, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1], offset: ?>>
    memref.copy %kept, %row : memref<8xf32> to memref<8xf32, strided<[1], offset: ?>>
    // CHECK: memref.dealloc %[[FREED]]
    memref.dealloc %freed : memref<8xf32>
    // CHECK: memref.dealloc %[[KEPT]]
    // CHECK-NOT: memref.dealloc
    // CHECK: }
    // CHECK-NEXT: return
  }
  return
}

// Tests that a buffer an scf.if at an iteration's top level yields is
// freed at the end of the iteration when each branch allocated it (a
// batched decode step's per-slot attention picks its form with an if),
// and left alone when a branch yields a buffer it did not allocate.
// CHECK-LABEL: func.func @branch_buffers
func.func @branch_buffers(%out: memref<4x8xf32>, %which: i1, %other: memref<8xf32>) {
  scf.forall (%i) in (4) {
    // CHECK: %[[OWNED:.+]] = scf.if
    %owned = scf.if %which -> (memref<8xf32, strided<[?], offset: ?>>) {
      %a = memref.alloc() : memref<8xf32>
      %cast = memref.cast %a : memref<8xf32> to memref<8xf32, strided<[?], offset: ?>>
      scf.yield %cast : memref<8xf32, strided<[?], offset: ?>>
    } else {
      %b = memref.alloc() : memref<8xf32>
      %cast = memref.cast %b : memref<8xf32> to memref<8xf32, strided<[?], offset: ?>>
      scf.yield %cast : memref<8xf32, strided<[?], offset: ?>>
    }
    // CHECK: %[[BORROWED:.+]] = scf.if
    %borrowed = scf.if %which -> (memref<8xf32>) {
      %a = memref.alloc() : memref<8xf32>
      scf.yield %a : memref<8xf32>
    } else {
      scf.yield %other : memref<8xf32>
    }
    %row = memref.subview %out[%i, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1], offset: ?>>
    memref.copy %owned, %row : memref<8xf32, strided<[?], offset: ?>> to memref<8xf32, strided<[1], offset: ?>>
    memref.copy %borrowed, %row : memref<8xf32> to memref<8xf32, strided<[1], offset: ?>>
    // CHECK: memref.dealloc %[[OWNED]]
    // CHECK-NOT: memref.dealloc
    // CHECK: }
    // CHECK-NEXT: return
  }
  return
}
