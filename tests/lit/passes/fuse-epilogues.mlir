// RUN: lathe-opt %s -pass-pipeline='builtin.module(func.func(lathe-fuse-epilogues))' | FileCheck %s

// bias + gelu + residual all land in the gemm's epilogue.
// CHECK-LABEL: func.func @mlp_epilogue
// CHECK-NEXT: lathe.param "w"
// CHECK-NEXT: lathe.param "b"
// CHECK-NEXT: %[[G:.*]] = lathe_kernel.gemm %arg0, %{{.*}} bias %{{.*}} residual %arg1 activation gelu
// CHECK-NEXT: return %[[G]]
func.func @mlp_epilogue(%x: tensor<?x?x8xf32>, %res: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %w = lathe.param "w" : tensor<4x8xf32>
  %b = lathe.param "b" : tensor<4xf32>
  %h = lathe_kernel.gemm %x, %w bias %b : tensor<?x?x8xf32>, tensor<4x8xf32>, tensor<4xf32> -> tensor<?x?x4xf32>
  %a = lathe_kernel.unary gelu %h : tensor<?x?x4xf32>
  %r = lathe_kernel.binary add %res, %a : tensor<?x?x4xf32>
  return %r : tensor<?x?x4xf32>
}

// A gemm result that is read twice keeps its own buffer: nothing fuses.
// CHECK-LABEL: func.func @shared_product
// CHECK: lathe_kernel.gemm %arg0, %{{.*}} :
// CHECK: lathe_kernel.unary silu
// CHECK: lathe_kernel.binary add
func.func @shared_product(%x: tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  %w = lathe.param "w" : tensor<8x8xf32>
  %h = lathe_kernel.gemm %x, %w : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %a = lathe_kernel.unary silu %h : tensor<?x?x8xf32>
  %r = lathe_kernel.binary add %x, %h : tensor<?x?x8xf32>
  return %a, %r : tensor<?x?x8xf32>, tensor<?x?x8xf32>
}

// mul is not a residual add.
// CHECK-LABEL: func.func @mul_stays
// CHECK: lathe_kernel.binary mul
func.func @mul_stays(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %w = lathe.param "w" : tensor<8x8xf32>
  %h = lathe_kernel.gemm %x, %w : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %r = lathe_kernel.binary mul %x, %h : tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}
