// RUN: jikji-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(jikji-map-parallel-loops-to-gpu),canonicalize)" | FileCheck %s
// RUN: not jikji-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(jikji-map-parallel-loops-to-gpu{threads-per-block=100}))" 2>&1 | FileCheck %s --check-prefix=BAD

// Tests that a [T, 8, 16] loop gives 16 threads to the innermost dimension,
// 8 to the next and the 2 left to the dynamic one (256 in all), and that
// both the block loop and the thread loop collapse to one dimension mapped
// to block_x and thread_x, with the remainder guarded.
// CHECK-LABEL: func.func @three_dims(
// CHECK-SAME:    %[[T:.+]]: index
// CHECK:         %[[TILES:.+]] = arith.ceildivui %[[T]], %c2
// CHECK:         scf.parallel (%[[BLOCK:.+]]) = (%c0) to (%[[TILES]]) step (%c1)
// CHECK:           scf.parallel (%[[THREAD:.+]]) = (%c0) to (%c256) step (%c1)
// CHECK:             scf.if
// CHECK:               memref.store
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
func.func @three_dims(%t: index, %out: memref<?x8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%t, %c8, %c16) step (%c1, %c1, %c1) {
    memref.store %zero, %out[%i, %j, %k] : memref<?x8x16xf32>
  }
  return
}

// BAD: threads-per-block must be a power of two in [1, 1024], found 100

// -----

// Tests that an scf.forall with no loop inside (a batched decode step's
// cache write: one element per slot and column, at the slot's position)
// becomes a parallel loop mapped like a linalg op's: 64 threads to the
// columns, 4 to the slots.
// CHECK-LABEL: func.func @elementwise_forall(
// CHECK-SAME:    %[[SLOTS:[a-z0-9]+]]: index
// CHECK-NOT:     scf.forall
// CHECK:         %[[TILES:.+]] = arith.ceildivui %[[SLOTS]], %c4
// CHECK:         scf.parallel (%{{.+}}) = (%c0) to (%[[TILES]]) step (%c1)
// CHECK:           scf.parallel (%{{.+}}) = (%c0) to (%c256) step (%c1)
// CHECK:             memref.load %{{.+}} : memref<?xi64>
// CHECK:             memref.store
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
func.func @elementwise_forall(%slots: index, %positions: memref<?xi64>,
                              %rows: memref<?x64xf32>,
                              %cache: memref<?x?x64xf32>) {
  scf.forall (%b, %c) in (%slots, 64) {
    %p = memref.load %positions[%b] : memref<?xi64>
    %row = arith.index_cast %p : i64 to index
    %v = memref.load %rows[%b, %c] : memref<?x64xf32>
    memref.store %v, %cache[%b, %row, %c] : memref<?x?x64xf32>
  }
  return
}

// -----

// Tests that an scf.forall holding a loop (a slot loop around whole
// kernels) stays on the host, and the parallel loop inside is mapped (its
// one block folded away by the canonicalization of this test).
// CHECK-LABEL: func.func @forall_around_loops(
// CHECK:         scf.forall (%{{.+}}) in (%{{.+}}) {
// CHECK:           scf.parallel (%{{.+}}) = (%c0) to (%c64) step (%c1)
// CHECK:             memref.store
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = thread_x
func.func @forall_around_loops(%slots: index, %out: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  scf.forall (%b) in (%slots) {
    scf.parallel (%c) = (%c0) to (%c64) step (%c1) {
      memref.store %zero, %out[%b, %c] : memref<?x64xf32>
    }
  }
  return
}
