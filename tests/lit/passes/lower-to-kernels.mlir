// RUN: lathe-opt %s -pass-pipeline='builtin.module(func.func(lathe-lower-to-kernels))' | FileCheck %s

// CHECK-LABEL: func.func @block
func.func @block(%ids: tensor<?x?xi32>) -> tensor<?x?x8xf32> attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 8 : i64} {
  // CHECK: lathe.param "t"
  %t = lathe.param "t" : tensor<11x8xf32>
  %w = lathe.param "w" : tensor<8xf32>
  %wq = lathe.param "q" : tensor<8x8xf32>
  // CHECK: lathe_kernel.embedding
  %e = lathe.embedding %t[%ids] : tensor<11x8xf32>, tensor<?x?xi32>
  // CHECK: lathe_kernel.add_positions sinusoidal
  %x = lathe.add_positions sinusoidal %e : tensor<?x?x8xf32>
  // CHECK: lathe_kernel.layer_norm {{.*}}, {{.*}}, {{.*}} {eps
  %ln = lathe.layer_norm %x, %w, %w {eps = 1.0e-5 : f32} : tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>
  // CHECK: lathe_kernel.rms_norm
  %n = lathe.rms_norm %ln, %w {eps = 1.0e-5 : f32} : tensor<?x?x8xf32>, tensor<8xf32>
  // CHECK: lathe_kernel.gemm {{.*}} bias
  %q = lathe.linear %n, %wq, %w : tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<8xf32>
  // CHECK: lathe_kernel.view {{.*}} -> tensor<?x?x2x4xf32>
  %qh = lathe.reshape %q : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  // CHECK: lathe_kernel.rope
  %qr = lathe.rope %qh {theta = 10000.0 : f32} : tensor<?x?x2x4xf32>
  // CHECK: lathe_kernel.attention
  %a = lathe.attention %qr, %qr, %qr {causal = true, scale = 0.5 : f32} : tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>
  %af = lathe.reshape %a : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  // CHECK: lathe_kernel.unary relu
  %r = lathe.activation relu %af : tensor<?x?x8xf32>
  // CHECK: lathe_kernel.binary add
  %s = lathe.add %r, %x : tensor<?x?x8xf32>
  // CHECK: lathe_kernel.binary mul
  %m = lathe.mul %s, %x : tensor<?x?x8xf32>
  // CHECK: lathe_kernel.swiglu
  %sw = lathe.swiglu %m, %s : tensor<?x?x8xf32>
  // CHECK-NOT: lathe.{{[a-z_]+}} %
  return %sw : tensor<?x?x8xf32>
}
