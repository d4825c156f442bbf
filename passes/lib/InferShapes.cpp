// lathe-infer-shapes: see Passes.td.
#include "lathe/passes/Passes.h"

namespace lathe::passes {
#define GEN_PASS_DEF_INFERSHAPES
#include "lathe/passes/Passes.h.inc"
}  // namespace lathe::passes

using namespace mlir;

namespace {

LogicalResult reinferResultTypes(Operation* op) {
  auto inferable = dyn_cast<InferTypeOpInterface>(op);
  if (!inferable) return success();
  SmallVector<Type> types;
  if (failed(inferable.inferReturnTypes(op->getContext(), op->getLoc(), op->getOperands(),
                                        op->getAttrDictionary(), op->getPropertiesStorage(),
                                        op->getRegions(), types)))
    return op->emitOpError("cannot infer its result types");
  for (auto [result, type] : llvm::zip(op->getResults(), types)) result.setType(type);
  return success();
}

/// Dynamic dims are only allowed as the (B, T) prefix of activations.
LogicalResult checkDynamicDims(Operation* op, Type type) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked) return success();
  for (int64_t i = 2; i < ranked.getRank(); ++i)
    if (ranked.isDynamicDim(i))
      return op->emitOpError("dimension ") << i << " of " << ranked
                                           << " is dynamic; only the leading (B, T) dimensions may be";
  return success();
}

struct InferShapesPass : lathe::passes::impl::InferShapesBase<InferShapesPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    for (StringRef attr : {lathe::ir::kMaxBatchAttr, lathe::ir::kMaxSeqAttr}) {
      auto bound = fn->getAttrOfType<IntegerAttr>(attr);
      if (!bound || bound.getInt() < 1) {
        fn.emitOpError("needs a positive integer attribute ") << attr;
        return signalPassFailure();
      }
    }
    auto walk = fn.walk([&](Operation* op) {
      if (failed(reinferResultTypes(op))) return WalkResult::interrupt();
      for (Type type : op->getResultTypes())
        if (failed(checkDynamicDims(op, type))) return WalkResult::interrupt();
      if (isa<func::ReturnOp>(op))
        fn.setType(FunctionType::get(fn.getContext(), fn.getArgumentTypes(), op->getOperandTypes()));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted()) return signalPassFailure();
    for (BlockArgument arg : fn.getArguments())
      if (failed(checkDynamicDims(fn, arg.getType()))) return signalPassFailure();
  }
};

}  // namespace
