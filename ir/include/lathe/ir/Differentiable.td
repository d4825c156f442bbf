//===- Differentiable.td - reverse-mode gradient rules ------------------===//
#ifndef LATHE_DIFFERENTIABLE_TD
#define LATHE_DIFFERENTIABLE_TD

include "mlir/IR/OpBase.td"

def DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::lathe::ir";
  let description = [{
    An op that lathe-autodiff can differentiate. Its gradient rule lives in
    ir/lib/Gradients.cpp, attached as an external model: adding an op's
    gradient is one model there plus a lit test in tests/lit/passes/autodiff.mlir.
  }];
  let methods = [
    InterfaceMethod<[{
        Builds the gradients of the operands from the gradients of the
        results (null where a result has none). Returns one value per operand,
        null where an operand has no gradient (token ids, for example).
      }],
      "::llvm::SmallVector<::mlir::Value>", "buildGradients",
      (ins "::mlir::OpBuilder&":$builder, "::mlir::ValueRange":$resultGradients)>,
  ];
}

#endif // LATHE_DIFFERENTIABLE_TD
