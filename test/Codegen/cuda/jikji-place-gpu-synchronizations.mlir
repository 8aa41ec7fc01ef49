// RUN: jikji-opt %s --jikji-place-gpu-synchronizations | FileCheck %s

// Tests where the host waits for the stream: before host code that reads
// or writes a buffer a kernel may use after a launch or an allocation (the
// runtime zeroes a new block on the stream), once before a loop of such
// accesses, inside a loop that launches, and not for weights, the host's
// stack, or host work in an exported function before any launch.

module attributes {gpu.container_module} {
  gpu.module @jikji_kernels {
    gpu.func @fill(%out: memref<4xf32>) kernel {
      gpu.return
    }
  }

  // CHECK-LABEL: func.func @read_after_launch
  // CHECK:         %[[FIRST:.+]] = memref.load %{{.+}}[%c0]
  // CHECK-NEXT:    gpu.launch_func
  // CHECK-NEXT:    call @jikji_gpu_synchronize() : () -> ()
  // CHECK-NEXT:    memref.load
  func.func @read_after_launch(%buffer: memref<4xf32>) -> (f32, f32) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    // Exported: the runtime calls it with its stream idle.
    %first = memref.load %buffer[%c0] : memref<4xf32>
    gpu.launch_func @jikji_kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buffer : memref<4xf32>)
    %second = memref.load %buffer[%c0] : memref<4xf32>
    return %first, %second : f32, f32
  }

  // The host's stack and weights need no wait; one wait covers a loop.
  // CHECK-LABEL: func.func @loop_after_launch
  // CHECK:         gpu.launch_func
  // CHECK-NEXT:    memref.store %{{.+}}, %[[HOST:.+]][%c0]
  // CHECK-NEXT:    memref.load %{{.+}}[%c0] : memref<8xf32>
  // CHECK-NEXT:    call @jikji_gpu_synchronize() : () -> ()
  // CHECK-NEXT:    scf.for
  // CHECK-NOT:       jikji_gpu_synchronize
  // CHECK:         return
  func.func @loop_after_launch(%buffer: memref<4xf32>, %weight: memref<8xf32> {deepseek.param = "w"}) -> f32 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %zero = arith.constant 0.0 : f32
    %host = memref.alloca() : memref<1xf32>
    gpu.launch_func @jikji_kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buffer : memref<4xf32>)
    memref.store %zero, %host[%c0] : memref<1xf32>
    %w = memref.load %weight[%c0] : memref<8xf32>
    %sum = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %w) -> (f32) {
      %v = memref.load %buffer[%i] : memref<4xf32>
      %next = arith.addf %acc, %v : f32
      scf.yield %next : f32
    }
    return %sum : f32
  }

  // A block from the runtime's allocator is zeroed on the stream, and may
  // be one that earlier kernels still use: the host waits before touching
  // it, even with no launch between.
  // CHECK-LABEL: func.func @fresh_buffer
  // CHECK:         memref.alloc()
  // CHECK-NEXT:    call @jikji_gpu_synchronize() : () -> ()
  // CHECK-NEXT:    memref.store
  func.func @fresh_buffer(%value: f32) {
    %c0 = arith.constant 0 : index
    %fresh = memref.alloc() : memref<1xf32>
    memref.store %value, %fresh[%c0] : memref<1xf32>
    memref.dealloc %fresh : memref<1xf32>
    return
  }

  // A loop that launches: its body waits before reading, whatever the
  // iteration (the previous one launched too).
  // CHECK-LABEL: func.func @launch_in_loop
  // CHECK:         scf.for
  // CHECK-NEXT:      call @jikji_gpu_synchronize() : () -> ()
  // CHECK-NEXT:      memref.load
  // CHECK-NEXT:      gpu.launch_func
  // CHECK-NEXT:      arith.addf
  // CHECK-NEXT:      scf.yield
  func.func @launch_in_loop(%buffer: memref<4xf32>) -> f32 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %zero = arith.constant 0.0 : f32
    %sum = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> (f32) {
      %v = memref.load %buffer[%i] : memref<4xf32>
      gpu.launch_func @jikji_kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buffer : memref<4xf32>)
      %next = arith.addf %acc, %v : f32
      scf.yield %next : f32
    }
    return %sum : f32
  }

  // Host work in a function that puts nothing on the stream waits at its
  // call, and only if it touches what a kernel may use.
  func.func private @read_first(%values: memref<4xf32>) -> f32 {
    %c0 = arith.constant 0 : index
    %v = memref.load %values[%c0] : memref<4xf32>
    return %v : f32
  }
  // CHECK-LABEL: func.func private @read_first
  // CHECK-NOT:     jikji_gpu_synchronize
  // CHECK-LABEL: func.func @calls
  // CHECK:         gpu.launch_func
  // CHECK-NEXT:    call @read_first(%[[HOST2:.+]])
  // CHECK-NEXT:    call @jikji_gpu_synchronize() : () -> ()
  // CHECK-NEXT:    call @read_first(%arg0)
  func.func @calls(%buffer: memref<4xf32>) -> (f32, f32) {
    %c1 = arith.constant 1 : index
    %host = memref.alloca() : memref<4xf32>
    gpu.launch_func @jikji_kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buffer : memref<4xf32>)
    %a = call @read_first(%host) : (memref<4xf32>) -> f32
    %b = call @read_first(%buffer) : (memref<4xf32>) -> f32
    return %a, %b : f32, f32
  }

  // A private function that launches may be called right after a launch:
  // it waits before its first access.
  // CHECK-LABEL: func.func private @layer
  // CHECK-NEXT:    %[[C0:.+]] = arith.constant 0
  // CHECK-NEXT:    %[[C1:.+]] = arith.constant 1
  // CHECK-NEXT:    call @jikji_gpu_synchronize() : () -> ()
  // CHECK-NEXT:    memref.load
  func.func private @layer(%buffer: memref<4xf32>) -> f32 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %v = memref.load %buffer[%c0] : memref<4xf32>
    gpu.launch_func @jikji_kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buffer : memref<4xf32>)
    return %v : f32
  }
  // CHECK: func.func private @jikji_gpu_synchronize()
}
