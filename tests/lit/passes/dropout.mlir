// RUN: lathe-opt %s --lathe-autodiff --lathe-build-training | FileCheck %s --check-prefix=TRAIN
// RUN: lathe-opt %s --lathe-autodiff --lathe-build-training --lathe-kernel-pipeline | FileCheck %s --check-prefix=KERNEL
// RUN: lathe-opt %s -canonicalize | FileCheck %s --check-prefix=EVAL

// Dropout is the identity in forward (no rng) and folds away there (eval_loss keeps the
// unarmed op until the kernel pipeline canonicalizes it); the
// training step gets an `rng` input that every dropout reads, and the gradient
// of a dropout is the same dropout (same rng, p and stream) on the output gradient.
// EVAL-LABEL: func.func @forward
// EVAL-NOT: lathe.dropout
// EVAL: return

// TRAIN-LABEL: func.func @eval_loss
// TRAIN-SAME: (%arg0: tensor<?x?xi32> {lathe.name = "tokens"}, %arg1: tensor<?x?xi32> {lathe.name = "targets"})
// TRAIN: lathe.dropout %{{.*}} {p = 1.000000e-01 : f32, stream = 0 : i64} : tensor<?x?x8xf32>
// TRAIN-LABEL: func.func @train_micro_step
// TRAIN-SAME: %arg1: tensor<?x?xi32> {lathe.name = "targets"}
// TRAIN-SAME: %[[RNG:[a-z0-9]+]]: tensor<2xi32> {lathe.name = "rng"}
// TRAIN: %[[Y:.*]] = lathe.dropout %{{.*}} rng %[[RNG]] {p = 1.000000e-01 : f32, stream = 0 : i64}
// TRAIN: lathe.linear %[[Y]]
// TRAIN: %[[DX:.*]] = lathe.dropout %{{.*}} rng %[[RNG]] {p = 1.000000e-01 : f32, stream = 0 : i64}
// TRAIN: lathe.embedding_grad %[[DX]]

// KERNEL-LABEL: func.func @forward
// KERNEL-NOT: dropout
// KERNEL-LABEL: func.func @eval_loss
// KERNEL-NOT: dropout
// KERNEL-LABEL: func.func @train_micro_step
// KERNEL: lathe_kernel.dropout %{{.*}} rng %{{.*}} {{{.*}}p = 1.000000e-01 : f32, stream = 0 : i64}
// KERNEL: lathe_kernel.dropout %{{.*}} rng %{{.*}} {{{.*}}p = 1.000000e-01 : f32, stream = 0 : i64}
// KERNEL: lathe_kernel.embedding_grad
func.func @forward(%tokens: tensor<?x?xi32> {lathe.name = "tokens"}) -> (tensor<?x?x11xf32> {lathe.name = "logits"}) attributes {lathe.max_batch = 2 : i64, lathe.max_seq = 8 : i64} {
  %tok = lathe.param "tok" : tensor<11x8xf32>
  %x = lathe.embedding %tok[%tokens] : tensor<11x8xf32>, tensor<?x?xi32>
  %y = lathe.dropout %x {p = 0.1 : f32, stream = 0 : i64} : tensor<?x?x8xf32>
  %w = lathe.param "w" : tensor<11x8xf32>
  %logits = lathe.linear %y, %w : tensor<?x?x8xf32>, tensor<11x8xf32>
  return %logits : tensor<?x?x11xf32>
}
