//===- LatheOps.td - Transformer building blocks ------------------------===//
#ifndef LATHE_OPS_TD
#define LATHE_OPS_TD

include "lathe/ir/LatheBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

class Lathe_Op<string mnemonic, list<Trait> traits = []>
    : Op<Lathe_Dialect, mnemonic, !listconcat(traits, [Pure])>;

// Ops whose result type follows from their operands.
class Lathe_InferredOp<string mnemonic, list<Trait> traits = []>
    : Lathe_Op<mnemonic, !listconcat(traits,
        [DeclareOpInterfaceMethods<InferTypeOpInterface>])>;

def Lathe_ParamOp : Lathe_Op<"param"> {
  let summary = "a model weight, by its canonical name";
  let description = [{
    ```mlir
    %w = lathe.param "layers.0.attn.q.weight" : tensor<64x64xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Lathe_EmbeddingOp : Lathe_InferredOp<"embedding"> {
  let summary = "gathers rows of a (V, C) table: (B,T) ids -> (B,T,C)";
  let arguments = (ins Lathe_FloatTensor:$table, Lathe_TokenTensor:$ids);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$table `[` $ids `]` attr-dict `:` type($table) `,` type($ids)";
}

def Lathe_AddPositionsOp : Lathe_InferredOp<"add_positions", [AttrSizedOperandSegments]> {
  let summary = "adds absolute position encodings to (B,T,C) activations";
  let description = [{
    `learned` reads rows of a (P, C) table; `sinusoidal` computes
    PE[t, j] = sin(t / 10000^(2 floor(j/2) / C)) for even j and cos for odd j.
    With `at %offsets` (a (B) i32 tensor), token t of sequence b sits at
    position offsets[b] + t (decoding with a KV cache); without, at t.
    ```mlir
    %h = lathe.add_positions learned %x, %table : tensor<?x?x64xf32>, tensor<128x64xf32>
    %h = lathe.add_positions sinusoidal %x at %pos : tensor<?x?x64xf32> at tensor<?xi32>
    ```
  }];
  let arguments = (ins Lathe_PositionAttr:$kind, Lathe_FloatTensor:$input,
                       Optional<Lathe_FloatTensor>:$table, Optional<Lathe_TokenTensor>:$offsets);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$kind $input (`,` $table^)? (`at` $offsets^)? attr-dict `:` type($input) (`,` type($table)^)? (`at` type($offsets)^)?";
  let hasVerifier = 1;
}

def Lathe_LayerNormOp : Lathe_InferredOp<"layer_norm"> {
  let summary = "layer normalization over the last dimension (biased variance)";
  let arguments = (ins Lathe_FloatTensor:$input, Lathe_FloatTensor:$weight,
                       Lathe_FloatTensor:$bias, F32Attr:$eps);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight) `,` type($bias)";
  let hasVerifier = 1;
}

def Lathe_RMSNormOp : Lathe_InferredOp<"rms_norm"> {
  let summary = "root-mean-square normalization over the last dimension";
  let arguments = (ins Lathe_FloatTensor:$input, Lathe_FloatTensor:$weight, F32Attr:$eps);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` type($input) `,` type($weight)";
  let hasVerifier = 1;
}

def Lathe_LinearOp : Lathe_InferredOp<"linear"> {
  let summary = "x W^T + b over the last dimension, W stored (out, in)";
  let arguments = (ins Lathe_FloatTensor:$input, Lathe_FloatTensor:$weight,
                       Optional<Lathe_FloatTensor>:$bias);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight) (`,` type($bias)^)?";
  let hasVerifier = 1;
}

def Lathe_ActivationOp : Lathe_InferredOp<"activation", [SameOperandsAndResultType]> {
  let summary = "elementwise gelu | gelu_tanh | relu | silu";
  let arguments = (ins Lathe_ActivationAttr:$kind, Lathe_FloatTensor:$input);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input)";
}

