// lathe-lower-to-kernels: see Passes.td.
#include "lathe/passes/Passes.h"

#include "mlir/Transforms/DialectConversion.h"

namespace lathe::passes {
#define GEN_PASS_DEF_LOWERTOKERNELS
#include "lathe/passes/Passes.h.inc"
}  // namespace lathe::passes

using namespace mlir;
namespace lir = lathe::ir;
namespace lk = lathe::kernel;

namespace {

/// Replaces a lathe op by one kernel op built from the op itself.
template <typename SourceOp, typename Build>
struct OneToOne : OpConversionPattern<SourceOp> {
  OneToOne(MLIRContext* ctx, Build build) : OpConversionPattern<SourceOp>(ctx), build(build) {}
  LogicalResult matchAndRewrite(SourceOp op, typename SourceOp::Adaptor adaptor,
                                ConversionPatternRewriter& rewriter) const override {
    Value result = build(op, adaptor, rewriter);
    rewriter.replaceOp(op, result);
    return success();
  }
  Build build;
};

template <typename SourceOp, typename Build>
void addOneToOne(RewritePatternSet& patterns, Build build) {
  patterns.add(std::make_unique<OneToOne<SourceOp, Build>>(patterns.getContext(), build));
}

/// Replaces a multi-result lathe op by one multi-result kernel op.
template <typename SourceOp>
struct LowerMultiResult : OpConversionPattern<SourceOp> {
  using Build = FailureOr<ValueRange> (*)(SourceOp, typename SourceOp::Adaptor, ConversionPatternRewriter&);
  LowerMultiResult(MLIRContext* ctx, Build build) : OpConversionPattern<SourceOp>(ctx), build(build) {}
  LogicalResult matchAndRewrite(SourceOp op, typename SourceOp::Adaptor adaptor,
                                ConversionPatternRewriter& rewriter) const override {
    FailureOr<ValueRange> results = build(op, adaptor, rewriter);
    if (failed(results)) return rewriter.notifyMatchFailure(op, "its forward op was not lowered with saved statistics");
    rewriter.replaceOp(op, *results);
    return success();
  }
  Build build;
};

// ---- training ----
// Forward ops whose backward needs saved statistics lower to the kernels that
// save them (layer_norm_stats, rms_norm_stats, attention_lse); the backward
// kernel finds them among the users of its (already lowered) forward input.

template <typename GradOp, typename Match>
bool hasGradUser(Value input, Match match) {
  return llvm::any_of(input.getUsers(), [&](Operation* user) {
    auto grad = dyn_cast<GradOp>(user);
    return grad && match(grad);
  });
}

template <typename KernelOp, typename Match>
KernelOp findForward(Value lowered_input, Match match) {
  for (Operation* user : lowered_input.getUsers())
    if (auto forward = dyn_cast<KernelOp>(user); forward && match(forward)) return forward;
  return {};
}

/// The fused cross-entropy of `logits` (one kernel computes the loss and,
/// in place, the logits' gradient), created by whichever of lathe.cross_entropy
/// and lathe.cross_entropy_grad lowers first.
lk::CrossEntropyGradOp fusedCrossEntropy(ConversionPatternRewriter& r, Location loc, Value logits, Value targets,
                                         IntegerAttr ignore_index) {
  for (Operation* user : logits.getUsers())
    if (auto fused = dyn_cast<lk::CrossEntropyGradOp>(user); fused && fused.getTargets() == targets) return fused;
  auto type = cast<RankedTensorType>(logits.getType());
  auto loss = RankedTensorType::get({1}, type.getElementType());
  auto stats = RankedTensorType::get({type.getDimSize(0), type.getDimSize(1), 2}, type.getElementType());
  return lk::CrossEntropyGradOp::create(r, loc, type, loss, stats, logits, targets, ignore_index);
}

/// The lathe.accumulate that is the only user of `op`'s result, if any.
lir::AccumulateOp soleAccumulate(Operation* op) {
  if (!op->hasOneUse()) return {};
  return dyn_cast<lir::AccumulateOp>(*op->getUsers().begin());
}

/// Parameter-gradient ops accumulate straight into the gradient state of
/// their sole lathe.accumulate user; this pattern builds that kernel.
template <typename SourceOp, typename Build>
struct IntoAccumulator : OpConversionPattern<SourceOp> {
  IntoAccumulator(MLIRContext* ctx, Build build) : OpConversionPattern<SourceOp>(ctx), build(build) {}
  LogicalResult matchAndRewrite(SourceOp op, typename SourceOp::Adaptor adaptor,
                                ConversionPatternRewriter& rewriter) const override {
    lir::AccumulateOp accumulate = soleAccumulate(op);
    if (!accumulate)
      return rewriter.notifyMatchFailure(op, "a parameter gradient must be accumulated into a gradient state");
    rewriter.replaceOp(op, build(op, adaptor, rewriter.getRemappedValue(accumulate.getState()), rewriter));
    return success();
  }
  Build build;
};

template <typename SourceOp, typename Build>
void addIntoAccumulator(RewritePatternSet& patterns, Build build) {
  patterns.add(std::make_unique<IntoAccumulator<SourceOp, Build>>(patterns.getContext(), build));
}

/// state += value; a no-op when the value's kernel already accumulated into it.
struct LowerAccumulate : OpConversionPattern<lir::AccumulateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(lir::AccumulateOp op, OpAdaptor adaptor, ConversionPatternRewriter& r) const override {
    Operation* producer = adaptor.getValue().getDefiningOp();
    if (producer && isa<lk::LinearGradWeightOp, lk::BiasGradOp, lk::EmbeddingGradOp, lk::PositionsGradOp>(producer) &&
        producer->getOperand(0) == adaptor.getState()) {
      r.replaceOp(op, adaptor.getValue());
      return success();
    }
    r.replaceOp(op, lk::AccumulateOp::create(r, op.getLoc(), op.getType(), adaptor.getState(), adaptor.getValue()));
    return success();
  }
};

