// RUN: jikji-opt %s --jikji-host-arrays-on-stack | FileCheck %s

// Tests which allocations move to the host's stack: small static arrays in
// a function's entry block that only host code touches (loads, stores,
// pointer extraction, calls of a plain host function, their deallocation,
// through casts), as bufferization's deallocation bookkeeping makes; and
// which stay in the runtime's memory: an array a kernel, a launching
// callee or the caller may see, one in a loop, a dynamic or a big one.

module attributes {gpu.container_module} {
  gpu.module @jikji_kernels {
    gpu.func @fill(%out: memref<4xindex>) kernel {
      gpu.return
    }
  }

  // A plain host function: no launch, no allocation, no call.
  func.func private @helper(%pointers: memref<?xindex>, %flags: memref<?xi1>) {
    %c0 = arith.constant 0 : index
    %pointer = memref.load %pointers[%c0] : memref<?xindex>
    %nonzero = arith.cmpi ne, %pointer, %c0 : index
    memref.store %nonzero, %flags[%c0] : memref<?xi1>
    return
  }

  func.func private @launches(%pointers: memref<?xindex>) {
    %c1 = arith.constant 1 : index
    %fixed = memref.cast %pointers : memref<?xindex> to memref<4xindex>
    gpu.launch_func @jikji_kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%fixed : memref<4xindex>)
    return
  }

  // CHECK-LABEL: func.func @bookkeeping
  // CHECK-DAG:     %[[POINTERS:.+]] = memref.alloca() : memref<4xindex>
  // CHECK-DAG:     %[[FLAGS:.+]] = memref.alloca() : memref<4xi1>
  // CHECK-NOT:     memref.alloc(
  // CHECK:         call @helper
  // CHECK:         scf.if
  // CHECK-NEXT:      memref.dealloc %arg0
  // CHECK-NOT:     memref.dealloc
  // CHECK:         return
  func.func @bookkeeping(%buffer: memref<8xf32>) -> i1 {
    %c0 = arith.constant 0 : index
    %pointers = memref.alloc() : memref<4xindex>
    %flags = memref.alloc() : memref<4xi1>
    %intptr = memref.extract_aligned_pointer_as_index %buffer : memref<8xf32> -> index
    memref.store %intptr, %pointers[%c0] : memref<4xindex>
    %p = memref.cast %pointers : memref<4xindex> to memref<?xindex>
    %f = memref.cast %flags : memref<4xi1> to memref<?xi1>
    call @helper(%p, %f) : (memref<?xindex>, memref<?xi1>) -> ()
    %free = memref.load %flags[%c0] : memref<4xi1>
    scf.if %free {
      memref.dealloc %buffer : memref<8xf32>
    }
    memref.dealloc %p : memref<?xindex>
    memref.dealloc %flags : memref<4xi1>
    return %free : i1
  }

  // CHECK-LABEL: func.func @kernel_argument
  // CHECK:         memref.alloc() : memref<4xindex>
  // CHECK:         memref.dealloc
  func.func @kernel_argument() {
    %c1 = arith.constant 1 : index
    %array = memref.alloc() : memref<4xindex>
    gpu.launch_func @jikji_kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%array : memref<4xindex>)
    memref.dealloc %array : memref<4xindex>
    return
  }

  // CHECK-LABEL: func.func @launching_callee
  // CHECK:         memref.alloc() : memref<4xindex>
  func.func @launching_callee() {
    %array = memref.alloc() : memref<4xindex>
    %cast = memref.cast %array : memref<4xindex> to memref<?xindex>
    call @launches(%cast) : (memref<?xindex>) -> ()
    memref.dealloc %array : memref<4xindex>
    return
  }

  // CHECK-LABEL: func.func @escapes
  // CHECK:         memref.alloc() : memref<4xindex>
  func.func @escapes() -> memref<4xindex> {
    %array = memref.alloc() : memref<4xindex>
    return %array : memref<4xindex>
  }

  // CHECK-LABEL: func.func @in_a_loop
  // CHECK:         scf.for
  // CHECK-NEXT:      memref.alloc() : memref<4xindex>
  func.func @in_a_loop(%n: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    scf.for %i = %c0 to %n step %c1 {
      %array = memref.alloc() : memref<4xindex>
      memref.store %i, %array[%c0] : memref<4xindex>
      memref.dealloc %array : memref<4xindex>
    }
    return
  }

  // 4 KiB at most: 513 words is over.
  // CHECK-LABEL: func.func @too_big_or_dynamic
  // CHECK:         memref.alloca() : memref<512xindex>
  // CHECK:         memref.alloc() : memref<513xindex>
  // CHECK:         memref.alloc(%{{.+}}) : memref<?xindex>
  func.func @too_big_or_dynamic(%n: index) {
    %c0 = arith.constant 0 : index
    %fits = memref.alloc() : memref<512xindex>
    %big = memref.alloc() : memref<513xindex>
    %dynamic = memref.alloc(%n) : memref<?xindex>
    memref.store %c0, %fits[%c0] : memref<512xindex>
    memref.store %c0, %big[%c0] : memref<513xindex>
    memref.store %c0, %dynamic[%c0] : memref<?xindex>
    memref.dealloc %fits : memref<512xindex>
    memref.dealloc %big : memref<513xindex>
    memref.dealloc %dynamic : memref<?xindex>
    return
  }
}