def Lathe_AddOp : Lathe_InferredOp<"add", [SameOperandsAndResultType, Commutative]> {
  let summary = "elementwise sum (residual connections)";
  let arguments = (ins Lathe_FloatTensor:$lhs, Lathe_FloatTensor:$rhs);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Lathe_DropoutOp : Lathe_Op<"dropout", [AllTypesMatch<["input", "result"]>]> {
  let summary = "inverted dropout, seeded: zeroes each element with probability p, scales the rest by 1/(1-p)";
  let description = [{
    Without `rng` the op is the identity (evaluation: forward, eval_loss,
    prefill, decode) and folds away. With `rng`, a (2) i32 tensor [seed, step],
    element i is kept iff a counter-based hash of (seed, step, stream, i) maps
    to a uniform number >= p, so the mask needs no storage: the gradient is
    the same op on the output gradient (same rng, stream and p). `stream`
    tells the dropout sites of one function apart.
    ```mlir
    %y = lathe.dropout %x {p = 1.000000e-01 : f32, stream = 3 : i64} : tensor<?x?x64xf32>
    %y = lathe.dropout %x rng %rng {p = 1.000000e-01 : f32, stream = 3 : i64} : tensor<?x?x64xf32>, tensor<2xi32>
    ```
  }];
  let arguments = (ins Lathe_FloatTensor:$input, Optional<Lathe_TokenTensor>:$rng, F32Attr:$p, I64Attr:$stream);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input (`rng` $rng^)? attr-dict `:` type($input) (`,` type($rng)^)?";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Lathe_MulOp : Lathe_InferredOp<"mul", [SameOperandsAndResultType, Commutative]> {
  let summary = "elementwise product";
  let arguments = (ins Lathe_FloatTensor:$lhs, Lathe_FloatTensor:$rhs);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
  let hasCanonicalizer = 1;
}

def Lathe_SwiGLUOp : Lathe_InferredOp<"swiglu", [SameOperandsAndResultType]> {
  let summary = "silu(gate) * up";
  let description = [{
    Canonicalization forms it from `mul(activation silu(%gate), %up)`.
  }];
  let arguments = (ins Lathe_FloatTensor:$gate, Lathe_FloatTensor:$up);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
}

def Lathe_ReshapeOp : Lathe_Op<"reshape"> {
  let summary = "same elements, new shape; the leading (B,T) dims are kept";
  let description = [{
    ```mlir
    %heads = lathe.reshape %q : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
    ```
  }];
  let arguments = (ins Lathe_FloatTensor:$input);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Lathe_RopeOp : Lathe_InferredOp<"rope"> {
  let summary = "rotary position embedding on (B,T,H,D), rotate-half convention";
  let description = [{
    With `at %offsets` ((B) i32), token t of sequence b is rotated for
    position offsets[b] + t; without, for position t.
  }];
  let arguments = (ins Lathe_FloatTensor:$input, Optional<Lathe_TokenTensor>:$offsets, F32Attr:$theta);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input (`at` $offsets^)? attr-dict `:` type($input) (`,` type($offsets)^)?";
  let hasVerifier = 1;
}

def Lathe_AttentionOp : Lathe_InferredOp<"attention"> {
  let summary = "scaled dot-product attention with grouped KV heads";
  let description = [{
    q: (B,T,H,D), k and v: (B,T,Hkv,D) with H a multiple of Hkv; head h reads
    kv head h / (H/Hkv). Result (B,T,H,D).
    ```mlir
    %o = lathe.attention %q, %k, %v {causal = true, scale = 0.25 : f32}
        : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>
    ```
  }];
  let arguments = (ins Lathe_FloatTensor:$query, Lathe_FloatTensor:$key,
                       Lathe_FloatTensor:$value, F32Attr:$scale, BoolAttr:$causal);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$query `,` $key `,` $value attr-dict `:` type($query) `,` type($key) `,` type($value)";
  let hasVerifier = 1;
}

include "lathe/ir/LatheGradOps.td"
//===----------------------------------------------------------------------===//
// Inference with a KV cache
//===----------------------------------------------------------------------===//

def Lathe_StateOp : Lathe_Op<"state"> {
  let summary = "a persistent tensor of the session (KV cache, trainable weight, gradient, moment)";
  let description = [{
    Every entry point that names the same state sees the same storage; it
    survives across calls. `cache` states start at zero and are zeroed by a
    session reset; a `parameter` state starts as the weight `initial_weight`;
    `gradient` and `moment` states start at zero. Resets touch caches only.
    ```mlir
    %k = lathe.state "layers.0.attn.k_cache" : tensor<4x128x2x16xf32>
    %w = lathe.state "param.lm_head.weight" {kind = #lathe.state_kind<parameter>, initial_weight = "lm_head.weight"} : tensor<11x16xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name,
                       DefaultValuedAttr<Lathe_StateKindAttr, "::lathe::ir::StateKind::cache">:$kind,
                       OptionalAttr<StrAttr>:$initial_weight);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let builders = [OpBuilder<(ins "::mlir::Type":$type, "::llvm::StringRef":$name), [{
    build($_builder, $_state, type, $_builder.getStringAttr(name),
          ::lathe::ir::StateKindAttr::get($_builder.getContext(), ::lathe::ir::StateKind::cache), nullptr);
  }]>];
  let hasVerifier = 1;
}

def Lathe_CacheWriteOp : Op<Lathe_Dialect, "cache_write",
    [MemoryEffects<[MemWrite]>, AllTypesMatch<["cache", "result"]>]> {
  let summary = "stores (B,T,Hkv,D) keys or values into a (Bmax,S,Hkv,D) cache";
  let description = [{
    Row t of sequence b goes to cache[b, offsets[b] + t] (offsets absent: t).
    The result is the updated cache; readers use it, which orders them after
    the write. The op writes persistent state, so it is never removed.
    ```mlir
    %k1 = lathe.cache_write %k into %cache at %pos : tensor<?x1x2x16xf32> into tensor<4x128x2x16xf32>, tensor<?xi32>
    ```
  }];
  let arguments = (ins Lathe_FloatTensor:$value, Lathe_FloatTensor:$cache, Optional<Lathe_TokenTensor>:$offsets);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$value `into` $cache (`at` $offsets^)? attr-dict `:` type($value) `into` type($cache) (`,` type($offsets)^)?";
  let hasVerifier = 1;
}

def Lathe_CachedAttentionOp : Lathe_InferredOp<"cached_attention"> {
  let summary = "causal attention of (B,T,H,D) queries over a KV cache";
  let description = [{
    Query t of sequence b sits at position offsets[b] + t and attends to cache
    rows 0 .. offsets[b] + t of sequence b; head h reads kv head h / (H/Hkv).
    ```mlir
    %o = lathe.cached_attention %q, %k, %v at %pos {scale = 0.25 : f32}
        : tensor<?x1x4x16xf32>, tensor<4x128x2x16xf32>, tensor<4x128x2x16xf32>, tensor<?xi32>
    ```
  }];
  let arguments = (ins Lathe_FloatTensor:$query, Lathe_FloatTensor:$key_cache, Lathe_FloatTensor:$value_cache,
                       Lathe_TokenTensor:$offsets, F32Attr:$scale);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$query `,` $key_cache `,` $value_cache `at` $offsets attr-dict `:` type($query) `,` type($key_cache) `,` type($value_cache) `,` type($offsets)";
  let hasVerifier = 1;
}

def Lathe_GatherLastOp : Lathe_InferredOp<"gather_last"> {
  let summary = "the last real row of each sequence: (B,T,C) -> (B,C)";
  let description = [{
    Row lengths[b] - 1 of sequence b (right-padded prompts); without lengths,
    row T - 1.
    ```mlir
    %last = lathe.gather_last %x, %lengths : tensor<?x?x64xf32>, tensor<?xi32>
    ```
  }];
  let arguments = (ins Lathe_FloatTensor:$input, Optional<Lathe_TokenTensor>:$lengths);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input (`,` $lengths^)? attr-dict `:` type($input) (`,` type($lengths)^)?";
  let hasVerifier = 1;
}

def Lathe_AccumulateOp : Op<Lathe_Dialect, "accumulate",
    [MemoryEffects<[MemWrite]>, AllTypesMatch<["value", "state", "result"]>]> {
  let summary = "state += value: adds a gradient into its gradient state";
  let description = [{
    The result is the updated state (readers use it to order themselves after
    the update). Lowering folds the producer of `value` into the update where a
    kernel can accumulate directly (weight-gradient GEMMs, embedding and bias
    gradients), so no temporary holds the gradient.
    ```mlir
    %g1 = lathe.accumulate %dw into %g : tensor<16x16xf32>
    ```
  }];
  let arguments = (ins Lathe_FloatTensor:$value, Lathe_FloatTensor:$state);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$value `into` $state attr-dict `:` type($state)";
  let builders = [OpBuilder<(ins "::mlir::Value":$value, "::mlir::Value":$state), [{
    build($_builder, $_state, state.getType(), value, state);
  }]>];
  let hasVerifier = 1;
}

#endif // LATHE_OPS_TD
