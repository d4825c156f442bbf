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

def Kernel_AddPositionsOp : Kernel_Op<"add_positions", [InPlace, AllTypesMatch<["input", "result"]>]> {
  let arguments = (ins Lathe_PositionAttr:$kind, Lathe_FloatTensor:$input,
                       Optional<Lathe_FloatTensor>:$table);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$kind $input (`,` $table^)? attr-dict `:` type($input) (`,` type($table)^)?";
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
  let arguments = (ins Lathe_FloatTensor:$input, F32Attr:$theta);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
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

#endif // LATHE_KERNEL_OPS_TD
