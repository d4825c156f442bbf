// RUN: lathe-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(func.func(lathe-plan-memory))' | FileCheck %s

// Buffers are (B=2, T=4, 8 f32) = 256 bytes. Lifetimes are inclusive, so
// %c cannot take the buffers of its operands, but %d reuses %a's once %a is
// dead; the returned value goes to output 0 instead of the arena.
// CHECK-LABEL: func.func @reuse
// CHECK-SAME: lathe_kernel.arena_bytes = 768
// CHECK: %[[A:.*]] = lathe_kernel.unary relu %arg0 {offset = [[OA:[0-9]+]] : i64}
// CHECK: %[[B:.*]] = lathe_kernel.unary gelu %[[A]] {offset = [[OB:[0-9]+]] : i64}
// CHECK: %[[C:.*]] = lathe_kernel.binary add %[[A]], %[[B]] {offset = 512 : i64}
// CHECK: lathe_kernel.unary silu %[[C]] {offset = [[OA]] : i64}
// CHECK: lathe_kernel.unary relu {{.*}} {output = 0 : i64}
func.func @reuse(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 4 : i64} {
  %a = lathe_kernel.unary relu %x : tensor<?x?x8xf32>
  %b = lathe_kernel.unary gelu %a : tensor<?x?x8xf32>
  %c = lathe_kernel.binary add %a, %b : tensor<?x?x8xf32>
  %d = lathe_kernel.unary silu %c : tensor<?x?x8xf32>
  %e = lathe_kernel.unary relu %d : tensor<?x?x8xf32>
  return %e : tensor<?x?x8xf32>
}

// -----

// Views and in-place kernels share their source's buffer.
// CHECK-LABEL: func.func @aliases
// CHECK: lathe_kernel.unary relu %arg0 {offset = 0 : i64}
// CHECK: lathe_kernel.view
// CHECK-NOT: offset
// CHECK: lathe_kernel.rope
// CHECK-NOT: offset =
// CHECK: lathe_kernel.attention {{.*}}output = 0
func.func @aliases(%x: tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32> attributes {lathe.max_batch = 1 : i64, lathe.max_seq = 4 : i64} {
  %a = lathe_kernel.unary relu %x : tensor<?x?x8xf32>
  %v = lathe_kernel.view %a : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %r = lathe_kernel.rope %v {theta = 10000.0 : f32} : tensor<?x?x2x4xf32>
  %o = lathe_kernel.attention %r, %r, %r {causal = true, scale = 0.5 : f32} : tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32> -> tensor<?x?x2x4xf32>
  return %o : tensor<?x?x2x4xf32>
}

// -----

func.func @clobber(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> attributes {lathe.max_batch = 1 : i64, lathe.max_seq = 4 : i64} {
  %a = lathe_kernel.unary relu %x : tensor<?x?x8xf32>
  %v = lathe_kernel.view %a : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  // expected-error @+1 {{overwrites a value that is still read later by lathe_kernel.binary}}
  %r = lathe_kernel.rope %v {theta = 10000.0 : f32} : tensor<?x?x2x4xf32>
  %s = lathe_kernel.binary add %a, %a : tensor<?x?x8xf32>
  return %s : tensor<?x?x8xf32>
}
