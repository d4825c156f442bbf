// RUN: lathe-opt %s --lathe-autodiff --lathe-build-training | FileCheck %s

// Weights become parameter states everywhere; gradients are accumulated into
// gradient states (the tied embedding's two uses: one accumulate each).
// Weight decay: 2-D weights outside embed.* only.
// CHECK-LABEL: func.func @forward
// CHECK-NOT: lathe.param
// CHECK: lathe.state "param.embed.tokens" {initial_weight = "embed.tokens", kind = #lathe<state_kind parameter>} : tensor<11x8xf32>
// CHECK-LABEL: func.func @eval_loss
// CHECK-SAME: %arg1: tensor<?x?xi32> {lathe.name = "targets"}
// CHECK-SAME: -> (tensor<1xf32> {lathe.name = "loss"})
// CHECK: lathe.cross_entropy
// CHECK-NOT: _grad
// CHECK: return
// CHECK-LABEL: func.func @train_micro_step
// CHECK-SAME: -> (tensor<1xf32> {lathe.name = "loss"})
// CHECK-DAG: %[[GW:.*]] = lathe.state "grad.w" {kind = #lathe<state_kind gradient>} : tensor<8x8xf32>
// CHECK-DAG: %[[GT:.*]] = lathe.state "grad.embed.tokens" {kind = #lathe<state_kind gradient>} : tensor<11x8xf32>
// CHECK: %[[DHEAD:.*]] = lathe.linear_grad_weight
// CHECK-NEXT: lathe.accumulate %[[DHEAD]] into %[[GT]] : tensor<11x8xf32>
// CHECK: %[[DW:.*]] = lathe.linear_grad_weight
// CHECK-NEXT: lathe.accumulate %[[DW]] into %[[GW]] : tensor<8x8xf32>
// CHECK: %[[DTOK:.*]] = lathe.embedding_grad
// CHECK-NEXT: lathe.accumulate %[[DTOK]] into %[[GT]] : tensor<11x8xf32>
// CHECK: return %{{.*}} : tensor<1xf32>
// CHECK-LABEL: func.func @optimizer_step
// CHECK-SAME: (%arg0: tensor<8xf32> {lathe.name = "hyper"}) -> (tensor<1xf32> {lathe.name = "grad_norm"})
// CHECK-DAG: lathe.state "adam.m.w" {kind = #lathe<state_kind moment>}
// CHECK-DAG: lathe.state "adam.v.w" {kind = #lathe<state_kind moment>}
// CHECK: %[[NORM:.*]] = lathe_kernel.grad_norm {{.*}} scaled %arg0
// CHECK: lathe_kernel.adamw {{.*}} hyper %arg0 norm %[[NORM]] {decay = false} : tensor<11x8xf32>
// CHECK: lathe_kernel.adamw {{.*}} hyper %arg0 norm %[[NORM]] {decay = true} : tensor<8x8xf32>
// CHECK: return %[[NORM]]
func.func @forward(%tokens: tensor<?x?xi32> {lathe.name = "tokens"}) -> (tensor<?x?x11xf32> {lathe.name = "logits"}) attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 8 : i64} {
  %tok = lathe.param "embed.tokens" : tensor<11x8xf32>
  %x = lathe.embedding %tok[%tokens] : tensor<11x8xf32>, tensor<?x?xi32>
  %w = lathe.param "w" : tensor<8x8xf32>
  %h = lathe.linear %x, %w : tensor<?x?x8xf32>, tensor<8x8xf32>
  %logits = lathe.linear %h, %tok : tensor<?x?x8xf32>, tensor<11x8xf32>
  return %logits : tensor<?x?x11xf32>
}
