// Verifiers, shape inference and canonicalization of the lathe dialect.
#include "lathe/ir/LatheDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace lathe::ir;

#define GET_OP_CLASSES
#include "lathe/ir/LatheOps.cpp.inc"

namespace {

RankedTensorType rankedType(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Checks that a per-channel vector (weight or bias of a norm) has C elements.
LogicalResult verifyChannelVector(Operation* op, Value vector, StringRef role, int64_t channels) {
  auto type = rankedType(vector);
  if (type.getRank() != 1 || type.getDimSize(0) != channels)
    return op->emitOpError() << role << " must have shape (" << channels << "), got " << type;
  return success();
}

LogicalResult emitInferError(std::optional<Location> loc, const Twine& message) {
  if (loc) mlir::emitError(*loc) << message;
  return failure();
}

}  // namespace

//===----------------------------------------------------------------------===//
// dropout
//===----------------------------------------------------------------------===//

LogicalResult DropoutOp::verify() {
  const double p = getP().convertToDouble();
  if (!(p >= 0 && p < 1)) return emitOpError("p must be in [0, 1), got ") << p;
  if (getStreamAttr().getInt() < 0) return emitOpError("stream must be >= 0, got ") << getStreamAttr().getInt();
  if (getRng()) {
    auto rng = rankedType(getRng());
    if (rng.getRank() != 1 || rng.getDimSize(0) != 2)
      return emitOpError("rng must be a (2) i32 tensor [seed, step], got ") << rng;
  }
  return success();
}

// Without an rng (evaluation) or with p = 0 dropout is the identity.
OpFoldResult DropoutOp::fold(FoldAdaptor) {
  if (!getRng() || getP().isZero()) return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// param
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getName().empty()) return emitOpError("needs a non-empty weight name");
  if (!getType().hasStaticShape()) return emitOpError("weights must have a static shape");
  return success();
}

