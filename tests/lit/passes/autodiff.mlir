// RUN: lathe-opt %s -split-input-file -verify-diagnostics --lathe-autodiff | FileCheck %s

// Every gradient rule, on one small model. The forward stays as it was.
// CHECK-LABEL: func.func @forward
// CHECK-NOT: _grad
// CHECK-LABEL: func.func @gradients
// CHECK-SAME: %arg1: tensor<?x?xi32> {lathe.name = "targets"}
// CHECK-SAME: tensor<1xf32> {lathe.name = "loss"}
// CHECK-SAME: tensor<11x8xf32> {lathe.name = "grad.tok"}
// CHECK-SAME: tensor<16x8xf32> {lathe.name = "grad.pos"}
// CHECK-SAME: tensor<8xf32> {lathe.name = "grad.g"}
// CHECK-SAME: tensor<8xf32> {lathe.name = "grad.b"}
// CHECK-SAME: tensor<8x8xf32> {lathe.name = "grad.wq"}
// CHECK-SAME: tensor<4x8xf32> {lathe.name = "grad.wk"}
// CHECK:      %[[LOSS:.*]] = lathe.cross_entropy %[[LOGITS:.*]], %arg1 {ignore_index = -100 : i64}
// CHECK:      %[[DL:.*]] = lathe.cross_entropy_grad %[[LOGITS]], %arg1
// CHECK:      lathe.linear_grad_input %[[DL]], %{{.*}} : tensor<?x?x11xf32>, tensor<11x8xf32> -> tensor<?x?x8xf32>
// CHECK:      lathe.linear_grad_weight %[[DL]]
// CHECK:      lathe.swiglu_grad
// CHECK:      lathe.mul
// CHECK:      lathe.mul
// CHECK:      lathe.activation_grad gelu_tanh
// CHECK:      lathe.reshape {{.*}} : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
// CHECK:      lathe.attention_grad {{.*}} {causal = true, scale = 5.000000e-01 : f32} : tensor<?x?x2x4xf32>, tensor<?x?x1x4xf32>
// CHECK:      lathe.rope_grad {{.*}} {theta = 1.000000e+04 : f32} : tensor<?x?x1x4xf32>
// CHECK:      lathe.rope_grad {{.*}} : tensor<?x?x2x4xf32>
// CHECK:      lathe.bias_grad {{.*}} -> tensor<8xf32>
// CHECK:      lathe.rms_norm_grad
// CHECK:      lathe.layer_norm_grad
// CHECK:      lathe.positions_grad {{.*}} -> tensor<16x8xf32>
// CHECK:      lathe.embedding_grad {{.*}} -> tensor<11x8xf32>
// Tied embeddings: the lm head's and the embedding's gradients are summed.
// CHECK:      lathe.add {{.*}} : tensor<11x8xf32>
// CHECK:      return %[[LOSS]]
func.func @forward(%ids: tensor<?x?xi32>) -> tensor<?x?x11xf32> attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 8 : i64} {
  %tok = lathe.param "tok" : tensor<11x8xf32>
  %pos = lathe.param "pos" : tensor<16x8xf32>
  %g = lathe.param "g" : tensor<8xf32>
  %b = lathe.param "b" : tensor<8xf32>
  %wq = lathe.param "wq" : tensor<8x8xf32>
  %wk = lathe.param "wk" : tensor<4x8xf32>
  %e = lathe.embedding %tok[%ids] : tensor<11x8xf32>, tensor<?x?xi32>
  %x = lathe.add_positions learned %e, %pos : tensor<?x?x8xf32>, tensor<16x8xf32>
  %ln = lathe.layer_norm %x, %g, %b {eps = 1.0e-5 : f32} : tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>
  %n = lathe.rms_norm %ln, %g {eps = 1.0e-5 : f32} : tensor<?x?x8xf32>, tensor<8xf32>
  %q = lathe.linear %n, %wq, %b : tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<8xf32>
  %k = lathe.linear %n, %wk : tensor<?x?x8xf32>, tensor<4x8xf32>
  %qh = lathe.reshape %q : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %kh = lathe.reshape %k : tensor<?x?x4xf32> -> tensor<?x?x1x4xf32>
  %qr = lathe.rope %qh {theta = 10000.0 : f32} : tensor<?x?x2x4xf32>
  %kr = lathe.rope %kh {theta = 10000.0 : f32} : tensor<?x?x1x4xf32>
  %a = lathe.attention %qr, %kr, %kh {causal = true, scale = 0.5 : f32} : tensor<?x?x2x4xf32>, tensor<?x?x1x4xf32>, tensor<?x?x1x4xf32>
  %af = lathe.reshape %a : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %act = lathe.activation gelu_tanh %af : tensor<?x?x8xf32>
  %m = lathe.mul %act, %x : tensor<?x?x8xf32>
  %sw = lathe.swiglu %m, %act : tensor<?x?x8xf32>
  %logits = lathe.linear %sw, %tok : tensor<?x?x8xf32>, tensor<11x8xf32>
  return %logits : tensor<?x?x11xf32>
}

// -----

// expected-error @+1 {{lathe-autodiff needs a function @forward returning the logits}}
module {
  func.func @other(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    return %x : tensor<?x?x8xf32>
  }
}
