// RUN: jikji-opt %s --split-input-file --verify-diagnostics --jikji-set-openmp-thread-count | FileCheck %s

// Tests that every parallel region reads the artifact's thread count, which
// starts at 1, and that the exported setter clamps what it is given to at
// least 1.
// CHECK: llvm.mlir.global internal @jikji_num_threads(1 : i32)
// CHECK-LABEL: llvm.func @jikji_set_num_threads
// CHECK-SAME: (%[[REQUESTED:.+]]: i32)
// CHECK: %[[ONE:.+]] = llvm.mlir.constant(1 : i32)
// CHECK: %[[COUNT:.+]] = llvm.intr.smax(%[[REQUESTED]], %[[ONE]])
// CHECK: llvm.store %[[COUNT]], %{{.+}} : i32, !llvm.ptr
// CHECK-LABEL: func.func @two_regions
func.func @two_regions() {
  // CHECK: %[[FIRST:.+]] = llvm.load %{{.+}} : !llvm.ptr -> i32
  // CHECK: omp.parallel num_threads(%[[FIRST]] : i32)
  omp.parallel {
    omp.terminator
  }
  // CHECK: %[[SECOND:.+]] = llvm.load %{{.+}} : !llvm.ptr -> i32
  // CHECK: omp.parallel num_threads(%[[SECOND]] : i32)
  omp.parallel {
    omp.terminator
  }
  return
}

// -----

// Tests that a module without parallel regions gets no thread count: the
// runtime then knows the artifact runs on one thread.
// CHECK-NOT: jikji_num_threads
// CHECK-NOT: jikji_set_num_threads
// CHECK-LABEL: func.func @sequential
func.func @sequential() {
  return
}

// -----

// Tests that a module that already has the names is refused.
// expected-error @+1 {{the module already defines jikji_num_threads or jikji_set_num_threads}}
module {
  llvm.mlir.global internal @jikji_num_threads(4 : i32) : i32
  func.func @one_region() {
    omp.parallel {
      omp.terminator
    }
    return
  }
}
