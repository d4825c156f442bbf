// lathe-build-training: see Passes.td.
#include "lathe/passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace lathe::passes {
#define GEN_PASS_DEF_BUILDTRAINING
#include "lathe/passes/Passes.h.inc"
}  // namespace lathe::passes

using namespace mlir;
namespace lir = lathe::ir;
namespace lk = lathe::kernel;

namespace {

constexpr StringLiteral kNameAttr = "lathe.name";

lir::StateOp createState(OpBuilder& b, Location loc, Type type, const std::string& name, lir::StateKind kind,
                         StringRef initial_weight = {}) {
  return lir::StateOp::create(b, loc, type, b.getStringAttr(name), lir::StateKindAttr::get(b.getContext(), kind),
                              initial_weight.empty() ? StringAttr() : b.getStringAttr(initial_weight));
}

/// A trainable weight: its name and type, in first-use order.
struct Parameter {
  std::string name;
  RankedTensorType type;
};

void copyBounds(func::FuncOp from, func::FuncOp to) {
  to->setAttr(lir::kMaxBatchAttr, from->getAttr(lir::kMaxBatchAttr));
  to->setAttr(lir::kMaxSeqAttr, from->getAttr(lir::kMaxSeqAttr));
}

struct BuildTrainingPass : lathe::passes::impl::BuildTrainingBase<BuildTrainingPass> {
  using BuildTrainingBase::BuildTrainingBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    auto gradients = module.lookupSymbol<func::FuncOp>("gradients");
    if (!forward || !gradients) {
      module.emitError("lathe-build-training needs @forward and @gradients (run lathe-autodiff first)");
      return signalPassFailure();
    }
    for (StringRef name : {"train_micro_step", "eval_loss", "optimizer_step"})
      if (module.lookupSymbol(name)) {
        module.emitError("the module already has a function @") << name;
        return signalPassFailure();
      }
    std::vector<Parameter> parameters;
    for (auto fn : module.getOps<func::FuncOp>()) parametersToStates(fn, fn == gradients ? &parameters : nullptr);
    if (failed(buildMicroStep(gradients))) return signalPassFailure();
    buildEvalLoss(module, forward);
    buildOptimizerStep(module, forward, parameters);
  }

  /// lathe.param "w" -> lathe.state "param.w" (initialized from w).
  static void parametersToStates(func::FuncOp fn, std::vector<Parameter>* collected) {
    SmallVector<lir::ParamOp> params(fn.getOps<lir::ParamOp>());
    for (lir::ParamOp param : params) {
      OpBuilder b(param);
      auto state = createState(b, param.getLoc(), param.getType(), "param." + param.getName().str(),
                               lir::StateKind::parameter, param.getName());
      param.replaceAllUsesWith(state.getResult());
      if (collected) collected->push_back({param.getName().str(), param.getType()});
      param.erase();
    }
  }

  /// @gradients returns (loss, grad.<w>...): the gradients go into states.
  LogicalResult buildMicroStep(func::FuncOp fn) {
    fn.setSymName("train_micro_step");
    Block& body = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    OpBuilder b(&getContext());
    for (unsigned i = 1; i < ret.getNumOperands(); ++i) {
      auto name = fn.getResultAttrOfType<StringAttr>(i, kNameAttr);
      if (!name || !name.getValue().starts_with("grad."))
        return fn.emitOpError("result ") << i << " is not a named weight gradient";
      b.setInsertionPointToStart(&body);
      Value state = createState(b, fn.getLoc(), ret.getOperand(i).getType(), name.str(), lir::StateKind::gradient);
      accumulate(b, ret.getOperand(i), state);
    }
    Value loss = ret.getOperand(0);
    b.setInsertionPoint(ret);
    func::ReturnOp::create(b, ret.getLoc(), loss);
    ret.erase();
    for (unsigned i = fn.getNumResults(); i-- > 1;) (void)fn.eraseResult(i);
    return success();
  }

