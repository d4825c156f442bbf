// lathe-fuse-epilogues: see Passes.td.
#include "lathe/passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lathe::passes {
#define GEN_PASS_DEF_FUSEEPILOGUES
#include "lathe/passes/Passes.h.inc"
}  // namespace lathe::passes

using namespace mlir;
namespace lk = lathe::kernel;

namespace {

/// A gemm whose only user is `user`, and whose epilogue has room after `stage`.
lk::GemmOp soleProducerGemm(Value v, bool needs_free_activation) {
  auto gemm = v.getDefiningOp<lk::GemmOp>();
  if (!gemm || !gemm->hasOneUse() || gemm.getResidual()) return {};
  if (needs_free_activation && gemm.getActivation()) return {};
  return gemm;
}

lk::GemmOp rebuildGemm(PatternRewriter& rewriter, Operation* replaced, lk::GemmOp gemm, Value residual,
                       lathe::ir::ActivationKindAttr activation) {
  return rewriter.replaceOpWithNewOp<lk::GemmOp>(replaced, gemm.getType(), gemm.getA(), gemm.getB(), gemm.getBias(),
                                                 residual, activation);
}

/// unary act(gemm(...)) -> gemm(...) activation act
struct FoldActivation : OpRewritePattern<lk::UnaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(lk::UnaryOp op, PatternRewriter& rewriter) const override {
    lk::GemmOp gemm = soleProducerGemm(op.getInput(), /*needs_free_activation=*/true);
    if (!gemm) return failure();
    rebuildGemm(rewriter, op, gemm, Value(), op.getKindAttr());
    rewriter.eraseOp(gemm);
    return success();
  }
};

/// binary add(r, gemm(...)) -> gemm(...) residual r
struct FoldResidual : OpRewritePattern<lk::BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(lk::BinaryOp op, PatternRewriter& rewriter) const override {
    if (op.getKind() != lk::BinaryKind::add) return failure();
    for (auto [product, residual] : {std::pair{op.getLhs(), op.getRhs()}, std::pair{op.getRhs(), op.getLhs()}}) {
      lk::GemmOp gemm = soleProducerGemm(product, /*needs_free_activation=*/false);
      if (!gemm || product == residual) continue;
      rebuildGemm(rewriter, op, gemm, residual, gemm.getActivationAttr());
      rewriter.eraseOp(gemm);
      return success();
    }
    return failure();
  }
};

struct FuseEpiloguesPass : lathe::passes::impl::FuseEpiloguesBase<FuseEpiloguesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldActivation, FoldResidual>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns)))) signalPassFailure();
  }
};

}  // namespace