//===----------------------------------------------------------------------===//
// embedding: (V,C) table, (B,T) ids -> (B,T,C)
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext*, std::optional<Location> loc, ValueRange operands,
                                            DictionaryAttr, OpaqueProperties, RegionRange,
                                            SmallVectorImpl<Type>& results) {
  auto table = rankedType(operands[0]);
  auto ids = rankedType(operands[1]);
  if (table.getRank() != 2) return emitInferError(loc, "embedding table must be (V, C)");
  if (ids.getRank() != 2) return emitInferError(loc, "embedding ids must be (B, T)");
  results.push_back(RankedTensorType::get({ids.getDimSize(0), ids.getDimSize(1), table.getDimSize(1)},
                                          table.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// add_positions
//===----------------------------------------------------------------------===//

LogicalResult AddPositionsOp::inferReturnTypes(MLIRContext*, std::optional<Location>, ValueRange operands,
                                               DictionaryAttr, OpaqueProperties, RegionRange,
                                               SmallVectorImpl<Type>& results) {
  results.push_back(operands[0].getType());
  return success();
}

LogicalResult AddPositionsOp::verify() {
  auto input = getInput().getType();
  if (input.getRank() != 3) return emitOpError("input must be (B, T, C), got ") << input;
  if (failed(verifyOffsets(*this, getOffsets(), "offsets"))) return failure();
  bool learned = getKind() == PositionKind::learned;
  if (learned != static_cast<bool>(getTable()))
    return emitOpError(learned ? "learned positions need a table" : "sinusoidal positions take no table");
  if (!learned) return success();
  auto table = getTable().getType();
  if (table.getRank() != 2 || table.getDimSize(1) != input.getDimSize(2))
    return emitOpError("position table must be (P, ") << input.getDimSize(2) << "), got " << table;
  if (!ShapedType::isDynamic(input.getDimSize(1)) && input.getDimSize(1) > table.getDimSize(0))
    return emitOpError("sequence of ") << input.getDimSize(1) << " exceeds the " << table.getDimSize(0)
                                       << " learned positions";
  return success();
}

//===----------------------------------------------------------------------===//
// norms
//===----------------------------------------------------------------------===//

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext*, std::optional<Location>, ValueRange operands,
                                            DictionaryAttr, OpaqueProperties, RegionRange,
                                            SmallVectorImpl<Type>& results) {
  results.push_back(operands[0].getType());
  return success();
}

LogicalResult LayerNormOp::verify() {
  int64_t channels = getInput().getType().getShape().back();
  if (failed(verifyChannelVector(*this, getWeight(), "weight", channels)) ||
      failed(verifyChannelVector(*this, getBias(), "bias", channels)))
    return failure();
  if (!(getEps().convertToFloat() > 0)) return emitOpError("eps must be positive");
  return success();
}

LogicalResult RMSNormOp::inferReturnTypes(MLIRContext*, std::optional<Location>, ValueRange operands,
                                          DictionaryAttr, OpaqueProperties, RegionRange,
                                          SmallVectorImpl<Type>& results) {
  results.push_back(operands[0].getType());
  return success();
}

LogicalResult RMSNormOp::verify() {
  int64_t channels = getInput().getType().getShape().back();
  if (failed(verifyChannelVector(*this, getWeight(), "weight", channels))) return failure();
  if (!(getEps().convertToFloat() > 0)) return emitOpError("eps must be positive");
  return success();
}

//===----------------------------------------------------------------------===//
// linear: (..., K) x (N, K)^T + (N) -> (..., N)
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::inferReturnTypes(MLIRContext*, std::optional<Location> loc, ValueRange operands,
                                         DictionaryAttr, OpaqueProperties, RegionRange,
                                         SmallVectorImpl<Type>& results) {
  auto input = rankedType(operands[0]);
  auto weight = rankedType(operands[1]);
  if (weight.getRank() != 2) return emitInferError(loc, "linear weight must be (out, in)");
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = weight.getDimSize(0);
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult LinearOp::verify() {
  auto input = getInput().getType();
  auto weight = getWeight().getType();
  if (input.getShape().back() != weight.getDimSize(1))
    return emitOpError("input has ") << input.getShape().back() << " features but the weight expects "
                                     << weight.getDimSize(1);
  if (getBias()) return verifyChannelVector(*this, getBias(), "bias", weight.getDimSize(0));
  return success();
}

//===----------------------------------------------------------------------===//
// reshape
//===----------------------------------------------------------------------===//

namespace {
/// Product of the dims after the (B, T) prefix; the prefix must stay.
int64_t trailingElements(RankedTensorType type) {
  int64_t n = 1;
  for (int64_t d : type.getShape().drop_front(2)) n *= d;
  return n;
}
}  // namespace

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType();
  auto out = getType();
  if (in.getElementType() != out.getElementType()) return emitOpError("element types differ");
  if (in.getRank() < 2 || out.getRank() < 2 || in.getShape().take_front(2) != out.getShape().take_front(2))
    return emitOpError("must keep the leading (B, T) dimensions: ") << in << " -> " << out;
  if (ShapedType::isDynamicShape(in.getShape().drop_front(2)) ||
      ShapedType::isDynamicShape(out.getShape().drop_front(2)))
    return emitOpError("only the leading (B, T) dimensions may be dynamic");
  if (trailingElements(in) != trailingElements(out))
    return emitOpError("element counts differ: ") << in << " -> " << out;
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType()) return getInput();
  return {};
}

namespace {
/// reshape(reshape(x)) -> reshape(x)
struct FoldReshapeChain : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter& rewriter) const override {
    auto producer = op.getInput().getDefiningOp<ReshapeOp>();
    if (!producer) return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), producer.getInput());
    return success();
  }
};
}  // namespace

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet& patterns, MLIRContext* context) {
  patterns.add<FoldReshapeChain>(context);
}

//===----------------------------------------------------------------------===//
// mul: mul(silu(gate), up) -> swiglu(gate, up)
//===----------------------------------------------------------------------===//

namespace {
struct FormSwiGLU : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter& rewriter) const override {
    for (auto [gate, up] : {std::pair{op.getLhs(), op.getRhs()}, std::pair{op.getRhs(), op.getLhs()}}) {
      auto act = gate.getDefiningOp<ActivationOp>();
      if (!act || act.getKind() != ActivationKind::silu || !act->hasOneUse()) continue;
      rewriter.replaceOpWithNewOp<SwiGLUOp>(op, act.getInput(), up);
      return success();
    }
    return failure();
  }
};
}  // namespace

