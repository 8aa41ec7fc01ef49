// RUN: jikji-opt %s --split-input-file --verify-diagnostics --jikji-linalg-to-threaded-loops | FileCheck %s

#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d1, d2)>
#y = affine_map<(d0, d1, d2) -> (d0, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// Tests that a product marked jikji.parallel shares its parallel loops (rows
// and output features) in one scf.parallel, with its reduction as scf.for
// inside, and that an unmarked op keeps sequential loops.
// CHECK-LABEL: func.func @marked_and_unmarked
func.func @marked_and_unmarked(%x: memref<?x8xf32>, %w: memref<4x8xf32>, %y: memref<?x4xf32>, %z: memref<?x4xf32>) {
  // CHECK: scf.parallel (%{{.+}}, %{{.+}}) =
  // CHECK: scf.for
  // CHECK: arith.mulf
  // CHECK: scf.reduce
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : memref<?x8xf32>, memref<4x8xf32>) outs(%y : memref<?x4xf32>) attrs = {jikji.parallel} {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  // CHECK-NOT: scf.parallel
  // CHECK: scf.for
  // CHECK: scf.for
  // CHECK: arith.subf
  // CHECK-NOT: linalg.generic
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : memref<?x4xf32>) outs(%z : memref<?x4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %d = arith.subf %a, %b : f32
    linalg.yield %d : f32
  }
  return
}

// -----

#p = affine_map<(t, h, s, d) -> (h, t, s)>
#v = affine_map<(t, h, s, d) -> (s, h, d)>
#o = affine_map<(t, h, s, d) -> (t, h, d)>

// Tests that a marked op with a parallel loop inside its reduction (a
// weighted sum over cache rows, loops (t, h, s, d)) shares only the loops
// outside the reduction, and keeps the rest in its own order: the row
// loop, then the value axis innermost, with no parallel loop inside.
// CHECK-LABEL: func.func @reduction_between_parallel_loops
func.func @reduction_between_parallel_loops(%p: memref<2x?x?xf32>, %v: memref<?x2x8xf32>, %o: memref<?x2x8xf32>) {
  // CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%{{.+}}, %{{.+}}) to (%{{.+}}, %[[HEADS:.+]]) step
  // CHECK-NEXT: scf.for %{{.+}} = %{{.+}} to %[[ROWS:.+]] step
  // CHECK-NEXT: scf.for %{{.+}} = %{{.+}} to %[[VALUES:.+]] step
  // CHECK-NOT: scf.parallel
  // CHECK: arith.mulf
  // CHECK: memref.store
  // CHECK: scf.reduce
  linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%p, %v : memref<2x?x?xf32>, memref<?x2x8xf32>) outs(%o : memref<?x2x8xf32>) attrs = {jikji.parallel} {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#rows = affine_map<(d0, d1) -> (d0, d1)>

// Tests that an op marked with a row count (jikji.parallel = N) is lowered
// twice behind a run-time test of its outermost loop's trip count: shared
// among threads from N rows on, on one thread below; and that inside loops
// threads already share it stays on one thread, without the test.
// CHECK-LABEL: func.func @shared_from_rows
// CHECK-SAME: (%[[X:.+]]: memref<?x8xf32>, %[[Y:.+]]: memref<?x8xf32>)
func.func @shared_from_rows(%x: memref<?x8xf32>, %y: memref<?x8xf32>) {
  // CHECK: %[[ROWS:.+]] = memref.dim %[[X]], %c0
  // CHECK: %[[ENOUGH:.+]] = arith.cmpi uge, %[[ROWS]], %c64
  // CHECK: scf.if %[[ENOUGH]] {
  // CHECK-NOT: scf.for
  // CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%{{.+}}, %{{.+}}) to (%{{.+}}, %c8)
  // CHECK: arith.addf
  // CHECK: } else {
  // CHECK-NOT: scf.parallel
  // CHECK: scf.for
  // CHECK-NEXT: scf.for
  // CHECK: arith.addf
  // CHECK: return
  linalg.generic {indexing_maps = [#rows, #rows], iterator_types = ["parallel", "parallel"]} ins(%x : memref<?x8xf32>) outs(%y : memref<?x8xf32>) attrs = {jikji.parallel = 64 : i64} {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK-LABEL: func.func @rows_inside_threads
func.func @rows_inside_threads(%x: memref<4x?x8xf32>, %y: memref<4x?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // CHECK: scf.parallel
  // CHECK-NOT: scf.if
  // CHECK-NOT: scf.parallel
  // CHECK: scf.for
  // CHECK-NEXT: scf.for
  // CHECK: arith.addf
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %xs = memref.subview %x[%i, 0, 0] [1, 64, 8] [1, 1, 1] : memref<4x?x8xf32> to memref<64x8xf32, strided<[8, 1], offset: ?>>
    %ys = memref.subview %y[%i, 0, 0] [1, 64, 8] [1, 1, 1] : memref<4x?x8xf32> to memref<64x8xf32, strided<[8, 1], offset: ?>>
    linalg.generic {indexing_maps = [#rows, #rows], iterator_types = ["parallel", "parallel"]} ins(%xs : memref<64x8xf32, strided<[8, 1], offset: ?>>) outs(%ys : memref<64x8xf32, strided<[8, 1], offset: ?>>) attrs = {jikji.parallel = 64 : i64} {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      linalg.yield %s : f32
    }
    scf.reduce
  }
  return
}

// -----

// Tests that ops on tensors are refused: the pass runs after bufferization.
func.func @tensors(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expected buffers: run after bufferization}}
  %0 = linalg.copy ins(%a : tensor<4xf32>) outs(%b : tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
