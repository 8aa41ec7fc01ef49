// RUN: jikji-opt %s --jikji-merge-gpu-modules | FileCheck %s

// Tests that kernels of several gpu.modules move into one, their launches
// retargeted, a name clash resolved by renaming, and a global cloned into
// two modules kept once.
// CHECK-LABEL: func.func @host
// CHECK:         gpu.launch_func @jikji_kernels::@kernel blocks
// CHECK:         gpu.launch_func @jikji_kernels::@[[RENAMED:kernel_.+]] blocks
// CHECK:       gpu.module @jikji_kernels {
// CHECK-COUNT-1: memref.global "private" constant @table
// CHECK:         gpu.func @kernel(
// CHECK:         gpu.func @[[RENAMED]](
// CHECK-NOT:   gpu.module
module attributes {gpu.container_module} {
  func.func @host(%n: index) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @first::@kernel blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @second::@kernel blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
  gpu.module @first {
    memref.global "private" constant @table : memref<2xf32> = dense<[1.0, 2.0]>
    gpu.func @kernel() kernel {
      %t = memref.get_global @table : memref<2xf32>
      gpu.return
    }
  }
  gpu.module @second {
    memref.global "private" constant @table : memref<2xf32> = dense<[1.0, 2.0]>
    gpu.func @kernel() kernel {
      %t = memref.get_global @table : memref<2xf32>
      gpu.return
    }
  }
}
