// RUN: jikji-opt %s --split-input-file --verify-diagnostics --pass-pipeline="builtin.module(gpu.module(jikji-convert-gpu-to-nvvm))" | FileCheck %s

// Tests that exp, sin, cos and rsqrt in a kernel become arithmetic and
// intrinsics NVPTX emits as instructions (fma, floor, sqrt), never calls
// into libdevice.
// CHECK-LABEL: llvm.func @math(%{{.+}}: f32, {{.*}}) attributes {gpu.kernel, nvvm.kernel}
// CHECK-DAG:       llvm.intr.fma
// CHECK-DAG:       llvm.intr.floor
// CHECK-DAG:       llvm.intr.sqrt
// CHECK-NOT:       llvm.call
// CHECK-NOT:       llvm.intr.exp
// CHECK-NOT:       math.
// CHECK:           llvm.return
gpu.module @kernels {
  gpu.func @math(%x: f32, %out: memref<4xf32>) kernel {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %e = math.exp %x : f32
    %s = math.sin %x : f32
    %c = math.cos %x : f32
    %r = math.rsqrt %x : f32
    memref.store %e, %out[%c0] : memref<4xf32>
    memref.store %s, %out[%c1] : memref<4xf32>
    memref.store %c, %out[%c2] : memref<4xf32>
    memref.store %r, %out[%c3] : memref<4xf32>
    gpu.return
  }
}

// -----

// Tests that a math op with neither an instruction nor an approximation is
// an error, not a libdevice call left for ptxas to reject.
gpu.module @kernels {
  gpu.func @power(%x: f32, %y: f32, %out: memref<1xf32>) kernel {
    %c0 = arith.constant 0 : index
    // expected-error@+1 {{calls '__nv_powf', which kernels cannot link (no libdevice)}}
    %p = math.powf %x, %y : f32
    memref.store %p, %out[%c0] : memref<1xf32>
    gpu.return
  }
}
