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

#endif // LATHE_KERNEL_OPS_TD
