// RUN: jikji-opt %s --pass-pipeline="builtin.module(func.func(jikji-sink-globals-into-launches))" | FileCheck %s

// Tests that a constant table read inside a launch is read from inside it,
// so that outlining copies the global to the device instead of passing a
// host pointer.
memref.global "private" constant @table : memref<2xf32> = dense<[1.0, 2.0]>
// CHECK-LABEL: func.func @host
// CHECK:         gpu.launch
// CHECK-NEXT:      %[[TABLE:.+]] = memref.get_global @table
// CHECK:           memref.load %[[TABLE]]
func.func @host(%out: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %table = memref.get_global @table : memref<2xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c1, %b = %c1, %c = %c1) {
    %v = memref.load %table[%c0] : memref<2xf32>
    memref.store %v, %out[%c0] : memref<1xf32>
    gpu.terminator
  }
  return
}
