// RUN: jikji-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(jikji-accumulate-in-registers))" | FileCheck %s

// Tests that a kernel's reduction loop (a product's K loop, as
// convert-linalg-to-parallel-loops writes it) carries its output element
// in a register: loaded once before the loop, stored once after it.
// CHECK-LABEL: func.func @product
// CHECK:         scf.parallel (%[[M:.+]], %[[N:.+]]) =
// CHECK-NEXT:      %[[INIT:.+]] = memref.load %[[Y:.+]][%[[M]], %[[N]]]
// CHECK-NEXT:      %[[SUM:.+]] = scf.for %[[K:.+]] = %{{.+}} iter_args(%[[ACC:.+]] = %[[INIT]]) -> (f32)
// CHECK-NEXT:        memref.load %{{.+}}[%[[M]], %[[K]]]
// CHECK-NEXT:        memref.load %{{.+}}[%[[N]], %[[K]]]
// CHECK-NEXT:        %[[PRODUCT:.+]] = arith.mulf
// CHECK-NEXT:        %[[NEXT:.+]] = arith.addf %[[ACC]], %[[PRODUCT]]
// CHECK-NEXT:        scf.yield %[[NEXT]]
// CHECK-NEXT:      }
// CHECK-NEXT:      memref.store %[[SUM]], %[[Y]][%[[M]], %[[N]]]
// CHECK-NEXT:      scf.reduce
func.func @product(%x: memref<4x8xf32>, %w: memref<6x8xf32>, %y: memref<4x6xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%m, %n) = (%c0, %c0) to (%c4, %c6) step (%c1, %c1) {
    scf.for %k = %c0 to %c8 step %c1 {
      %a = memref.load %x[%m, %k] : memref<4x8xf32>
      %b = memref.load %w[%n, %k] : memref<6x8xf32>
      %acc = memref.load %y[%m, %n] : memref<4x6xf32>
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %acc, %p : f32
      memref.store %s, %y[%m, %n] : memref<4x6xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Tests that a loop whose stored place changes with the iteration, that
// writes something else too, or that stores twice to one buffer, is left
// as written.
// CHECK-LABEL: func.func @not_accumulators
// CHECK:         scf.for %[[K:.+]] = {{.+}} {
// CHECK-NEXT:      memref.load %{{.+}}[%[[K]]]
// CHECK:           memref.store %{{.+}}, %{{.+}}[%[[K]]]
// CHECK:         scf.for %{{.+}} = {{.+}} {
// CHECK-NEXT:      %[[OLD:.+]] = memref.load %[[OUT:.+]][%{{.+}}]
// CHECK:           memref.store %{{.+}}, %[[OUT]]
// CHECK-NEXT:      memref.store %{{.+}}, %{{.+}}[%{{.+}}]
// CHECK:         scf.for %{{.+}} = {{.+}} {
// CHECK-NEXT:      memref.load %[[OUT]]
// CHECK:           memref.store %{{.+}}, %[[OUT]]
// CHECK-NEXT:      memref.store %{{.+}}, %[[OUT]]
func.func @not_accumulators(%in: memref<8xf32>, %out: memref<8xf32>, %other: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    scf.for %k = %c0 to %c8 step %c1 {
      %v = memref.load %out[%k] : memref<8xf32>
      %w = arith.addf %v, %one : f32
      memref.store %w, %out[%k] : memref<8xf32>
    }
    scf.for %k = %c0 to %c8 step %c1 {
      %v = memref.load %out[%i] : memref<8xf32>
      %w = arith.addf %v, %one : f32
      memref.store %w, %out[%i] : memref<8xf32>
      memref.store %w, %other[%k] : memref<8xf32>
    }
    scf.for %k = %c0 to %c8 step %c1 {
      %v = memref.load %out[%i] : memref<8xf32>
      %w = arith.addf %v, %one : f32
      memref.store %w, %out[%i] : memref<8xf32>
      memref.store %v, %out[%i] : memref<8xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Tests that host loops (outside any scf.parallel) are not touched.
// CHECK-LABEL: func.func @host_loop
// CHECK:         scf.for
// CHECK-NEXT:      memref.load
// CHECK-NEXT:      arith.addf
// CHECK-NEXT:      memref.store
func.func @host_loop(%out: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  scf.for %k = %c0 to %c8 step %c1 {
    %v = memref.load %out[%c0] : memref<1xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %out[%c0] : memref<1xf32>
  }
  return
}