void MulOp::getCanonicalizationPatterns(RewritePatternSet& patterns, MLIRContext* context) {
  patterns.add<FormSwiGLU>(context);
}

//===----------------------------------------------------------------------===//
// rope and attention on (B, T, H, D)
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::inferReturnTypes(MLIRContext*, std::optional<Location>, ValueRange operands, DictionaryAttr,
                                       OpaqueProperties, RegionRange, SmallVectorImpl<Type>& results) {
  results.push_back(operands[0].getType());
  return success();
}

LogicalResult RopeOp::verify() {
  auto type = getType();
  if (failed(verifyOffsets(*this, getOffsets(), "offsets"))) return failure();
  if (type.getRank() != 4) return emitOpError("input must be (B, T, H, D), got ") << type;
  if (type.getDimSize(3) % 2 != 0) return emitOpError("head dimension must be even, got ") << type.getDimSize(3);
  if (!(getTheta().convertToFloat() > 0)) return emitOpError("theta must be positive");
  return success();
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext*, std::optional<Location>, ValueRange operands,
                                            DictionaryAttr, OpaqueProperties, RegionRange,
                                            SmallVectorImpl<Type>& results) {
  results.push_back(operands[0].getType());
  return success();
}

LogicalResult AttentionOp::verify() {
  auto q = getQuery().getType();
  auto k = getKey().getType();
  if (q.getRank() != 4 || k.getRank() != 4) return emitOpError("q, k, v must be (B, T, heads, D)");
  if (k != getValue().getType()) return emitOpError("key and value types differ: ") << k << " vs " << getValue().getType();
  if (q.getShape().take_front(2) != k.getShape().take_front(2)) return emitOpError("q and k (B, T) differ");
  if (q.getDimSize(3) != k.getDimSize(3)) return emitOpError("q and k head dims differ");
  if (q.getDimSize(2) % k.getDimSize(2) != 0)
    return emitOpError("query heads (") << q.getDimSize(2) << ") must be a multiple of kv heads ("
                                        << k.getDimSize(2) << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// loss and gradient ops
//===----------------------------------------------------------------------===//

LogicalResult CrossEntropyOp::verify() {
  auto logits = getLogits().getType();
  auto targets = getTargets().getType();
  if (logits.getRank() != 3 || targets.getRank() != 2 || logits.getShape().take_front(2) != targets.getShape())
    return emitOpError("needs logits (B, T, V) and targets (B, T), got ") << logits << " and " << targets;
  if (getLoss().getType().getShape() != ArrayRef<int64_t>{1})
    return emitOpError("the loss must be a (1) vector, got ") << getLoss().getType();
  return success();
}

LogicalResult LinearGradInputOp::verify() {
  auto dy = getOutputGrad().getType();
  auto weight = getWeight().getType();
  auto dx = getType();
  if (weight.getRank() != 2 || dy.getShape().back() != weight.getDimSize(0) ||
      dx.getShape().back() != weight.getDimSize(1) || dx.getShape().drop_back() != dy.getShape().drop_back())
    return emitOpError("expects dy (..., N), W (N, K) -> dx (..., K), got ") << dy << ", " << weight << " -> " << dx;
  return success();
}

LogicalResult LinearGradWeightOp::verify() {
  auto dy = getOutputGrad().getType();
  auto x = getInput().getType();
  auto dw = getType();
  if (dw.getRank() != 2 || dw.getDimSize(0) != dy.getShape().back() || dw.getDimSize(1) != x.getShape().back() ||
      dy.getShape().drop_back() != x.getShape().drop_back())
    return emitOpError("expects dy (..., N), x (..., K) -> dW (N, K), got ") << dy << ", " << x << " -> " << dw;
  return success();
}

LogicalResult EmbeddingGradOp::verify() {
  auto dy = getOutputGrad().getType();
  auto table = getType();
  if (dy.getRank() != 3 || table.getRank() != 2 || table.getDimSize(1) != dy.getDimSize(2))
    return emitOpError("expects dy (B, T, C) -> dtable (V, C), got ") << dy << " -> " << table;
  return success();
}
// inference with a KV cache
//===----------------------------------------------------------------------===//

namespace lathe::ir {

LogicalResult verifyOffsets(Operation* op, Value offsets, StringRef role) {
  if (!offsets) return success();
  auto type = rankedType(offsets);
  if (type.getRank() != 1) return op->emitOpError() << role << " must be a (B) vector, got " << type;
  return success();
}

LogicalResult verifyCacheOperands(Operation* op, RankedTensorType value, RankedTensorType cache, Value offsets) {
  if (cache.getRank() != 4 || !cache.hasStaticShape())
    return op->emitOpError("cache must be a static (Bmax, S, Hkv, D) tensor, got ") << cache;
  if (value.getRank() != 4) return op->emitOpError("value must be (B, T, Hkv, D), got ") << value;
  if (value.getShape().drop_front(2) != cache.getShape().drop_front(2))
    return op->emitOpError("value heads and head dim ") << value << " differ from the cache's " << cache;
  for (int64_t i = 0; i < 2; ++i)
    if (!value.isDynamicDim(i) && value.getDimSize(i) > cache.getDimSize(i))
      return op->emitOpError("value ") << (i == 0 ? "batch" : "length") << " " << value.getDimSize(i)
                                       << " exceeds the cache's " << cache.getDimSize(i);
  if (value.getElementType() != cache.getElementType()) return op->emitOpError("value and cache element types differ");
  return verifyOffsets(op, offsets, "offsets");
}

}  // namespace lathe::ir

LogicalResult StateOp::verify() {
  if (getName().empty()) return emitOpError("needs a non-empty state name");
  if (!getType().hasStaticShape()) return emitOpError("state must have a static shape, got ") << getType();
  const bool parameter = getKind() == StateKind::parameter;
  if (parameter != static_cast<bool>(getInitialWeight()))
    return emitOpError(parameter ? "a parameter state needs an initial_weight"
                                 : "only a parameter state has an initial_weight");
  if (parameter && getInitialWeight()->empty()) return emitOpError("initial_weight must name a weight");
  return success();
}

LogicalResult AccumulateOp::verify() {
  auto state = getState().getDefiningOp<StateOp>();
  if (!state || state.getKind() != StateKind::gradient)
    return emitOpError("must accumulate into a gradient lathe.state");
  return success();
}

LogicalResult CacheWriteOp::verify() {
  return verifyCacheOperands(*this, getValue().getType(), getCache().getType(), getOffsets());
}

LogicalResult CachedAttentionOp::inferReturnTypes(MLIRContext*, std::optional<Location>, ValueRange operands,
                                                  DictionaryAttr, OpaqueProperties, RegionRange,
                                                  SmallVectorImpl<Type>& results) {
  results.push_back(operands[0].getType());
  return success();
}

LogicalResult CachedAttentionOp::verify() {
  auto q = getQuery().getType();
  auto k = getKeyCache().getType();
  if (k != getValueCache().getType()) return emitOpError("key and value caches differ: ") << k << " vs " << getValueCache().getType();
  if (q.getRank() != 4) return emitOpError("query must be (B, T, H, D), got ") << q;
  if (k.getRank() == 4 && q.getDimSize(2) % k.getDimSize(2) != 0)
    return emitOpError("query heads (") << q.getDimSize(2) << ") must be a multiple of kv heads ("
                                        << k.getDimSize(2) << ")";
  auto as_kv = RankedTensorType::get({q.getDimSize(0), q.getDimSize(1), k.getRank() == 4 ? k.getDimSize(2) : 1,
                                      q.getDimSize(3)}, q.getElementType());
  return verifyCacheOperands(*this, as_kv, k, getOffsets());
}

LogicalResult GatherLastOp::inferReturnTypes(MLIRContext*, std::optional<Location> loc, ValueRange operands,
                                             DictionaryAttr, OpaqueProperties, RegionRange,
                                             SmallVectorImpl<Type>& results) {
  auto input = rankedType(operands[0]);
  if (input.getRank() != 3) return emitInferError(loc, "gather_last input must be (B, T, C)");
  results.push_back(RankedTensorType::get({input.getDimSize(0), input.getDimSize(2)}, input.getElementType()));
  return success();
}

LogicalResult GatherLastOp::verify() {
  if (getInput().getType().getRank() != 3) return emitOpError("input must be (B, T, C), got ") << getInput().getType();
  return verifyOffsets(*this, getLengths(), "lengths");
}
