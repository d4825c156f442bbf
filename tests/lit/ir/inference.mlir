// RUN: lathe-opt %s -split-input-file -verify-diagnostics | FileCheck %s
// The KV-cache ops parse, verify and print back; bad shapes are rejected.

// CHECK-LABEL: func.func @decode_layer
// CHECK: lathe.state "k_cache" : tensor<2x8x2x4xf32>
// CHECK: lathe.rope %{{.*}} at %arg2 {theta = 1.000000e+04 : f32} : tensor<?x1x4x4xf32>, tensor<?xi32>
// CHECK: lathe.cache_write %{{.*}} into %{{.*}} at %arg2 : tensor<?x1x2x4xf32> into tensor<2x8x2x4xf32>, tensor<?xi32>
// CHECK: lathe.cached_attention %{{.*}}, %{{.*}}, %{{.*}} at %arg2 {scale = 5.000000e-01 : f32}
// CHECK: lathe.add_positions sinusoidal %{{.*}} at %arg2 : tensor<?x1x16xf32> at tensor<?xi32>
// CHECK: lathe.gather_last %{{.*}} : tensor<?x1x16xf32>
func.func @decode_layer(%q: tensor<?x1x4x4xf32>, %k: tensor<?x1x2x4xf32>, %pos: tensor<?xi32>, %x: tensor<?x1x16xf32>)
    -> (tensor<?x1x4x4xf32>, tensor<?x16xf32>) attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 8 : i64} {
  %cache = lathe.state "k_cache" : tensor<2x8x2x4xf32>
  %qr = lathe.rope %q at %pos {theta = 10000.0 : f32} : tensor<?x1x4x4xf32>, tensor<?xi32>
  %c = lathe.cache_write %k into %cache at %pos : tensor<?x1x2x4xf32> into tensor<2x8x2x4xf32>, tensor<?xi32>
  %o = lathe.cached_attention %qr, %c, %c at %pos {scale = 0.5 : f32}
      : tensor<?x1x4x4xf32>, tensor<2x8x2x4xf32>, tensor<2x8x2x4xf32>, tensor<?xi32>
  %h = lathe.add_positions sinusoidal %x at %pos : tensor<?x1x16xf32> at tensor<?xi32>
  %last = lathe.gather_last %h : tensor<?x1x16xf32>
  return %o, %last : tensor<?x1x4x4xf32>, tensor<?x16xf32>
}

// -----

func.func @cache_heads(%k: tensor<?x?x3x4xf32>) {
  %cache = lathe.state "k" : tensor<2x8x2x4xf32>
  // expected-error @+1 {{value heads and head dim}}
  %c = lathe.cache_write %k into %cache : tensor<?x?x3x4xf32> into tensor<2x8x2x4xf32>
  return
}

// -----

func.func @cache_too_short(%k: tensor<?x9x2x4xf32>) {
  %cache = lathe.state "k" : tensor<2x8x2x4xf32>
  // expected-error @+1 {{value length 9 exceeds the cache's 8}}
  %c = lathe.cache_write %k into %cache : tensor<?x9x2x4xf32> into tensor<2x8x2x4xf32>
  return
}

// -----

func.func @state_dynamic() {
  // expected-error @+1 {{state must have a static shape}}
  %s = lathe.state "k" : tensor<?x8x2x4xf32>
  return
}

// -----

func.func @cached_attention_groups(%q: tensor<?x1x3x4xf32>, %pos: tensor<?xi32>) {
  %cache = lathe.state "k" : tensor<2x8x2x4xf32>
  // expected-error @+1 {{query heads (3) must be a multiple of kv heads (2)}}
  %o = lathe.cached_attention %q, %cache, %cache at %pos {scale = 0.5 : f32}
      : tensor<?x1x3x4xf32>, tensor<2x8x2x4xf32>, tensor<2x8x2x4xf32>, tensor<?xi32>
  return
}

// -----

func.func @offsets_rank(%x: tensor<?x?x2x4xf32>, %pos: tensor<?x?xi32>) {
  // expected-error @+1 {{offsets must be a (B) vector}}
  %y = lathe.rope %x at %pos {theta = 10000.0 : f32} : tensor<?x?x2x4xf32>, tensor<?x?xi32>
  return
}
