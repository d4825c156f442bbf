// RUN: lathe-opt %s --lathe-autodiff --lathe-build-training --lathe-kernel-pipeline | FileCheck %s

// Forward ops whose backward needs saved statistics lower to the kernels that
// save them; parameter gradients accumulate straight into their states; the
// cross-entropy and its gradient become one in-place kernel; multi-result
// kernels get one arena offset per result (-1: lives elsewhere).
// CHECK-LABEL: func.func @train_micro_step
// CHECK: %[[GW:.*]] = lathe.state "grad.w"
// CHECK: %[[GG:.*]] = lathe.state "grad.g"
// CHECK: %[[GT:.*]] = lathe.state "grad.tok"
// CHECK: %{{.*}}, %[[MEAN:.*]], %[[RSTD:.*]] = lathe_kernel.layer_norm_stats {{.*}} {eps = {{.*}}, offset = array<i64: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}>}
// CHECK: %[[O:.*]], %[[LSE:.*]] = lathe_kernel.attention_lse
// CHECK: %[[DL:.*]], %[[LOSS:.*]], %{{.*}} = lathe_kernel.cross_entropy_grad {{.*}}output = array<i64: -1, 0, -1>
// CHECK: lathe_kernel.linear_grad_weight %[[DL]], %{{.*}} into %[[GT]]
// CHECK: lathe_kernel.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[O]], %[[LSE]]
// CHECK: lathe_kernel.unary_grad gelu
// CHECK: lathe_kernel.linear_grad_input
// CHECK: lathe_kernel.linear_grad_weight {{.*}} into %[[GW]]
// CHECK: %{{.*}}, %[[DG:.*]], %[[DB:.*]] = lathe_kernel.layer_norm_grad %{{.*}}, %{{.*}}, %{{.*}}, %[[MEAN]], %[[RSTD]]
// CHECK: lathe_kernel.accumulate %[[DG]] into %[[GG]]
// CHECK: lathe_kernel.embedding_grad {{.*}} into %[[GT]]
// CHECK: return %[[LOSS]]
// CHECK-LABEL: func.func @optimizer_step
// CHECK: lathe_kernel.grad_norm {{.*}}output = 0
func.func @forward(%tokens: tensor<?x?xi32> {lathe.name = "tokens"}) -> (tensor<?x?x11xf32> {lathe.name = "logits"}) attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 8 : i64} {
  %tok = lathe.param "tok" : tensor<11x8xf32>
  %x = lathe.embedding %tok[%tokens] : tensor<11x8xf32>, tensor<?x?xi32>
  %g = lathe.param "g" : tensor<8xf32>
  %b = lathe.param "b" : tensor<8xf32>
  %n = lathe.layer_norm %x, %g, %b {eps = 1.0e-5 : f32} : tensor<?x?x8xf32>, tensor<8xf32>, tensor<8xf32>
  %w = lathe.param "w" : tensor<8x8xf32>
  %h = lathe.linear %n, %w : tensor<?x?x8xf32>, tensor<8x8xf32>
  %a = lathe.activation gelu %h : tensor<?x?x8xf32>
  %r = lathe.add %x, %a : tensor<?x?x8xf32>
  %q = lathe.reshape %r : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %o = lathe.attention %q, %q, %q {causal = true, scale = 0.5 : f32} : tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>
  %o2 = lathe.reshape %o : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %logits = lathe.linear %o2, %tok : tensor<?x?x8xf32>, tensor<11x8xf32>
  return %logits : tensor<?x?x11xf32>
}
