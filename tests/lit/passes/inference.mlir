// RUN: lathe-opt %s -lathe-kernel-pipeline | FileCheck %s
// A decode step: the cache write survives (it writes state) and, being in place
// on the state, gets no arena offset; attention reads the written cache.

// CHECK-LABEL: func.func @decode
// CHECK: %[[S:.*]] = lathe.state "k_cache"
// CHECK: %[[W:.*]] = lathe_kernel.cache_write %{{.*}} into %[[S]] at %arg1 :
// CHECK-NOT: offset
// CHECK-SAME: tensor<?x1x2x4xf32> into tensor<2x8x2x4xf32>, tensor<?xi32>
// CHECK: lathe_kernel.cached_attention %{{.*}}, %[[W]], %[[W]] at %arg1 {output = 0 : i64, scale
// CHECK-LABEL: func.func @prefill_only_writes
// CHECK: lathe_kernel.cache_write
// CHECK: lathe_kernel.gather_last %arg0, %arg1 {output = 0 : i64}
func.func @decode(%k: tensor<?x1x2x4xf32>, %pos: tensor<?xi32>) -> tensor<?x1x2x4xf32>
    attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 8 : i64} {
  %cache = lathe.state "k_cache" : tensor<2x8x2x4xf32>
  %c = lathe.cache_write %k into %cache at %pos : tensor<?x1x2x4xf32> into tensor<2x8x2x4xf32>, tensor<?xi32>
  %o = lathe.cached_attention %k, %c, %c at %pos {scale = 0.5 : f32}
      : tensor<?x1x2x4xf32>, tensor<2x8x2x4xf32>, tensor<2x8x2x4xf32>, tensor<?xi32>
  return %o : tensor<?x1x2x4xf32>
}

func.func @prefill_only_writes(%x: tensor<?x?x8xf32>, %lengths: tensor<?xi32>, %k: tensor<?x?x2x4xf32>) -> tensor<?x8xf32>
    attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 8 : i64} {
  %cache = lathe.state "k_cache" : tensor<2x8x2x4xf32>
  %c = lathe.cache_write %k into %cache : tensor<?x?x2x4xf32> into tensor<2x8x2x4xf32>
  %last = lathe.gather_last %x, %lengths : tensor<?x?x8xf32>, tensor<?xi32>
  return %last : tensor<?x8xf32>
}
