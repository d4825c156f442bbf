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
    return lk::LayerNormOp::create(r, op.getLoc(), op.getType(), a.getInput(), a.getWeight(), a.getBias(),
                                     op.getEpsAttr());
  });
  addOneToOne<lir::RMSNormOp>(patterns, [](lir::RMSNormOp op, auto a, R& r) -> Value {
    return lk::RMSNormOp::create(r, op.getLoc(), op.getType(), a.getInput(), a.getWeight(), op.getEpsAttr());
  });
  addOneToOne<lir::LinearOp>(patterns, [](lir::LinearOp op, auto a, R& r) -> Value {
    return lk::GemmOp::create(r, op.getLoc(), op.getType(), a.getInput(), a.getWeight(), a.getBias(),
                                /*residual=*/Value(), /*activation=*/nullptr);
  });
  addOneToOne<lir::ActivationOp>(patterns, [](lir::ActivationOp op, auto a, R& r) -> Value {
    return lk::UnaryOp::create(r, op.getLoc(), op.getType(), op.getKindAttr(), a.getInput());
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
    if (failed(applyFullConversion(getOperation(), target, std::move(patterns)))) signalPassFailure();
  }
};

}  // namespace
