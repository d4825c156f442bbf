//===- KernelOps.td - the shared kernel representation ------------------===//
//
// `lathe_kernel` ops are the unit every target implements: one op is one
// kernel dispatch, with every parameter an attribute. They keep tensor value
// semantics; memory planning then gives each result an arena offset
// (`offset`), and the artifact writer turns ops into Dispatch records
// (runtime/schema/artifact.fbs). Ops marked InPlace write their first operand's
// buffer.
//
//===----------------------------------------------------------------------===//
#ifndef LATHE_KERNEL_OPS_TD
#define LATHE_KERNEL_OPS_TD

include "lathe/ir/LatheBase.td"
include "lathe/ir/KernelBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// A marker: the op overwrites its first operand's buffer with its result.
def InPlace : NativeOpTrait<"InPlace"> { let cppNamespace = "::lathe::kernel"; }

class Kernel_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kernel_Dialect, mnemonic, !listconcat(traits, [Pure])>;

def Kernel_EmbeddingOp : Kernel_Op<"embedding"> {
  let arguments = (ins Lathe_FloatTensor:$table, Lathe_TokenTensor:$ids);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->` type($result)";
}

def Kernel_AddPositionsOp : Kernel_Op<"add_positions",
    [InPlace, AllTypesMatch<["input", "result"]>, AttrSizedOperandSegments]> {
  let arguments = (ins Lathe_PositionAttr:$kind, Lathe_FloatTensor:$input,
                       Optional<Lathe_FloatTensor>:$table, Optional<Lathe_TokenTensor>:$offsets);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$kind $input (`,` $table^)? (`at` $offsets^)? attr-dict `:` type($input) (`,` type($table)^)? (`at` type($offsets)^)?";
}

def Kernel_LayerNormOp : Kernel_Op<"layer_norm", [AllTypesMatch<["input", "result"]>]> {
  let arguments = (ins Lathe_FloatTensor:$input, Lathe_FloatTensor:$weight,
                       Optional<Lathe_FloatTensor>:$bias, F32Attr:$eps);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight) (`,` type($bias)^)?";
}

def Kernel_RMSNormOp : Kernel_Op<"rms_norm", [AllTypesMatch<["input", "result"]>]> {
  let arguments = (ins Lathe_FloatTensor:$input, Lathe_FloatTensor:$weight, F32Attr:$eps);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` type($input) `,` type($weight)";
}

