// RUN: jikji-opt %s --pass-pipeline="builtin.module(func.func(jikji-check-parallel-loops-mapped))" --verify-diagnostics

// Tests that a parallel loop left outside any launch is an error rather
// than a host loop over device memory.
func.func @unmapped(%out: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  // expected-error@+1 {{was not mapped to a GPU kernel and would run on the host}}
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %zero, %out[%i] : memref<?xf32>
  }
  return
}