void populateTrainingPatterns(RewritePatternSet& patterns) {
  using R = ConversionPatternRewriter;
  patterns.add<LowerAccumulate>(patterns.getContext());
  addOneToOne<lir::CrossEntropyOp>(patterns, [](lir::CrossEntropyOp op, auto a, R& r) -> Value {
    bool has_grad = hasGradUser<lir::CrossEntropyGradOp>(
        op.getLogits(), [&](lir::CrossEntropyGradOp g) { return g.getTargets() == op.getTargets(); });
    if (has_grad) return fusedCrossEntropy(r, op.getLoc(), a.getLogits(), a.getTargets(), op.getIgnoreIndexAttr()).getLoss();
    auto type = cast<RankedTensorType>(op.getLogits().getType());
    auto stats = RankedTensorType::get({type.getDimSize(0), type.getDimSize(1), 2}, type.getElementType());
    return lk::CrossEntropyOp::create(r, op.getLoc(), op.getType(), stats, a.getLogits(), a.getTargets(),
                                      op.getIgnoreIndexAttr()).getLoss();
  });
  addOneToOne<lir::CrossEntropyGradOp>(patterns, [](lir::CrossEntropyGradOp op, auto a, R& r) -> Value {
    return fusedCrossEntropy(r, op.getLoc(), a.getLogits(), a.getTargets(), op.getIgnoreIndexAttr()).getLogitsGrad();
  });
  addOneToOne<lir::LinearGradInputOp>(patterns, [](lir::LinearGradInputOp op, auto a, R& r) -> Value {
    return lk::LinearGradInputOp::create(r, op.getLoc(), op.getType(), a.getOutputGrad(), a.getWeight());
  });
  addIntoAccumulator<lir::LinearGradWeightOp>(patterns, [](lir::LinearGradWeightOp op, auto a, Value acc, R& r) -> Value {
    return lk::LinearGradWeightOp::create(r, op.getLoc(), acc.getType(), acc, a.getOutputGrad(), a.getInput());
  });
  addIntoAccumulator<lir::BiasGradOp>(patterns, [](lir::BiasGradOp op, auto a, Value acc, R& r) -> Value {
    return lk::BiasGradOp::create(r, op.getLoc(), acc.getType(), acc, a.getOutputGrad());
  });
  addIntoAccumulator<lir::EmbeddingGradOp>(patterns, [](lir::EmbeddingGradOp op, auto a, Value acc, R& r) -> Value {
    return lk::EmbeddingGradOp::create(r, op.getLoc(), acc.getType(), acc, a.getOutputGrad(), a.getIds());
  });
  addIntoAccumulator<lir::PositionsGradOp>(patterns, [](lir::PositionsGradOp op, auto a, Value acc, R& r) -> Value {
    return lk::PositionsGradOp::create(r, op.getLoc(), acc.getType(), acc, a.getOutputGrad());
  });
  addOneToOne<lir::ActivationGradOp>(patterns, [](lir::ActivationGradOp op, auto a, R& r) -> Value {
    return lk::UnaryGradOp::create(r, op.getLoc(), op.getType(), op.getKindAttr(), a.getInput(), a.getOutputGrad());
  });
  addOneToOne<lir::RopeGradOp>(patterns, [](lir::RopeGradOp op, auto a, R& r) -> Value {
    return lk::RopeGradOp::create(r, op.getLoc(), op.getType(), a.getOutputGrad(), op.getThetaAttr());
  });
  patterns.add<LowerMultiResult<lir::SwiGLUGradOp>>(patterns.getContext(),
      [](lir::SwiGLUGradOp op, lir::SwiGLUGradOp::Adaptor a, R& r) -> FailureOr<ValueRange> {
        return lk::SwiGLUGradOp::create(r, op.getLoc(), op.getType(0), op.getType(1), a.getGate(), a.getUp(),
                                        a.getOutputGrad())->getResults();
      });
  patterns.add<LowerMultiResult<lir::LayerNormGradOp>>(patterns.getContext(),
      [](lir::LayerNormGradOp op, lir::LayerNormGradOp::Adaptor a, R& r) -> FailureOr<ValueRange> {
        auto forward = findForward<lk::LayerNormStatsOp>(a.getInput(), [&](lk::LayerNormStatsOp f) {
          return f.getWeight() == a.getWeight() && f.getEps() == op.getEps();
        });
        if (!forward) return failure();
        return lk::LayerNormGradOp::create(r, op.getLoc(), op->getResultTypes(), a.getOutputGrad(), a.getInput(),
                                           a.getWeight(), forward.getMean(), forward.getRstd())->getResults();
      });
  patterns.add<LowerMultiResult<lir::RMSNormGradOp>>(patterns.getContext(),
      [](lir::RMSNormGradOp op, lir::RMSNormGradOp::Adaptor a, R& r) -> FailureOr<ValueRange> {
        auto forward = findForward<lk::RMSNormStatsOp>(a.getInput(), [&](lk::RMSNormStatsOp f) {
          return f.getWeight() == a.getWeight() && f.getEps() == op.getEps();
        });
        if (!forward) return failure();
        return lk::RMSNormGradOp::create(r, op.getLoc(), op->getResultTypes(), a.getOutputGrad(), a.getInput(),
                                         a.getWeight(), forward.getRstd())->getResults();
      });
  patterns.add<LowerMultiResult<lir::AttentionGradOp>>(patterns.getContext(),
      [](lir::AttentionGradOp op, lir::AttentionGradOp::Adaptor a, R& r) -> FailureOr<ValueRange> {
        auto forward = findForward<lk::AttentionLseOp>(a.getQuery(), [&](lk::AttentionLseOp f) {
          return f.getKey() == a.getKey() && f.getValue() == a.getValue() && f.getScale() == op.getScale() &&
                 f.getCausal() == op.getCausal();
        });
        if (!forward) return failure();
        return lk::AttentionGradOp::create(r, op.getLoc(), op->getResultTypes(), a.getOutputGrad(), a.getQuery(),
                                           a.getKey(), a.getValue(), forward.getResult(), forward.getLse(),
                                           op.getScaleAttr(), op.getCausalAttr())->getResults();
      });
}

