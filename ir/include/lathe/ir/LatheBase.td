//===- LatheBase.td - the lathe dialect and its attributes ---------------===//
//
// The `lathe` dialect describes a Transformer as a graph of building blocks on
// tensors. Activations carry two leading dynamic dimensions, batch B and time
// T (`tensor<?x?x...>`); their maxima are on the function
// (lathe.max_batch, lathe.max_seq).
//
//===----------------------------------------------------------------------===//
#ifndef LATHE_BASE_TD
#define LATHE_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Lathe_Dialect : Dialect {
  let name = "lathe";
  let cppNamespace = "::lathe::ir";
  let summary = "Transformer building blocks on tensors";
  let useDefaultAttributePrinterParser = 1;
  let hasCanonicalizer = 0;
}

def Lathe_ActGelu     : I32EnumAttrCase<"gelu", 1>;
def Lathe_ActGeluTanh : I32EnumAttrCase<"gelu_tanh", 2>;
def Lathe_ActRelu     : I32EnumAttrCase<"relu", 3>;
def Lathe_ActSilu     : I32EnumAttrCase<"silu", 4>;
def Lathe_ActivationKind : I32EnumAttr<"ActivationKind", "elementwise activation",
    [Lathe_ActGelu, Lathe_ActGeluTanh, Lathe_ActRelu, Lathe_ActSilu]> {
  let cppNamespace = "::lathe::ir";
  let genSpecializedAttr = 0;
}
def Lathe_ActivationAttr : EnumAttr<Lathe_Dialect, Lathe_ActivationKind, "activation">;

def Lathe_PosLearned    : I32EnumAttrCase<"learned", 0>;
def Lathe_PosSinusoidal : I32EnumAttrCase<"sinusoidal", 1>;
def Lathe_PositionKind : I32EnumAttr<"PositionKind", "absolute position encoding",
    [Lathe_PosLearned, Lathe_PosSinusoidal]> {
  let cppNamespace = "::lathe::ir";
  let genSpecializedAttr = 0;
}
def Lathe_PositionAttr : EnumAttr<Lathe_Dialect, Lathe_PositionKind, "positions">;

def Lathe_StateCache     : I32EnumAttrCase<"cache", 0>;
def Lathe_StateParameter : I32EnumAttrCase<"parameter", 1>;
def Lathe_StateGradient  : I32EnumAttrCase<"gradient", 2>;
def Lathe_StateMoment    : I32EnumAttrCase<"moment", 3>;
// What a persistent tensor holds; the values match artifact.fbs StateKind.
def Lathe_StateKind : I32EnumAttr<"StateKind", "role of a persistent tensor",
    [Lathe_StateCache, Lathe_StateParameter, Lathe_StateGradient, Lathe_StateMoment]> {
  let cppNamespace = "::lathe::ir";
  let genSpecializedAttr = 0;
}
def Lathe_StateKindAttr : EnumAttr<Lathe_Dialect, Lathe_StateKind, "state_kind">;

// Element types Lathe computes in.
def Lathe_Float : AnyTypeOf<[F32, F16, BF16]>;
def Lathe_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
def Lathe_TokenTensor : RankedTensorOf<[I32]>;

#endif // LATHE_BASE_TD
