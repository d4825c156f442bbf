// RUN: lathe-opt %s -split-input-file -verify-diagnostics

func.func @linear_features(%x: tensor<?x?x8xf32>) {
  %w = lathe.param "w" : tensor<4x6xf32>
  // expected-error @+1 {{input has 8 features but the weight expects 6}}
  %y = lathe.linear %x, %w : tensor<?x?x8xf32>, tensor<4x6xf32>
  return
}

// -----

func.func @norm_weight(%x: tensor<?x?x8xf32>) {
  %w = lathe.param "w" : tensor<6xf32>
  // expected-error @+1 {{weight must have shape (8)}}
  %y = lathe.rms_norm %x, %w {eps = 1.0e-5 : f32} : tensor<?x?x8xf32>, tensor<6xf32>
  return
}

// -----

func.func @norm_eps(%x: tensor<?x?x8xf32>) {
  %w = lathe.param "w" : tensor<8xf32>
  // expected-error @+1 {{eps must be positive}}
  %y = lathe.rms_norm %x, %w {eps = 0.0 : f32} : tensor<?x?x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @gqa_heads(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x3x8xf32>) {
  // expected-error @+1 {{query heads (4) must be a multiple of kv heads (3)}}
  %a = lathe.attention %q, %k, %k {causal = true, scale = 1.0 : f32} : tensor<?x?x4x8xf32>, tensor<?x?x3x8xf32>, tensor<?x?x3x8xf32>
  return
}

// -----

func.func @rope_odd(%x: tensor<?x?x2x5xf32>) {
  // expected-error @+1 {{head dimension must be even, got 5}}
  %y = lathe.rope %x {theta = 10000.0 : f32} : tensor<?x?x2x5xf32>
  return
}

// -----

func.func @reshape_prefix(%x: tensor<?x?x8xf32>) {
  // expected-error @+1 {{must keep the leading (B, T) dimensions}}
  %y = lathe.reshape %x : tensor<?x?x8xf32> -> tensor<?x2x4xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<?x?x8xf32>) {
  // expected-error @+1 {{element counts differ}}
  %y = lathe.reshape %x : tensor<?x?x8xf32> -> tensor<?x?x3x3xf32>
  return
}

// -----

func.func @positions_table(%x: tensor<?x?x8xf32>) {
  // expected-error @+1 {{learned positions need a table}}
  %y = lathe.add_positions learned %x : tensor<?x?x8xf32>
  return
}

// -----

func.func @positions_width(%x: tensor<?x?x8xf32>) {
  %p = lathe.param "p" : tensor<16x6xf32>
  // expected-error @+1 {{position table must be (P, 8)}}
  %y = lathe.add_positions learned %x, %p : tensor<?x?x8xf32>, tensor<16x6xf32>
  return
}

// -----

func.func @param_dynamic() {
  // expected-error @+1 {{weights must have a static shape}}
  %w = lathe.param "w" : tensor<?x8xf32>
  return
}

// -----

func.func @embedding_rank(%ids: tensor<?xi32>) {
  %t = lathe.param "t" : tensor<11x8xf32>
  // expected-error @+1 {{embedding ids must be (B, T)}}
  %e = lathe.embedding %t[%ids] : tensor<11x8xf32>, tensor<?xi32>
  return
}

// -----

func.func @gemm_k(%x: tensor<?x?x8xf32>) {
  %w = lathe.param "w" : tensor<4x6xf32>
  // expected-error @+1 {{contraction sizes differ: A has K=8, B has K=6}}
  %y = lathe_kernel.gemm %x, %w : tensor<?x?x8xf32>, tensor<4x6xf32> -> tensor<?x?x4xf32>
  return
}

// -----

func.func @parameter_without_weight() {
  // expected-error @+1 {{a parameter state needs an initial_weight}}
  %0 = lathe.state "param.w" {kind = #lathe<state_kind parameter>} : tensor<4xf32>
  return
}

// -----

func.func @accumulate_into_cache(%g: tensor<4xf32>) {
  %0 = lathe.state "cache" : tensor<4xf32>
  // expected-error @+1 {{must accumulate into a gradient lathe.state}}
  %1 = lathe.accumulate %g into %0 : tensor<4xf32>
  return
}

// -----

func.func @cross_entropy_stats(%l: tensor<?x?x11xf32>, %t: tensor<?x?xi32>) {
  // expected-error @+1 {{token_stats must be 'tensor<?x?x2xf32>'}}
  %loss, %stats = lathe_kernel.cross_entropy %l, %t {ignore_index = -100 : i64} : tensor<?x?x11xf32>, tensor<?x?xi32> -> tensor<1xf32>, tensor<?x?x3xf32>
  return
}

// -----

func.func @weight_grad_shape(%dy: tensor<?x?x8xf32>, %x: tensor<?x?x4xf32>) {
  %acc = lathe.state "grad.w" {kind = #lathe<state_kind gradient>} : tensor<8x5xf32>
  // expected-error @+1 {{expects (..., N) x (..., K) for an (N, K) weight}}
  %0 = lathe_kernel.linear_grad_weight %dy, %x into %acc : tensor<?x?x8xf32>, tensor<?x?x4xf32> into tensor<8x5xf32>
  return
}

// -----

func.func @adamw_hyper(%h: tensor<7xf32>, %n: tensor<1xf32>) {
  %p = lathe.state "param.w" {kind = #lathe<state_kind parameter>, initial_weight = "w"} : tensor<4xf32>
  %g = lathe.state "grad.w" {kind = #lathe<state_kind gradient>} : tensor<4xf32>
  // expected-error @+1 {{hyper must be a (8) vector}}
  %0 = lathe_kernel.adamw %p, %g, %g, %g hyper %h norm %n {decay = false} : tensor<4xf32>, tensor<7xf32>, tensor<1xf32>
  return
}

// -----

func.func @dropout_probability(%x: tensor<?x?x8xf32>) {
  // expected-error @+1 {{p must be in [0, 1), got 1}}
  %y = lathe.dropout %x {p = 1.0 : f32, stream = 0 : i64} : tensor<?x?x8xf32>
  return
}

// -----

func.func @dropout_rng_shape(%x: tensor<?x?x8xf32>, %rng: tensor<3xi32>) {
  // expected-error @+1 {{rng must be a (2) i32 tensor [seed, step], got 'tensor<3xi32>'}}
  %y = lathe.dropout %x rng %rng {p = 0.5 : f32, stream = 0 : i64} : tensor<?x?x8xf32>, tensor<3xi32>
  return
}

// -----

func.func @dropout_stream(%x: tensor<?x?x8xf32>) {
  // expected-error @+1 {{stream must be >= 0, got -1}}
  %y = lathe.dropout %x {p = 0.5 : f32, stream = -1 : i64} : tensor<?x?x8xf32>
  return
}
