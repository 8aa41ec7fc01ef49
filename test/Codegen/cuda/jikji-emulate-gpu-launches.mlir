// RUN: jikji-opt %s --split-input-file --verify-diagnostics --pass-pipeline="builtin.module(func.func(jikji-emulate-gpu-launches))" | FileCheck %s

// Tests that a launch becomes loops over its blocks, then its threads (z,
// y, x, outermost first), with the body inside and the ids and sizes,
// whether block arguments or gpu ops, replaced by the loops' values.
// CHECK-LABEL: func.func @launch
// CHECK-SAME:    (%[[OUT:.+]]: memref<?xindex>, %[[GRID:.+]]: index)
// CHECK-DAG:     %[[C4:.+]] = arith.constant 4 : index
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK:         scf.for %{{.+}} = %[[C0]] to %c1 step
// CHECK-NEXT:      scf.for %{{.+}} = %[[C0]] to %c1 step
// CHECK-NEXT:        scf.for %[[BX:.+]] = %[[C0]] to %[[GRID]] step
// CHECK-NEXT:          scf.for %{{.+}} = %[[C0]] to %c1 step
// CHECK-NEXT:            scf.for %{{.+}} = %[[C0]] to %c1 step
// CHECK-NEXT:              scf.for %[[TX:.+]] = %[[C0]] to %[[C4]] step
// CHECK-NEXT:                %[[ROW:.+]] = arith.muli %[[BX]], %[[C4]]
// CHECK-NEXT:                %[[AT:.+]] = arith.addi %[[ROW]], %[[TX]]
// CHECK-NEXT:                %[[WIDE:.+]] = arith.muli %[[GRID]], %[[C4]]
// CHECK-NEXT:                memref.store %[[WIDE]], %[[OUT]][%[[AT]]]
// CHECK-NOT:     gpu.
func.func @launch(%out: memref<?xindex>, %grid: index) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%x = %grid, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c4, %b = %c1, %c = %c1) {
    %width = gpu.block_dim x
    %row = arith.muli %bx, %width : index
    %thread = gpu.thread_id x
    %at = arith.addi %row, %thread : index
    %blocks = gpu.grid_dim x
    %wide = arith.muli %blocks, %a : index
    memref.store %wide, %out[%at] : memref<?xindex>
    gpu.terminator
  }
  return
}

// -----

// Tests that threads which wait for each other are refused, naming the op.
func.func @barrier(%out: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // expected-error@+1 {{'gpu.launch' op cannot be emulated on the host: 'gpu.barrier', which needs the threads to run together}}
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c4, %b = %c1, %c = %c1) {
    gpu.barrier
    gpu.terminator
  }
  return
}

// -----

// Tests that a tensor-core (NVVM) kernel is refused.
func.func @warp_instruction(%out: memref<32xi32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  // expected-error@+1 {{'gpu.launch' op cannot be emulated on the host: 'nvvm.read.ptx.sreg.laneid', which needs the threads to run together}}
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c32, %b = %c1, %c = %c1) {
    %lane = nvvm.read.ptx.sreg.laneid : i32
    memref.store %lane, %out[%tx] : memref<32xi32>
    gpu.terminator
  }
  return
}

// -----

// Tests that workgroup memory, which the threads of a block share, is
// refused.
func.func @workgroup_memory(%out: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // expected-error@+1 {{'gpu.launch' op cannot be emulated on the host: a launch with workgroup or private memory}}
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c4, %b = %c1, %c = %c1)
             workgroup(%tile : memref<4xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %tile[%tx] : memref<4xf32, #gpu.address_space<workgroup>>
    memref.store %v, %out[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}
