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
