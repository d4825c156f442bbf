// RUN: lathe-opt %s | lathe-opt | FileCheck %s
// Every lathe_kernel op parses, verifies and prints back to the same form.

// CHECK-LABEL: func.func @kernels
func.func @kernels(%ids: tensor<?x?xi32>, %x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %t = lathe.param "t" : tensor<11x8xf32>
  %p = lathe.param "p" : tensor<16x8xf32>
  %w = lathe.param "w" : tensor<8xf32>
  %m = lathe.param "m" : tensor<8x8xf32>
  // CHECK: lathe_kernel.embedding %{{.*}}[%{{.*}}] {offset = 0 : i64} : tensor<11x8xf32>, tensor<?x?xi32> -> tensor<?x?x8xf32>
  %e = lathe_kernel.embedding %t[%ids] {offset = 0 : i64} : tensor<11x8xf32>, tensor<?x?xi32> -> tensor<?x?x8xf32>
  // CHECK: lathe_kernel.add_positions learned %{{.*}}, %{{.*}} : tensor<?x?x8xf32>, tensor<16x8xf32>
  %a = lathe_kernel.add_positions learned %e, %p : tensor<?x?x8xf32>, tensor<16x8xf32>
  // CHECK: lathe_kernel.add_positions sinusoidal %{{.*}} : tensor<?x?x8xf32>
  %s = lathe_kernel.add_positions sinusoidal %a : tensor<?x?x8xf32>
  // CHECK: lathe_kernel.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {eps = 9.99999974E-6 : f32}
  %ln = lathe_kernel.layer_norm %s, %w, %w {eps = 1.0e-5 : f32} : tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>
  // CHECK: lathe_kernel.layer_norm %{{.*}}, %{{.*}} {eps = 9.99999974E-6 : f32} : tensor<?x?x8xf32>, tensor<8xf32>{{$}}
  %ln2 = lathe_kernel.layer_norm %ln, %w {eps = 1.0e-5 : f32} : tensor<?x?x8xf32>, tensor<8xf32>
  // CHECK: lathe_kernel.rms_norm
  %rn = lathe_kernel.rms_norm %ln2, %w {eps = 1.0e-5 : f32} : tensor<?x?x8xf32>, tensor<8xf32>
  // CHECK: lathe_kernel.gemm %{{.*}}, %{{.*}} bias %{{.*}} residual %{{.*}} activation silu : tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %g = lathe_kernel.gemm %rn, %m bias %w residual %x activation silu : tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  // CHECK: lathe_kernel.view %{{.*}} : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %v = lathe_kernel.view %g : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  // CHECK: lathe_kernel.rope %{{.*}} {theta = 5.000000e+05 : f32} : tensor<?x?x2x4xf32>
  %r = lathe_kernel.rope %v {theta = 500000.0 : f32} : tensor<?x?x2x4xf32>
  // CHECK: lathe_kernel.attention {{.*}} {causal = false, scale = 2.500000e-01 : f32}
  %o = lathe_kernel.attention %r, %r, %r {causal = false, scale = 0.25 : f32} : tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32> -> tensor<?x?x2x4xf32>
  %of = lathe_kernel.view %o : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  // CHECK: lathe_kernel.unary gelu_tanh
  %u = lathe_kernel.unary gelu_tanh %of : tensor<?x?x8xf32>
  // CHECK: lathe_kernel.binary mul
  %b = lathe_kernel.binary mul %u, %x : tensor<?x?x8xf32>
  // CHECK: lathe_kernel.swiglu
  %sw = lathe_kernel.swiglu %b, %u : tensor<?x?x8xf32>
  return %sw : tensor<?x?x8xf32>
}

// CHECK-LABEL: func.func @dropout
// CHECK: lathe_kernel.dropout %arg0 rng %arg1 {p = 2.500000e-01 : f32, stream = 3 : i64} : tensor<?x?x8xf32>, tensor<2xi32>
func.func @dropout(%x: tensor<?x?x8xf32>, %rng: tensor<2xi32>) -> tensor<?x?x8xf32> {
  %y = lathe_kernel.dropout %x rng %rng {p = 0.25 : f32, stream = 3 : i64} : tensor<?x?x8xf32>, tensor<2xi32>
  return %y : tensor<?x?x8xf32>
}
