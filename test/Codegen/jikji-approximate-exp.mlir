// RUN: jikji-opt %s --split-input-file --jikji-approximate-exp | FileCheck %s

// Tests that float32 exp, scalar or vector, becomes arithmetic: n = the
// clamped input times log2(e), rounded down; the reduced argument's
// polynomial; 2^n built from its exponent bits. No math.exp is left.
// CHECK-LABEL: func.func @float32
// CHECK-SAME: (%[[X:.+]]: f32, %[[V:.+]]: vector<16xf32>)
// CHECK-NOT: math.exp
// CHECK-DAG: %[[LOG2E:.+]] = arith.constant 1.44269502 : f32
// CHECK-DAG: %[[LOW:.+]] = arith.constant -8.780000e+01 : f32
// CHECK: %[[ABOVE:.+]] = arith.cmpf uge, %[[X]], %[[LOW]] : f32
// CHECK: %[[CLAMPED:.+]] = arith.select %[[ABOVE]], %[[X]], %[[LOW]]
// CHECK: math.fma %{{.+}}, %[[LOG2E]], %{{.+}} : f32
// CHECK: math.floor %{{.+}} : f32
// CHECK: %[[BITS:.+]] = arith.shli %{{.+}}, %{{.+}} : i32
// CHECK: arith.bitcast %[[BITS]] : i32 to f32
// CHECK: math.floor %{{.+}} : vector<16xf32>
// CHECK: arith.bitcast %{{.+}} : vector<16xi32> to vector<16xf32>
// CHECK-NOT: math.exp
// CHECK: return
func.func @float32(%x: f32, %v: vector<16xf32>) -> (f32, vector<16xf32>) {
  %0 = math.exp %x : f32
  %1 = math.exp %v : vector<16xf32>
  return %0, %1 : f32, vector<16xf32>
}

// -----

// Tests that exp of other types and the other math ops stay as they are:
// RoPE's sine and cosine take large arguments, where the polynomials'
// range reduction would lose accuracy.
// CHECK-LABEL: func.func @left_alone
// CHECK: math.exp %{{.+}} : f64
// CHECK: math.exp %{{.+}} : f16
// CHECK: math.sin %{{.+}} : f32
// CHECK: math.cos %{{.+}} : f32
// CHECK: math.rsqrt %{{.+}} : f32
func.func @left_alone(%d: f64, %h: f16, %x: f32) -> (f64, f16, f32, f32, f32) {
  %0 = math.exp %d : f64
  %1 = math.exp %h : f16
  %2 = math.sin %x : f32
  %3 = math.cos %x : f32
  %4 = math.rsqrt %x : f32
  return %0, %1, %2, %3, %4 : f64, f16, f32, f32, f32
}
