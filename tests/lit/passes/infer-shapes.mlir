// RUN: lathe-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(func.func(lathe-infer-shapes))' | FileCheck %s

// A well-formed function passes unchanged.
// CHECK-LABEL: func.func @valid
// CHECK: lathe.rms_norm {{.*}} : tensor<?x?x8xf32>, tensor<8xf32>
// CHECK: return {{.*}} : tensor<?x?x8xf32>
func.func @valid(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 3 : i64} {
  %w = lathe.param "w" : tensor<8xf32>
  %y = lathe.rms_norm %x, %w {eps = 1.0e-5 : f32} : tensor<?x?x8xf32>, tensor<8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// expected-error @+1 {{needs a positive integer attribute lathe.max_seq}}
func.func @no_bounds(%x: tensor<?x?x8xf32>) attributes {lathe.max_batch = 2 : i64} {
  return
}

// -----

// expected-error @+1 {{dimension 2 of 'tensor<?x?x?xf32>' is dynamic}}
func.func @inner_dynamic(%x: tensor<?x?x?xf32>) attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 3 : i64} {
  return
}
