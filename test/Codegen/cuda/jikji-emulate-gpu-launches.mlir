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

// Tests that threads which meet at a barrier through workgroup memory run
// in lockstep: the memory becomes one host array, the ops before the
// barrier a loop over the threads and those after it another, and a value
// made before the barrier and used after it is kept per thread, in stack
// given back after the launch.
// CHECK-LABEL: func.func @barrier
// CHECK-SAME:    (%[[OUT:.+]]: memref<4xf32>, %[[IN:.+]]: memref<4xf32>)
// CHECK:         %[[STACK:.+]] = llvm.intr.stacksave
// CHECK-DAG:     %[[TILE:.+]] = memref.alloca() : memref<4xf32>
// CHECK-DAG:     %[[KEPT:.+]] = memref.alloca() : memref<4xindex>
// CHECK:         scf.for
// CHECK:           scf.for %[[T:.+]] = %{{.+}} to %c4{{.*}} step
// CHECK:             %[[V:.+]] = memref.load %[[IN]]
// CHECK:             memref.store %[[V]], %[[TILE]]
// CHECK:             %[[MIRROR:.+]] = arith.subi
// CHECK:             memref.store %[[MIRROR]], %[[KEPT]][%[[T]]]
// CHECK:           }
// CHECK:           scf.for %[[U:.+]] = %{{.+}} to %c4{{.*}} step
// CHECK:             %[[AT:.+]] = memref.load %[[KEPT]][%[[U]]]
// CHECK:             %[[W:.+]] = memref.load %[[TILE]][%[[AT]]]
// CHECK:             memref.store %[[W]], %[[OUT]]
// CHECK:         llvm.intr.stackrestore %[[STACK]]
// CHECK-NOT:     gpu.
func.func @barrier(%out: memref<4xf32>, %in: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c4, %b = %c1, %c = %c1)
             workgroup(%tile : memref<4xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %in[%tx] : memref<4xf32>
    memref.store %v, %tile[%tx] : memref<4xf32, #gpu.address_space<workgroup>>
    %mirror = arith.subi %c3, %tx : index
    gpu.barrier
    %w = memref.load %tile[%mirror] : memref<4xf32, #gpu.address_space<workgroup>>
    memref.store %w, %out[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// Tests that a loop around a barrier runs once for the block, its bounds
// computed outside the thread loops and its iteration argument kept per
// thread, copied in before the loop and back at the end of each iteration.
// CHECK-LABEL: func.func @loop_around_barrier
// CHECK-SAME:    (%[[OUT:.+]]: memref<8xf32>, %[[IN:.+]]: memref<?x8xf32>)
// CHECK-DAG:     %[[SUM:.+]] = memref.alloca() : memref<8xf32>
// CHECK-DAG:     %[[N:.+]] = memref.dim %[[IN]]
// CHECK:         scf.for %[[T:.+]] = %{{.+}} to %c8{{.*}} step
// CHECK-NEXT:      memref.store %{{.+}}, %[[SUM]][%[[T]]]
// CHECK:         scf.for %[[I:.+]] = %{{.+}} to %[[N]] step
// CHECK:           scf.for %[[U:.+]] = %{{.+}} to %c8{{.*}} step
// CHECK:             memref.load %[[SUM]][%[[U]]]
// CHECK:             memref.load %[[IN]][%[[I]],
// CHECK:           scf.for %[[V:.+]] = %{{.+}} to %c8{{.*}} step
// CHECK:             memref.store %{{.+}}, %[[SUM]][%[[V]]]
// CHECK:         scf.for %[[W:.+]] = %{{.+}} to %c8{{.*}} step
// CHECK:           %[[TOTAL:.+]] = memref.load %[[SUM]][%[[W]]]
// CHECK:           memref.store %[[TOTAL]], %[[OUT]]
func.func @loop_around_barrier(%out: memref<8xf32>, %in: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %in, %c0 : memref<?x8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c8, %b = %c1, %c = %c1) {
    %total = scf.for %i = %c0 to %n step %c1 iter_args(%sum = %zero) -> (f32) {
      %v = memref.load %in[%i, %tx] : memref<?x8xf32>
      %next = arith.addf %sum, %v : f32
      gpu.barrier
      scf.yield %next : f32
    }
    memref.store %total, %out[%tx] : memref<8xf32>
    gpu.terminator
  }
  return
}

// -----

// Tests that mma.sync runs warp by warp: the lanes' A and B fragments
// gathered into a 16 x 16 and a 16 x 8 array, each lane's four accumulators
// summed over K = 16 from them, and the results' fields read through
// llvm.extractvalue from per-thread arrays.
// CHECK-LABEL: func.func @mma
// CHECK-SAME:    (%[[OUT:.+]]: memref<32xf32>,
// CHECK-DAG:     %[[A:.+]] = memref.alloca() : memref<16x16xf32>
// CHECK-DAG:     %[[B:.+]] = memref.alloca() : memref<16x8xf32>
// CHECK:         scf.for %[[WARP:.+]] = %{{.+}} to %c1{{.*}} step
// CHECK:           scf.for %{{.+}} = %{{.+}} to %c32{{.*}} step
// CHECK-COUNT-8:     memref.store %{{.+}}, %[[A]]
// CHECK-COUNT-4:     memref.store %{{.+}}, %[[B]]
// CHECK:           scf.for %{{.+}} = %{{.+}} to %c32{{.*}} step
// CHECK:             scf.for %{{.+}} = %{{.+}} to %c16{{.*}} step %c1{{.*}} iter_args
// CHECK:               memref.load %[[A]]
// CHECK:               memref.load %[[B]]
// CHECK:             memref.store %{{.+}}, %[[D0:.+]][%{{.+}}] : memref<32xf32>
// CHECK:         scf.for %[[T:.+]] = %{{.+}} to %c32{{.*}} step
// CHECK:           %[[FIELD:.+]] = memref.load %[[D0]][%[[T]]]
// CHECK:           memref.store %[[FIELD]], %[[OUT]]
// CHECK-NOT:     nvvm.
// CHECK-NOT:     llvm.extractvalue
func.func @mma(%out: memref<32xf32>, %a: memref<32xi32>, %b: memref<32xi32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%s = %c32, %t = %c1, %u = %c1) {
    %pa = memref.load %a[%tx] : memref<32xi32>
    %pb = memref.load %b[%tx] : memref<32xi32>
    %d = nvvm.mma.sync A[%pa, %pa, %pa, %pa] B[%pb, %pb] C[%zero, %zero, %zero, %zero]
        {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
         multiplicandAPtxType = #nvvm.mma_type<bf16>,
         multiplicandBPtxType = #nvvm.mma_type<bf16>,
         shape = #nvvm.shape<m = 16, n = 8, k = 16>}
        : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
    %d0 = llvm.extractvalue %d[0] : !llvm.struct<(f32, f32, f32, f32)>
    memref.store %d0, %out[%tx] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

// Tests that an NVVM op the lockstep emulation does not model is refused.
func.func @warp_instruction(%out: memref<32xi32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  // expected-error@+1 {{'gpu.launch' op cannot be emulated on the host: 'nvvm.read.ptx.sreg.laneid', which the lockstep emulation does not model}}
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c32, %b = %c1, %c = %c1) {
    %lane = nvvm.read.ptx.sreg.laneid : i32
    memref.store %lane, %out[%tx] : memref<32xi32>
    gpu.terminator
  }
  return
}

// -----

// Tests that a barrier some threads might not reach is refused.
func.func @barrier_in_branch(%out: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  // expected-error@+1 {{'gpu.launch' op cannot be emulated on the host: 'gpu.barrier' inside 'scf.if'}}
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c4, %b = %c1, %c = %c1) {
    %low = arith.cmpi ult, %tx, %c2 : index
    scf.if %low {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

// Tests that a loop around a barrier whose bounds differ between threads
// is refused, naming the loop.
func.func @barrier_in_divergent_loop(%out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %c4, %b = %c1, %c = %c1) {
    // expected-error@+1 {{'scf.for' op holds a barrier or a warp instruction and has bounds that differ between threads}}
    scf.for %i = %c0 to %tx step %c1 {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

// Tests that a block of a size known only at run time cannot run in
// lockstep, which needs one array slot per thread.
func.func @dynamic_block(%out: memref<4xf32>, %threads: index) {
  %c1 = arith.constant 1 : index
  // expected-error@+1 {{'gpu.launch' op cannot be emulated on the host: a block size that is not a constant}}
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%a = %threads, %b = %c1, %c = %c1) {
    gpu.barrier
    gpu.terminator
  }
  return
}
