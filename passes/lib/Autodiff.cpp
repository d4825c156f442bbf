// lathe-autodiff: see Passes.td.
#include "lathe/passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace lathe::passes {
#define GEN_PASS_DEF_AUTODIFF
#include "lathe/passes/Passes.h.inc"
}  // namespace lathe::passes

using namespace mlir;
namespace lir = lathe::ir;

namespace {

/// Gradients of values, summed as they arrive from each reader.
class Adjoints {
public:
  explicit Adjoints(OpBuilder& builder) : builder_(builder) {}

  void accumulate(Value value, Value gradient, Location loc) {
    Value& slot = gradients_[value];
    slot = slot ? lir::AddOp::create(builder_, loc, slot, gradient).getResult() : gradient;
  }
  Value lookup(Value value) const { return gradients_.lookup(value); }

private:
  OpBuilder& builder_;
  llvm::DenseMap<Value, Value> gradients_;
};

struct AutodiffPass : lathe::passes::impl::AutodiffBase<AutodiffPass> {
  using AutodiffBase::AutodiffBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward || forward.getNumResults() != 1) {
      module.emitError("lathe-autodiff needs a function @forward returning the logits");
      return signalPassFailure();
    }
    if (module.lookupSymbol("gradients")) {
      module.emitError("the module already has a function @gradients");
      return signalPassFailure();
    }
    func::FuncOp gradients = forward.clone();
    gradients.setSymName("gradients");
    module.insert(std::next(forward->getIterator()), gradients);
    if (failed(differentiate(gradients))) signalPassFailure();
  }

  LogicalResult differentiate(func::FuncOp fn) {
    Block& body = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Value tokens = fn.getArgument(0);
    if (failed(fn.insertArgument(1, tokens.getType(), nullptr, fn.getLoc()))) return failure();
    fn.setArgAttr(1, "lathe.name", StringAttr::get(&getContext(), "targets"));
    Value targets = fn.getArgument(1);
    if (failed(armDropout(fn))) return failure();

    OpBuilder builder(ret);
    Location loc = ret.getLoc();
    Value logits = ret.getOperand(0);
    Value loss = lir::CrossEntropyOp::create(builder, loc, logits, targets, ignoreIndex);
    Adjoints adjoints(builder);
    adjoints.accumulate(logits, lir::CrossEntropyGradOp::create(builder, loc, logits.getType(), logits, targets,
                                                                builder.getI64IntegerAttr(ignoreIndex)),
                        loc);

    SmallVector<Operation*> forward_ops;
    for (Operation& op : body) {
      if (op.getNumResults() > 0 && !isa<lir::CrossEntropyOp, lir::CrossEntropyGradOp>(op)) forward_ops.push_back(&op);
    }
    SmallVector<lir::ParamOp> params;
    for (Operation* op : llvm::reverse(forward_ops)) {
      if (auto param = dyn_cast<lir::ParamOp>(op)) params.push_back(param);
      if (failed(propagate(op, adjoints, builder))) return failure();
    }

    SmallVector<Value> results{loss};
    SmallVector<Attribute> names{builder.getStringAttr("loss")};
    for (lir::ParamOp param : llvm::reverse(params)) {
      Value grad = adjoints.lookup(param.getResult());
      if (!grad) return param.emitOpError("weight '") << param.getName() << "' does not reach the loss";
      results.push_back(grad);
      names.push_back(builder.getStringAttr("grad." + param.getName().str()));
    }
    func::ReturnOp::create(builder, loc, results);
    ret.erase();
    fn.setType(builder.getFunctionType(fn.getArgumentTypes(), ValueRange(results).getTypes()));
    for (auto [i, name] : llvm::enumerate(names))
      fn.setResultAttrs(i, builder.getDictionaryAttr(builder.getNamedAttr("lathe.name", name)));
    return success();
  }

  /// Dropout is active in the gradients function only: it gets an input
  /// `rng` (2) i32 [seed, step] that every dropout op reads.
  LogicalResult armDropout(func::FuncOp fn) {
    SmallVector<lir::DropoutOp> dropouts(fn.getOps<lir::DropoutOp>());
    if (dropouts.empty()) return success();
    auto rng_type = RankedTensorType::get({2}, IntegerType::get(&getContext(), 32));
    const unsigned index = fn.getNumArguments();
    if (failed(fn.insertArgument(index, rng_type, nullptr, fn.getLoc()))) return failure();
    fn.setArgAttr(index, "lathe.name", StringAttr::get(&getContext(), "rng"));
    for (lir::DropoutOp dropout : dropouts) dropout.getRngMutable().assign(fn.getArgument(index));
    return success();
  }

  /// Asks `op` for its operands' gradients, given those of its results.
  /// New ops go where `builder` points: before the old return, so the
  /// backward sweep follows the forward body.
  LogicalResult propagate(Operation* op, Adjoints& adjoints, OpBuilder& builder) {
    SmallVector<Value> result_grads;
    for (Value result : op->getResults()) result_grads.push_back(adjoints.lookup(result));
    if (llvm::all_of(result_grads, [](Value g) { return !g; })) return success();
    auto differentiable = dyn_cast<lir::DifferentiableOpInterface>(op);
    if (!differentiable) return op->emitOpError("has no gradient rule (see ir/lib/Gradients.cpp)");
    SmallVector<Value> operand_grads = differentiable.buildGradients(builder, result_grads);
    for (auto [operand, grad] : llvm::zip(op->getOperands(), operand_grads))
      if (grad) adjoints.accumulate(operand, grad, op->getLoc());
    return success();
  }
};

}  // namespace
