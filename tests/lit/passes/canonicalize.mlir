// RUN: lathe-opt %s -canonicalize | FileCheck %s

// mul(silu(gate), up) becomes one swiglu.
// CHECK-LABEL: func.func @swiglu
// CHECK-NEXT: %[[R:.*]] = lathe.swiglu %arg0, %arg1
// CHECK-NEXT: return %[[R]]
func.func @swiglu(%gate: tensor<?x?x8xf32>, %up: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %s = lathe.activation silu %gate : tensor<?x?x8xf32>
  %m = lathe.mul %up, %s : tensor<?x?x8xf32>
  return %m : tensor<?x?x8xf32>
}

// A silu that is also read elsewhere stays.
// CHECK-LABEL: func.func @silu_shared
// CHECK: lathe.activation silu
// CHECK: lathe.mul
func.func @silu_shared(%gate: tensor<?x?x8xf32>, %up: tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  %s = lathe.activation silu %gate : tensor<?x?x8xf32>
  %m = lathe.mul %s, %up : tensor<?x?x8xf32>
  return %m, %s : tensor<?x?x8xf32>, tensor<?x?x8xf32>
}

// Reshape chains collapse; identity reshapes vanish.
// CHECK-LABEL: func.func @reshapes
// CHECK-NEXT: return %arg0
func.func @reshapes(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %a = lathe.reshape %x : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %b = lathe.reshape %a : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  return %b : tensor<?x?x8xf32>
}