/// Rows of `type` (all but the last dim): the shape of per-row statistics.
RankedTensorType rowType(Type type) {
  auto ranked = cast<RankedTensorType>(type);
  return RankedTensorType::get(ranked.getShape().drop_back(), ranked.getElementType());
}

void populateLoweringPatterns(RewritePatternSet& patterns) {
  using R = ConversionPatternRewriter;
  addOneToOne<lir::EmbeddingOp>(patterns, [](lir::EmbeddingOp op, auto a, R& r) -> Value {
    return lk::EmbeddingOp::create(r, op.getLoc(), op.getType(), a.getTable(), a.getIds());
  });
  addOneToOne<lir::AddPositionsOp>(patterns, [](lir::AddPositionsOp op, auto a, R& r) -> Value {
    return lk::AddPositionsOp::create(r, op.getLoc(), op.getType(), op.getKindAttr(), a.getInput(), a.getTable(),
                                      a.getOffsets());
  });
  addOneToOne<lir::LayerNormOp>(patterns, [](lir::LayerNormOp op, auto a, R& r) -> Value {
    if (hasGradUser<lir::LayerNormGradOp>(op.getInput(), [&](lir::LayerNormGradOp g) {
          return g.getWeight() == op.getWeight() && g.getEps() == op.getEps();
        })) {
      Type rows = rowType(op.getType());
      return lk::LayerNormStatsOp::create(r, op.getLoc(), op.getType(), rows, rows, a.getInput(), a.getWeight(),
                                          a.getBias(), op.getEpsAttr()).getResult();
    }
    return lk::LayerNormOp::create(r, op.getLoc(), op.getType(), a.getInput(), a.getWeight(), a.getBias(),
                                     op.getEpsAttr());
  });
  addOneToOne<lir::RMSNormOp>(patterns, [](lir::RMSNormOp op, auto a, R& r) -> Value {
    if (hasGradUser<lir::RMSNormGradOp>(op.getInput(), [&](lir::RMSNormGradOp g) {
          return g.getWeight() == op.getWeight() && g.getEps() == op.getEps();
        }))
      return lk::RMSNormStatsOp::create(r, op.getLoc(), op.getType(), rowType(op.getType()), a.getInput(),
                                        a.getWeight(), op.getEpsAttr()).getResult();
    return lk::RMSNormOp::create(r, op.getLoc(), op.getType(), a.getInput(), a.getWeight(), op.getEpsAttr());
  });
  addOneToOne<lir::LinearOp>(patterns, [](lir::LinearOp op, auto a, R& r) -> Value {
    return lk::GemmOp::create(r, op.getLoc(), op.getType(), a.getInput(), a.getWeight(), a.getBias(),
                                /*residual=*/Value(), /*activation=*/nullptr);
  });
  addOneToOne<lir::ActivationOp>(patterns, [](lir::ActivationOp op, auto a, R& r) -> Value {
    return lk::UnaryOp::create(r, op.getLoc(), op.getType(), op.getKindAttr(), a.getInput());
  });
  // Without rng (evaluation) or with p = 0 dropout is the identity; canonicalization usually removed it already.
  addOneToOne<lir::DropoutOp>(patterns, [](lir::DropoutOp op, auto a, R& r) -> Value {
    if (!a.getRng() || op.getP().isZero()) return a.getInput();
    return lk::DropoutOp::create(r, op.getLoc(), op.getType(), a.getInput(), a.getRng(), op.getPAttr(),
                                 op.getStreamAttr());
  });
  addOneToOne<lir::AddOp>(patterns, [](lir::AddOp op, auto a, R& r) -> Value {
    auto kind = lk::BinaryKindAttr::get(op.getContext(), lk::BinaryKind::add);
    return lk::BinaryOp::create(r, op.getLoc(), op.getType(), kind, a.getLhs(), a.getRhs());
  });
  addOneToOne<lir::MulOp>(patterns, [](lir::MulOp op, auto a, R& r) -> Value {
    auto kind = lk::BinaryKindAttr::get(op.getContext(), lk::BinaryKind::mul);
    return lk::BinaryOp::create(r, op.getLoc(), op.getType(), kind, a.getLhs(), a.getRhs());
  });
  addOneToOne<lir::SwiGLUOp>(patterns, [](lir::SwiGLUOp op, auto a, R& r) -> Value {
    return lk::SwiGLUOp::create(r, op.getLoc(), op.getType(), a.getGate(), a.getUp());
  });
  addOneToOne<lir::ReshapeOp>(patterns, [](lir::ReshapeOp op, auto a, R& r) -> Value {
    return lk::ViewOp::create(r, op.getLoc(), op.getType(), a.getInput());
  });
  addOneToOne<lir::RopeOp>(patterns, [](lir::RopeOp op, auto a, R& r) -> Value {
    return lk::RopeOp::create(r, op.getLoc(), op.getType(), a.getInput(), a.getOffsets(), op.getThetaAttr());
  });
  addOneToOne<lir::AttentionOp>(patterns, [](lir::AttentionOp op, auto a, R& r) -> Value {
    if (hasGradUser<lir::AttentionGradOp>(op.getQuery(), [&](lir::AttentionGradOp g) {
          return g.getKey() == op.getKey() && g.getValue() == op.getValue() && g.getScale() == op.getScale() &&
                 g.getCausal() == op.getCausal();
        }))
      return lk::AttentionLseOp::create(r, op.getLoc(), op.getType(), rowType(op.getType()), a.getQuery(),
                                        a.getKey(), a.getValue(), op.getScaleAttr(), op.getCausalAttr()).getResult();
    return lk::AttentionOp::create(r, op.getLoc(), op.getType(), a.getQuery(), a.getKey(), a.getValue(),
                                     op.getScaleAttr(), op.getCausalAttr());
  });
  addOneToOne<lir::CacheWriteOp>(patterns, [](lir::CacheWriteOp op, auto a, R& r) -> Value {
    return lk::CacheWriteOp::create(r, op.getLoc(), op.getType(), a.getCache(), a.getValue(), a.getOffsets());
  });
  addOneToOne<lir::CachedAttentionOp>(patterns, [](lir::CachedAttentionOp op, auto a, R& r) -> Value {
    return lk::CachedAttentionOp::create(r, op.getLoc(), op.getType(), a.getQuery(), a.getKeyCache(),
                                         a.getValueCache(), a.getOffsets(), op.getScaleAttr());
  });
  addOneToOne<lir::GatherLastOp>(patterns, [](lir::GatherLastOp op, auto a, R& r) -> Value {
    return lk::GatherLastOp::create(r, op.getLoc(), op.getType(), a.getInput(), a.getLengths());
  });
}

struct LowerToKernelsPass : lathe::passes::impl::LowerToKernelsBase<LowerToKernelsPass> {
  void runOnOperation() override {
    ConversionTarget target(getContext());
    target.addLegalDialect<lk::KernelDialect, func::FuncDialect>();
    target.addIllegalDialect<lir::LatheDialect>();
    target.addLegalOp<lir::ParamOp, lir::StateOp>();  // weights and states stay named references
    RewritePatternSet patterns(&getContext());
    populateLoweringPatterns(patterns);
    populateTrainingPatterns(patterns);
    if (failed(applyFullConversion(getOperation(), target, std::move(patterns)))) signalPassFailure();
  }
};

}  // namespace
