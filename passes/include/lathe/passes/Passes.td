//===- Passes.td - the lathe compiler's passes ---------------------------===//
#ifndef LATHE_PASSES_TD
#define LATHE_PASSES_TD

include "mlir/Pass/PassBase.td"

def InferShapes : Pass<"lathe-infer-shapes", "mlir::func::FuncOp"> {
  let summary = "Re-infers result types and checks Lathe's shape rules";
  let description = [{
    Recomputes the result type of every op that infers its type from its
    operands (so a changed function signature propagates), then checks the
    rules later stages rely on: dynamic dimensions appear only as the leading
    (B, T) of activations, and the function carries lathe.max_batch and
    lathe.max_seq.

    Before:  %y = lathe.rms_norm %x, %w : tensor<?x?x8xf32>, ...  // stale result type tensor<2x3x8xf32>
    After:   the result type is tensor<?x?x8xf32>.
  }];
}

def Autodiff : Pass<"lathe-autodiff", "mlir::ModuleOp"> {
  let summary = "Adds a function computing the loss and the gradient of every weight";
  let description = [{
    Clones `forward` into `gradients(tokens, targets) -> (loss, d weight...)`:
    the forward body, the mean next-token cross-entropy of its logits, then a
    reverse sweep that asks each op for its operands' gradients
    (DifferentiableOpInterface, rules in ir/lib/Gradients.cpp) and sums the
    gradients of values read more than once. `lathe.dropout` ops (identities
    in `forward`) become active: the function gets a third input `rng`
    (2) i32 [seed, step] that they all read.

    Before: func @forward(%tokens) -> logits { ... %y = lathe.linear %x, %w ... }
    After:  func @gradients(%tokens, %targets) -> (loss, grad.w, ...) {
              ... %loss = lathe.cross_entropy %logits, %targets
              %dl = lathe.cross_entropy_grad %logits, %targets
              %dx = lathe.linear_grad_input %dy, %w
              %dw = lathe.linear_grad_weight %dy, %x ... }
  }];
  let options = [
    Option<"ignoreIndex", "ignore-index", "int64_t", "-100", "target id that contributes no loss">,
  ];
}

def BuildTraining : Pass<"lathe-build-training", "mlir::ModuleOp"> {
  let summary = "Turns @gradients into the training entry points on persistent states";
  let description = [{
    Runs after lathe-autodiff. Every weight becomes a trainable state
    `param.<name>` (initialized from the weight) in every function, so
    forward/prefill/decode see the trained weights. Then:
      @gradients -> @train_micro_step(tokens, targets) -> loss: each weight
        gradient is added into state `grad.<name>` by lathe.accumulate (sums
        of several uses, e.g. tied embeddings, become one accumulate each);
      @eval_loss(tokens, targets) -> loss: forward + cross-entropy;
      @optimizer_step(hyper (8)) -> grad_norm (1): lathe_kernel.grad_norm over
        every gradient state, then one lathe_kernel.adamw per parameter with
        moment states `adam.m.<name>`, `adam.v.<name>`; weight decay only for
        2-D weights outside `embed.*`.

    Before: func @gradients(%tokens, %targets) -> (loss, grad.w) { %w = lathe.param "w" ... }
    After:  func @train_micro_step(%tokens, %targets) -> loss {
              %w = lathe.state "param.w" {kind = parameter, initial_weight = "w"}
              %g = lathe.state "grad.w" {kind = gradient}
              ... %dw = lathe.linear_grad_weight ...
              lathe.accumulate %dw into %g }
  }];
  let options = [
    Option<"ignoreIndex", "ignore-index", "int64_t", "-100", "target id that contributes no loss (eval_loss)">,
  ];
  let dependentDialects = ["::lathe::kernel::KernelDialect"];
}

def LowerToKernels : Pass<"lathe-lower-to-kernels", "mlir::func::FuncOp"> {
  let summary = "Lowers lathe ops to lathe_kernel dispatches";
  let description = [{
    One lathe op becomes one kernel (reshape becomes a zero-copy view):
      %y = lathe.linear %x, %w, %b      ->  %y = lathe_kernel.gemm %x, %w bias %b
      %y = lathe.activation gelu %x     ->  %y = lathe_kernel.unary gelu %x
      %y = lathe.add %a, %b             ->  %y = lathe_kernel.binary add %a, %b
  }];
  let dependentDialects = ["::lathe::kernel::KernelDialect"];
}

def FuseEpilogues : Pass<"lathe-fuse-epilogues", "mlir::func::FuncOp"> {
  let summary = "Folds activations and residual adds into gemm epilogues";
  let description = [{
      %h = lathe_kernel.gemm %x, %w bias %b
      %a = lathe_kernel.unary gelu %h           ->  %r = lathe_kernel.gemm %x, %w bias %b residual %res activation gelu
      %r = lathe_kernel.binary add %res, %a
    Each fold needs the intermediate to have a single use, so no value that
    someone else reads is skipped.
  }];
}

def PlanMemory : Pass<"lathe-plan-memory", "mlir::func::FuncOp"> {
  let summary = "Assigns every kernel result an offset in one arena";
  let description = [{
    Liveness over the function's single block, with buffers sized at
    (lathe.max_batch, lathe.max_seq); greedy by size (largest first) into the
    lowest offset that does not overlap a live buffer. Views share their
    source's buffer and extend its lifetime; in-place kernels take their
    operand's buffer (the operand must die there). The value returned by the
    function is written to the output buffer instead of the arena.

    After: %y = lathe_kernel.gemm ... {offset = 4096 : i64}, and the function
    gets lathe_kernel.arena_bytes.
  }];
}

#endif // LATHE_PASSES_TD