  /// state += value, one accumulate per summand of a sum that only feeds this
  /// gradient, each right after the summand is computed.
  static void accumulate(OpBuilder& b, Value value, Value state) {
    auto sum = value.getDefiningOp<lir::AddOp>();
    if (sum && sum->hasOneUse()) {
      Value lhs = sum.getLhs(), rhs = sum.getRhs();
      sum->dropAllUses();
      sum.erase();
      accumulate(b, lhs, state);
      accumulate(b, rhs, state);
      return;
    }
    if (Operation* def = value.getDefiningOp()) b.setInsertionPointAfter(def);
    else b.setInsertionPointAfterValue(state);
    lir::AccumulateOp::create(b, value.getLoc(), value, state);
  }

  /// @eval_loss(tokens, targets) -> loss: @forward with the loss appended.
  void buildEvalLoss(ModuleOp module, func::FuncOp forward) {
    func::FuncOp fn = forward.clone();
    fn.setSymName("eval_loss");
    module.insert(std::next(forward->getIterator()), fn);
    Block& body = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Value tokens = fn.getArgument(0);
    (void)fn.insertArgument(1, tokens.getType(), nullptr, fn.getLoc());
    fn.setArgAttr(1, kNameAttr, StringAttr::get(&getContext(), "targets"));
    OpBuilder b(ret);
    Value loss = lir::CrossEntropyOp::create(b, ret.getLoc(), ret.getOperand(0), fn.getArgument(1), ignoreIndex);
    func::ReturnOp::create(b, ret.getLoc(), loss);
    ret.erase();
    fn.setType(b.getFunctionType(fn.getArgumentTypes(), {loss.getType()}));
    fn.setResultAttrs(0, b.getDictionaryAttr(b.getNamedAttr(kNameAttr, b.getStringAttr("loss"))));
  }

  /// Decoupled weight decay applies to matrices only, and not to embeddings.
  static bool decays(const Parameter& p) {
    return p.type.getRank() == 2 && !StringRef(p.name).starts_with("embed.");
  }

  /// @optimizer_step(hyper) -> grad_norm, built directly from kernels.
  void buildOptimizerStep(ModuleOp module, func::FuncOp forward, const std::vector<Parameter>& parameters) {
    OpBuilder b(&getContext());
    b.setInsertionPointToEnd(module.getBody());
    Location loc = forward.getLoc();
    auto vector = [&](int64_t n) { return RankedTensorType::get({n}, b.getF32Type()); };
    auto fn = func::FuncOp::create(b, loc, "optimizer_step", b.getFunctionType({vector(8)}, {vector(1)}));
    copyBounds(forward, fn);
    fn.setArgAttr(0, kNameAttr, b.getStringAttr("hyper"));
    fn.setResultAttr(0, kNameAttr, b.getStringAttr("grad_norm"));
    b.setInsertionPointToStart(fn.addEntryBlock());
    Value hyper = fn.getArgument(0);
    SmallVector<Value> params, grads, firsts, seconds;
    for (const Parameter& p : parameters) {
      params.push_back(createState(b, loc, p.type, "param." + p.name, lir::StateKind::parameter, p.name));
      grads.push_back(createState(b, loc, p.type, "grad." + p.name, lir::StateKind::gradient));
      firsts.push_back(createState(b, loc, p.type, "adam.m." + p.name, lir::StateKind::moment));
      seconds.push_back(createState(b, loc, p.type, "adam.v." + p.name, lir::StateKind::moment));
    }
    Value norm = lk::GradNormOp::create(b, loc, vector(1), hyper, grads);
    for (auto [i, p] : llvm::enumerate(parameters))
      lk::AdamWOp::create(b, NameLoc::get(b.getStringAttr(p.name), loc), p.type, params[i], grads[i], firsts[i],
                          seconds[i], hyper, norm, b.getBoolAttr(decays(p)));
    func::ReturnOp::create(b, loc, norm);
  }
};

}  // namespace
