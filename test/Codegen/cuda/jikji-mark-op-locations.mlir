// RUN: jikji-opt %s --jikji-mark-op-locations --mlir-print-debuginfo | FileCheck %s

// Tests that every DeepSeek op's location is wrapped in a NameLoc of its op
// name, around what it was; an op marked already, and ops of other
// dialects, keep theirs.

// CHECK-LABEL: func.func @norm
// CHECK:         deepseek.param {{.*}} loc(#[[PARAM:loc[0-9]+]])
// CHECK:         deepseek.rms_norm {{.*}} loc(#[[NORM:loc[0-9]+]])
// CHECK:         deepseek.rms_norm {{.*}} loc(#[[KEPT:loc[0-9]+]])
// CHECK:         return {{.*}} loc(#[[RETURN:loc[0-9]+]])
// CHECK-DAG:   #[[FILE:loc[0-9]+]] = loc("model.py":3:7)
// CHECK-DAG:   #[[PARAM]] = loc("deepseek.param"(#[[FILE]]))
// CHECK-DAG:   #[[NORM]] = loc("deepseek.rms_norm"(#[[FILE]]))
// CHECK-DAG:   #[[KEPT]] = loc("deepseek.rms_norm"(#[[OTHER:loc[0-9]+]]))
// CHECK-DAG:   #[[OTHER]] = loc("other.py":1:1)
// CHECK-DAG:   #[[RETURN]] = loc("model.py":9:1)
func.func @norm(%x: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %w = deepseek.param "model.norm.weight" : tensor<256xbf16> loc("model.py":3:7)
  %n = deepseek.rms_norm %x, %w eps 1.0e-06 : tensor<?x256xf32>, tensor<256xbf16> loc("model.py":3:7)
  %m = deepseek.rms_norm %n, %w eps 1.0e-06 : tensor<?x256xf32>, tensor<256xbf16> loc("deepseek.rms_norm"("other.py":1:1))
  return %m : tensor<?x256xf32> loc("model.py":9:1)
}