def Kernel_GemmOp : Kernel_Op<"gemm", [AttrSizedOperandSegments]> {
  let summary = "C = act(A . B^T + bias) + residual, over A's last dimension";
  let description = [{
    A: (..., K); B: (N, K) (weights are stored (out, in)); result (..., N).
    The epilogue (bias, activation, residual) runs on each output tile while it
    is in registers; lathe-fuse-epilogues folds producers and consumers into it.
  }];
  let arguments = (ins Lathe_FloatTensor:$a, Lathe_FloatTensor:$b,
                       Optional<Lathe_FloatTensor>:$bias,
                       Optional<Lathe_FloatTensor>:$residual,
                       OptionalAttr<Lathe_ActivationAttr>:$activation);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = [{
    $a `,` $b (`bias` $bias^)? (`residual` $residual^)? (`activation` $activation^)? attr-dict
    `:` type($a) `,` type($b) (`,` type($bias)^)? (`,` type($residual)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kernel_RopeOp : Kernel_Op<"rope", [InPlace, AllTypesMatch<["input", "result"]>]> {
  let arguments = (ins Lathe_FloatTensor:$input, Optional<Lathe_TokenTensor>:$offsets, F32Attr:$theta);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input (`at` $offsets^)? attr-dict `:` type($input) (`,` type($offsets)^)?";
}

def Kernel_AttentionOp : Kernel_Op<"attention"> {
  let arguments = (ins Lathe_FloatTensor:$query, Lathe_FloatTensor:$key,
                       Lathe_FloatTensor:$value, F32Attr:$scale, BoolAttr:$causal);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$query `,` $key `,` $value attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($result)";
}

def Kernel_UnaryOp : Kernel_Op<"unary", [AllTypesMatch<["input", "result"]>]> {
  let arguments = (ins Lathe_ActivationAttr:$kind, Lathe_FloatTensor:$input);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input)";
}

def Kernel_DropoutOp : Kernel_Op<"dropout", [AllTypesMatch<["input", "result"]>]> {
  let summary = "seeded inverted dropout (training): the mask is recomputed from rng [seed, step], stream and the index";
  let arguments = (ins Lathe_FloatTensor:$input, Lathe_TokenTensor:$rng, F32Attr:$p, I64Attr:$stream);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input `rng` $rng attr-dict `:` type($input) `,` type($rng)";
}

def Kernel_BinaryOp : Kernel_Op<"binary", [AllTypesMatch<["lhs", "rhs", "result"]>]> {
  let arguments = (ins Kernel_BinaryAttr:$kind, Lathe_FloatTensor:$lhs, Lathe_FloatTensor:$rhs);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$kind $lhs `,` $rhs attr-dict `:` type($result)";
}

def Kernel_SwiGLUOp : Kernel_Op<"swiglu", [AllTypesMatch<["gate", "up", "result"]>]> {
  let arguments = (ins Lathe_FloatTensor:$gate, Lathe_FloatTensor:$up);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
}

def Kernel_ViewOp : Kernel_Op<"view"> {
  let summary = "the same buffer under another shape (no dispatch)";
  let arguments = (ins Lathe_FloatTensor:$input);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

// Writes persistent state, so it is not Pure: nothing may remove or reorder it.
def Kernel_CacheWriteOp : Op<Kernel_Dialect, "cache_write",
    [InPlace, MemoryEffects<[MemWrite]>, AllTypesMatch<["cache", "result"]>]> {
  let summary = "cache[b, offsets[b] + t] = value[b, t] on a (Bmax,S,Hkv,D) state";
  let arguments = (ins Lathe_FloatTensor:$cache, Lathe_FloatTensor:$value, Optional<Lathe_TokenTensor>:$offsets);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$value `into` $cache (`at` $offsets^)? attr-dict `:` type($value) `into` type($cache) (`,` type($offsets)^)?";
  let hasVerifier = 1;
}

def Kernel_CachedAttentionOp : Kernel_Op<"cached_attention"> {
  let summary = "causal attention of (B,T,H,D) queries at offsets[b] + t over a KV cache";
  let arguments = (ins Lathe_FloatTensor:$query, Lathe_FloatTensor:$key_cache, Lathe_FloatTensor:$value_cache,
                       Lathe_TokenTensor:$offsets, F32Attr:$scale);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$query `,` $key_cache `,` $value_cache `at` $offsets attr-dict `:` type($query) `,` type($key_cache) `,` type($value_cache) `,` type($offsets) `->` type($result)";
  let hasVerifier = 1;
}

def Kernel_GatherLastOp : Kernel_Op<"gather_last"> {
  let summary = "(B,T,C) -> (B,C): row lengths[b] - 1 (or T - 1) of each sequence";
  let arguments = (ins Lathe_FloatTensor:$input, Optional<Lathe_TokenTensor>:$lengths);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input (`,` $lengths^)? attr-dict `:` type($input) (`,` type($lengths)^)? `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Training. Forward kernels that also save what their backward reads, the
// backward kernels, and the optimizer. Multi-result kernels get one buffer per
// result from lathe-plan-memory. Kernels that write a state are InPlace on it
// and not Pure; parameter-gradient kernels accumulate (+=) into their state.
//===----------------------------------------------------------------------===//

def Kernel_LayerNormStatsOp : Kernel_Op<"layer_norm_stats",
    [AllTypesMatch<["input", "result"]>, AllTypesMatch<["mean", "rstd"]>]> {
  let summary = "layer_norm that also saves each row's mean and 1/std for the backward pass";
  let arguments = (ins Lathe_FloatTensor:$input, Lathe_FloatTensor:$weight, Lathe_FloatTensor:$bias, F32Attr:$eps);
  let results = (outs Lathe_FloatTensor:$result, Lathe_FloatTensor:$mean, Lathe_FloatTensor:$rstd);
  let assemblyFormat = "$input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight) `,` type($bias) `->` type($mean)";
  let hasVerifier = 1;
}

def Kernel_RMSNormStatsOp : Kernel_Op<"rms_norm_stats", [AllTypesMatch<["input", "result"]>]> {
  let summary = "rms_norm that also saves each row's 1/rms for the backward pass";
  let arguments = (ins Lathe_FloatTensor:$input, Lathe_FloatTensor:$weight, F32Attr:$eps);
  let results = (outs Lathe_FloatTensor:$result, Lathe_FloatTensor:$rstd);
  let assemblyFormat = "$input `,` $weight attr-dict `:` type($input) `,` type($weight) `->` type($rstd)";
  let hasVerifier = 1;
}

def Kernel_AttentionLseOp : Kernel_Op<"attention_lse"> {
  let summary = "attention that also saves the (B,T,H) logsumexp of each query row's scores";
  let arguments = (ins Lathe_FloatTensor:$query, Lathe_FloatTensor:$key,
                       Lathe_FloatTensor:$value, F32Attr:$scale, BoolAttr:$causal);
  let results = (outs Lathe_FloatTensor:$result, Lathe_FloatTensor:$lse);
  let assemblyFormat = "$query `,` $key `,` $value attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($result) `,` type($lse)";
  let hasVerifier = 1;
}

def Kernel_CrossEntropyOp : Kernel_Op<"cross_entropy"> {
  let summary = "mean next-token cross-entropy over targets != ignore_index; per-token loss and lse kept";
  let description = [{
    logits (B,T,V), targets (B,T) -> loss (1), token_stats (B,T,2) = (loss, logsumexp) per token.
  }];
  let arguments = (ins Lathe_FloatTensor:$logits, Lathe_TokenTensor:$targets, I64Attr:$ignore_index);
  let results = (outs Lathe_FloatTensor:$loss, Lathe_FloatTensor:$token_stats);
  let assemblyFormat = "$logits `,` $targets attr-dict `:` type($logits) `,` type($targets) `->` type($loss) `,` type($token_stats)";
  let hasVerifier = 1;
}

def Kernel_CrossEntropyGradOp : Kernel_Op<"cross_entropy_grad", [InPlace, AllTypesMatch<["logits", "logits_grad"]>]> {
  let summary = "the loss and, over the logits' buffer, d(mean loss)/d logits; zero rows for ignored targets";
  let arguments = (ins Lathe_FloatTensor:$logits, Lathe_TokenTensor:$targets, I64Attr:$ignore_index);
  let results = (outs Lathe_FloatTensor:$logits_grad, Lathe_FloatTensor:$loss, Lathe_FloatTensor:$token_stats);
  let assemblyFormat = "$logits `,` $targets attr-dict `:` type($logits) `,` type($targets) `->` type($loss) `,` type($token_stats)";
  let hasVerifier = 1;
}

def Kernel_LinearGradInputOp : Kernel_Op<"linear_grad_input"> {
  let summary = "dx = dy W for y = x W^T: (..., N), (N, K) -> (..., K)";
  let arguments = (ins Lathe_FloatTensor:$output_grad, Lathe_FloatTensor:$weight);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad `,` $weight attr-dict `:` type($output_grad) `,` type($weight) `->` type($result)";
  let hasVerifier = 1;
}

class Kernel_StateWriteOp<string mnemonic, list<Trait> traits = []>
    : Op<Kernel_Dialect, mnemonic, !listconcat(traits, [InPlace, MemoryEffects<[MemWrite]>])>;

def Kernel_LinearGradWeightOp : Kernel_StateWriteOp<"linear_grad_weight", [AllTypesMatch<["accumulator", "result"]>]> {
  let summary = "acc(N,K) += dy^T x summed over rows: a GEMM with accumulate";
  let arguments = (ins Lathe_FloatTensor:$accumulator, Lathe_FloatTensor:$output_grad, Lathe_FloatTensor:$input);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad `,` $input `into` $accumulator attr-dict `:` type($output_grad) `,` type($input) `into` type($accumulator)";
  let hasVerifier = 1;
}

def Kernel_BiasGradOp : Kernel_StateWriteOp<"bias_grad", [AllTypesMatch<["accumulator", "result"]>]> {
  let summary = "acc(N) += dy summed over rows";
  let arguments = (ins Lathe_FloatTensor:$accumulator, Lathe_FloatTensor:$output_grad);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad `into` $accumulator attr-dict `:` type($output_grad) `into` type($accumulator)";
  let hasVerifier = 1;
}

def Kernel_EmbeddingGradOp : Kernel_StateWriteOp<"embedding_grad", [AllTypesMatch<["accumulator", "result"]>]> {
  let summary = "acc(V,C)[ids[r]] += dy[r]";
  let arguments = (ins Lathe_FloatTensor:$accumulator, Lathe_FloatTensor:$output_grad, Lathe_TokenTensor:$ids);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad `,` $ids `into` $accumulator attr-dict `:` type($output_grad) `,` type($ids) `into` type($accumulator)";
  let hasVerifier = 1;
}

def Kernel_PositionsGradOp : Kernel_StateWriteOp<"positions_grad", [AllTypesMatch<["accumulator", "result"]>]> {
  let summary = "acc(P,C)[t] += sum over the batch of dy(B,T,C)[b,t]";
  let arguments = (ins Lathe_FloatTensor:$accumulator, Lathe_FloatTensor:$output_grad);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad `into` $accumulator attr-dict `:` type($output_grad) `into` type($accumulator)";
  let hasVerifier = 1;
}

def Kernel_AccumulateOp : Kernel_StateWriteOp<"accumulate",
    [AllTypesMatch<["accumulator", "result"]>, AllTypesMatch<["accumulator", "value"]>]> {
  let summary = "acc += value, elementwise";
  let arguments = (ins Lathe_FloatTensor:$accumulator, Lathe_FloatTensor:$value);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$value `into` $accumulator attr-dict `:` type($accumulator)";
}

def Kernel_LayerNormGradOp : Kernel_Op<"layer_norm_grad",
    [AllTypesMatch<["input", "output_grad", "input_grad"]>, AllTypesMatch<["weight", "weight_grad", "bias_grad"]>,
     AllTypesMatch<["mean", "rstd"]>]> {
  let summary = "(dx, dw, db) of layer_norm from the saved mean and 1/std";
  let arguments = (ins Lathe_FloatTensor:$output_grad, Lathe_FloatTensor:$input, Lathe_FloatTensor:$weight,
                       Lathe_FloatTensor:$mean, Lathe_FloatTensor:$rstd);
  let results = (outs Lathe_FloatTensor:$input_grad, Lathe_FloatTensor:$weight_grad, Lathe_FloatTensor:$bias_grad);
  let assemblyFormat = "$output_grad `,` $input `,` $weight `,` $mean `,` $rstd attr-dict `:` type($input) `,` type($weight) `,` type($mean)";
}

def Kernel_RMSNormGradOp : Kernel_Op<"rms_norm_grad",
    [AllTypesMatch<["input", "output_grad", "input_grad"]>, AllTypesMatch<["weight", "weight_grad"]>]> {
  let summary = "(dx, dw) of rms_norm from the saved 1/rms";
  let arguments = (ins Lathe_FloatTensor:$output_grad, Lathe_FloatTensor:$input, Lathe_FloatTensor:$weight,
                       Lathe_FloatTensor:$rstd);
  let results = (outs Lathe_FloatTensor:$input_grad, Lathe_FloatTensor:$weight_grad);
  let assemblyFormat = "$output_grad `,` $input `,` $weight `,` $rstd attr-dict `:` type($input) `,` type($weight) `,` type($rstd)";
}

def Kernel_AttentionGradOp : Kernel_Op<"attention_grad",
    [AllTypesMatch<["query", "output_grad", "output", "query_grad"]>, AllTypesMatch<["key", "value", "key_grad", "value_grad"]>]> {
  let summary = "(dq, dk, dv) of attention, recomputing probabilities from the saved logsumexp";
  let arguments = (ins Lathe_FloatTensor:$output_grad, Lathe_FloatTensor:$query, Lathe_FloatTensor:$key,
                       Lathe_FloatTensor:$value, Lathe_FloatTensor:$output, Lathe_FloatTensor:$lse,
                       F32Attr:$scale, BoolAttr:$causal);
  let results = (outs Lathe_FloatTensor:$query_grad, Lathe_FloatTensor:$key_grad, Lathe_FloatTensor:$value_grad);
  let assemblyFormat = "$output_grad `,` $query `,` $key `,` $value `,` $output `,` $lse attr-dict `:` type($query) `,` type($key) `,` type($lse)";
}

def Kernel_RopeGradOp : Kernel_Op<"rope_grad", [InPlace, AllTypesMatch<["output_grad", "result"]>]> {
  let summary = "rope's adjoint in place: rotation by the negated angles";
  let arguments = (ins Lathe_FloatTensor:$output_grad, F32Attr:$theta);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad attr-dict `:` type($output_grad)";
}

def Kernel_UnaryGradOp : Kernel_Op<"unary_grad", [AllTypesMatch<["input", "output_grad", "result"]>]> {
  let summary = "dx = dy * f'(x)";
  let arguments = (ins Lathe_ActivationAttr:$kind, Lathe_FloatTensor:$input, Lathe_FloatTensor:$output_grad);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$kind $input `,` $output_grad attr-dict `:` type($input)";
}

def Kernel_SwiGLUGradOp : Kernel_Op<"swiglu_grad", [AllTypesMatch<["gate", "up", "output_grad", "gate_grad", "up_grad"]>]> {
  let summary = "(dgate, dup) of silu(gate) * up";
  let arguments = (ins Lathe_FloatTensor:$gate, Lathe_FloatTensor:$up, Lathe_FloatTensor:$output_grad);
  let results = (outs Lathe_FloatTensor:$gate_grad, Lathe_FloatTensor:$up_grad);
  let assemblyFormat = "$gate `,` $up `,` $output_grad attr-dict `:` type($gate)";
}

def Kernel_GradNormOp : Kernel_Op<"grad_norm"> {
  let summary = "global L2 norm of grad_scale * g over all gradient states (hyper[6] = grad_scale)";
  let arguments = (ins Lathe_FloatTensor:$hyper, Variadic<Lathe_FloatTensor>:$gradients);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$gradients `scaled` $hyper attr-dict `:` type($hyper) `,` type($gradients) `->` type($result)";
  let hasVerifier = 1;
}

def Kernel_AdamWOp : Kernel_StateWriteOp<"adamw", [AllTypesMatch<["param", "grad", "m", "v", "result"]>]> {
  let summary = "one AdamW update of a parameter state from its gradient state, which it then clears";
  let description = [{
    hyper = [lr, beta1, beta2, eps, weight_decay, clip, grad_scale, step];
    g = grad * grad_scale, clipped by clip / (norm + 1e-6) when 0 < clip < norm;
    decay (weight_decay applied) only when `decay` is set. Writes param, m, v
    and zeroes grad.
  }];
  let arguments = (ins Lathe_FloatTensor:$param, Lathe_FloatTensor:$grad, Lathe_FloatTensor:$m,
                       Lathe_FloatTensor:$v, Lathe_FloatTensor:$hyper, Lathe_FloatTensor:$norm, BoolAttr:$decay);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$param `,` $grad `,` $m `,` $v `hyper` $hyper `norm` $norm attr-dict `:` type($param) `,` type($hyper) `,` type($norm)";
  let hasVerifier = 1;
}

#endif // LATHE_KERNEL_OPS_TD
