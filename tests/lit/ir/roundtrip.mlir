// RUN: lathe-opt %s | lathe-opt | FileCheck %s
// Every lathe op parses, verifies and prints back to the same form.

// CHECK-LABEL: func.func @blocks
func.func @blocks(%ids: tensor<?x?xi32>) -> tensor<?x?x11xf32> attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 8 : i64} {
  // CHECK: lathe.param "embed.tokens" : tensor<11x8xf32>
  %table = lathe.param "embed.tokens" : tensor<11x8xf32>
  %pos = lathe.param "embed.positions" : tensor<8x8xf32>
  // CHECK: lathe.embedding %{{.*}}[%{{.*}}] : tensor<11x8xf32>, tensor<?x?xi32>
  %e = lathe.embedding %table[%ids] : tensor<11x8xf32>, tensor<?x?xi32>
  // CHECK: lathe.add_positions learned
  %x = lathe.add_positions learned %e, %pos : tensor<?x?x8xf32>, tensor<8x8xf32>
  // CHECK: lathe.add_positions sinusoidal
  %x2 = lathe.add_positions sinusoidal %x : tensor<?x?x8xf32>
  %w = lathe.param "n.weight" : tensor<8xf32>
  %b = lathe.param "n.bias" : tensor<8xf32>
  // CHECK: lathe.layer_norm {{.*}} {eps = {{.*}}}
  %ln = lathe.layer_norm %x2, %w, %b {eps = 1.0e-5 : f32} : tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>
  // CHECK: lathe.rms_norm
  %n = lathe.rms_norm %ln, %w {eps = 1.0e-6 : f32} : tensor<?x?x8xf32>, tensor<8xf32>
  %wq = lathe.param "q.weight" : tensor<8x8xf32>
  %wk = lathe.param "k.weight" : tensor<4x8xf32>
  // CHECK: lathe.linear {{.*}} : tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<8xf32>
  %q = lathe.linear %n, %wq, %b : tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<8xf32>
  // CHECK: lathe.linear {{.*}} : tensor<?x?x8xf32>, tensor<4x8xf32>{{$}}
  %k = lathe.linear %n, %wk : tensor<?x?x8xf32>, tensor<4x8xf32>
  // CHECK: lathe.reshape {{.*}} : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %qh = lathe.reshape %q : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %kh = lathe.reshape %k : tensor<?x?x4xf32> -> tensor<?x?x1x4xf32>
  // CHECK: lathe.rope {{.*}} {theta = 1.000000e+04 : f32}
  %qr = lathe.rope %qh {theta = 10000.0 : f32} : tensor<?x?x2x4xf32>
  // CHECK: lathe.attention {{.*}} {causal = true, scale = 5.000000e-01 : f32} : tensor<?x?x2x4xf32>, tensor<?x?x1x4xf32>, tensor<?x?x1x4xf32>
  %a = lathe.attention %qr, %kh, %kh {causal = true, scale = 0.5 : f32} : tensor<?x?x2x4xf32>, tensor<?x?x1x4xf32>, tensor<?x?x1x4xf32>
  %af = lathe.reshape %a : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  // CHECK: lathe.activation gelu
  %g = lathe.activation gelu %af : tensor<?x?x8xf32>
  // CHECK: lathe.activation gelu_tanh
  %gt = lathe.activation gelu_tanh %g : tensor<?x?x8xf32>
  // CHECK: lathe.activation relu
  %r = lathe.activation relu %gt : tensor<?x?x8xf32>
  // CHECK: lathe.add
  %s = lathe.add %r, %x : tensor<?x?x8xf32>
  // CHECK: lathe.mul
  %m = lathe.mul %s, %x : tensor<?x?x8xf32>
  // CHECK: lathe.swiglu
  %sw = lathe.swiglu %m, %s : tensor<?x?x8xf32>
  %logits = lathe.linear %sw, %table : tensor<?x?x8xf32>, tensor<11x8xf32>
  return %logits : tensor<?x?x11xf32>
}

// Dropout without rng (evaluation: the identity) and with rng [seed, step] (training).
// CHECK-LABEL: func.func @dropout
// CHECK: lathe.dropout %arg0 {p = 1.000000e-01 : f32, stream = 0 : i64} : tensor<?x?x8xf32>
// CHECK: lathe.dropout %{{.*}} rng %arg1 {p = 2.500000e-01 : f32, stream = 7 : i64} : tensor<?x?x8xf32>, tensor<2xi32>
func.func @dropout(%x: tensor<?x?x8xf32>, %rng: tensor<2xi32>) -> tensor<?x?x8xf32> {
  %a = lathe.dropout %x {p = 0.1 : f32, stream = 0 : i64} : tensor<?x?x8xf32>
  %b = lathe.dropout %a rng %rng {p = 0.25 : f32, stream = 7 : i64} : tensor<?x?x8xf32>, tensor<2xi32>
  return %b : tensor<?x?x8xf32>
}
