#include "lathe/ir/KernelDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace lathe::kernel;

#include "lathe/ir/KernelDialect.cpp.inc"
#include "lathe/ir/KernelEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "lathe/ir/KernelAttrs.cpp.inc"
#define GET_OP_CLASSES
#include "lathe/ir/KernelOps.cpp.inc"

void KernelDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "lathe/ir/KernelAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "lathe/ir/KernelOps.cpp.inc"
      >();
}

std::optional<int64_t> lathe::kernel::plannedValue(OpResult result, StringRef attr) {
  Attribute value = result.getOwner()->getAttr(attr);
  if (auto single = dyn_cast_or_null<IntegerAttr>(value)) {
    if (result.getOwner()->getNumResults() == 1) return single.getInt();
  } else if (auto array = dyn_cast_or_null<DenseI64ArrayAttr>(value)) {
    if (static_cast<int64_t>(result.getResultNumber()) < array.size() && array[result.getResultNumber()] >= 0)
      return array[result.getResultNumber()];
  }
  return std::nullopt;
}

void lathe::kernel::setPlannedValues(Operation* op, StringRef attr, ArrayRef<int64_t> values) {
  if (llvm::all_of(values, [](int64_t v) { return v < 0; })) return;
  Builder builder(op->getContext());
  if (values.size() == 1) op->setAttr(attr, builder.getI64IntegerAttr(values[0]));
  else op->setAttr(attr, builder.getDenseI64ArrayAttr(values));
}

LogicalResult GemmOp::verify() {
  auto a = getA().getType();
  auto b = getB().getType();
  auto c = getResult().getType();
  if (b.getRank() != 2)
    return emitOpError("B must be (N, K), got rank ") << b.getRank();
  if (a.getRank() != c.getRank())
    return emitOpError("A and result ranks differ");
  int64_t k = a.getShape().back(), n = b.getDimSize(0);
  if (k != b.getDimSize(1))
    return emitOpError("contraction sizes differ: A has K=") << k << ", B has K=" << b.getDimSize(1);
  if (c.getShape().back() != n)
    return emitOpError("result has N=") << c.getShape().back() << ", B has N=" << n;
  if (getBias() && getBias().getType().getNumElements() != n)
    return emitOpError("bias must have N=") << n << " elements";
  if (getResidual() && getResidual().getType() != c)
    return emitOpError("residual type must equal the result type");
  return success();
}

LogicalResult CacheWriteOp::verify() {
  return lathe::ir::verifyCacheOperands(*this, getValue().getType(), getCache().getType(), getOffsets());
}

LogicalResult CachedAttentionOp::verify() {
  auto q = getQuery().getType();
  auto k = getKeyCache().getType();
  if (k != getValueCache().getType()) return emitOpError("key and value caches differ");
  if (q.getRank() != 4 || k.getRank() != 4 || q.getDimSize(2) % k.getDimSize(2) != 0)
    return emitOpError("needs (B,T,H,D) queries with H a multiple of the cache's Hkv");
  auto as_kv = RankedTensorType::get({q.getDimSize(0), q.getDimSize(1), k.getDimSize(2), q.getDimSize(3)},
                                     q.getElementType());
  return lathe::ir::verifyCacheOperands(*this, as_kv, k, getOffsets());
}

// ---- training kernels ----

namespace {

/// `type` without its last dimension: the shape of per-row statistics.
RankedTensorType rowsOf(RankedTensorType type) {
  return RankedTensorType::get(type.getShape().drop_back(), type.getElementType());
}

LogicalResult expectType(Operation* op, Value value, Type expected, StringRef role) {
  if (value.getType() != expected) return op->emitOpError(role) << " must be " << expected << ", got " << value.getType();
  return success();
}

LogicalResult expectVector(Operation* op, Value value, int64_t size, StringRef role) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() != 1 || type.getDimSize(0) != size)
    return op->emitOpError(role) << " must be a (" << size << ") vector, got " << type;
  return success();
}

int64_t lastDim(Value value) { return cast<RankedTensorType>(value.getType()).getShape().back(); }

/// dy (..., N) and x (..., K) with the same leading dims; acc (N, K).
LogicalResult verifyLinearShapes(Operation* op, Value output_grad, Value input, Value weight) {
  auto dy = cast<RankedTensorType>(output_grad.getType());
  auto x = cast<RankedTensorType>(input.getType());
  auto w = cast<RankedTensorType>(weight.getType());
  if (w.getRank() != 2) return op->emitOpError("the weight must be (N, K), got ") << w;
  if (dy.getShape().drop_back() != x.getShape().drop_back())
    return op->emitOpError("output gradient ") << dy << " and input " << x << " differ in their leading dims";
  if (dy.getShape().back() != w.getDimSize(0) || x.getShape().back() != w.getDimSize(1))
    return op->emitOpError("expects (..., N) x (..., K) for an (N, K) weight, got ") << dy << ", " << x << ", " << w;
  return success();
}

}  // namespace

LogicalResult LayerNormStatsOp::verify() {
  Type rows = rowsOf(getInput().getType());
  if (failed(expectType(*this, getMean(), rows, "mean")) || failed(expectType(*this, getRstd(), rows, "rstd")))
    return failure();
  if (getWeight().getType() != getBias().getType()) return emitOpError("weight and bias types differ");
  return expectVector(*this, getWeight(), lastDim(getInput()), "weight");
}

LogicalResult RMSNormStatsOp::verify() {
  if (failed(expectType(*this, getRstd(), rowsOf(getInput().getType()), "rstd"))) return failure();
  return expectVector(*this, getWeight(), lastDim(getInput()), "weight");
}

LogicalResult AttentionLseOp::verify() {
  auto q = getQuery().getType();
  if (q.getRank() != 4) return emitOpError("needs (B,T,H,D) queries, got ") << q;
  if (getKey().getType() != getValue().getType()) return emitOpError("key and value types differ");
  if (failed(expectType(*this, getResult(), q, "result"))) return failure();
  return expectType(*this, getLse(), rowsOf(q), "lse");
}

namespace {
LogicalResult verifyCrossEntropy(Operation* op, Value logits, Value targets, Value loss, Value token_stats) {
  auto l = cast<RankedTensorType>(logits.getType());
  if (l.getRank() != 3) return op->emitOpError("needs (B,T,V) logits, got ") << l;
  auto t = cast<RankedTensorType>(targets.getType());
  if (t.getShape() != l.getShape().drop_back()) return op->emitOpError("targets ") << t << " must be (B,T) of " << l;
  if (failed(expectVector(op, loss, 1, "loss"))) return failure();
  auto stats = RankedTensorType::get({l.getDimSize(0), l.getDimSize(1), 2}, l.getElementType());
  return expectType(op, token_stats, stats, "token_stats");
}
}  // namespace

LogicalResult CrossEntropyOp::verify() {
  return verifyCrossEntropy(*this, getLogits(), getTargets(), getLoss(), getTokenStats());
}

LogicalResult CrossEntropyGradOp::verify() {
  return verifyCrossEntropy(*this, getLogits(), getTargets(), getLoss(), getTokenStats());
}

LogicalResult LinearGradInputOp::verify() {
  auto dy = getOutputGrad().getType();
  auto w = getWeight().getType();
  if (w.getRank() != 2 || dy.getShape().back() != w.getDimSize(0))
    return emitOpError("expects (..., N) gradients for an (N, K) weight, got ") << dy << ", " << w;
  SmallVector<int64_t> shape(dy.getShape().drop_back());
  shape.push_back(w.getDimSize(1));
  return expectType(*this, getResult(), RankedTensorType::get(shape, dy.getElementType()), "result");
}

LogicalResult LinearGradWeightOp::verify() {
  return verifyLinearShapes(*this, getOutputGrad(), getInput(), getAccumulator());
}

LogicalResult BiasGradOp::verify() {
  return expectVector(*this, getAccumulator(), lastDim(getOutputGrad()), "the accumulator");
}

LogicalResult EmbeddingGradOp::verify() {
  auto table = getAccumulator().getType();
  auto dy = getOutputGrad().getType();
  if (table.getRank() != 2 || dy.getShape().back() != table.getDimSize(1))
    return emitOpError("expects (..., C) gradients for a (V, C) table, got ") << dy << ", " << table;
  if (getIds().getType().getShape() != dy.getShape().drop_back())
    return emitOpError("ids ") << getIds().getType() << " must match the rows of " << dy;
  return success();
}

LogicalResult PositionsGradOp::verify() {
  auto table = getAccumulator().getType();
  auto dy = getOutputGrad().getType();
  if (table.getRank() != 2 || dy.getRank() != 3 || dy.getDimSize(2) != table.getDimSize(1))
    return emitOpError("expects (B,T,C) gradients for a (P, C) table, got ") << dy << ", " << table;
  return success();
}

LogicalResult GradNormOp::verify() {
  if (failed(expectVector(*this, getHyper(), 8, "hyper")) || failed(expectVector(*this, getResult(), 1, "result")))
    return failure();
  if (getGradients().empty()) return emitOpError("needs at least one gradient");
  for (Value g : getGradients())
    if (!cast<RankedTensorType>(g.getType()).hasStaticShape()) return emitOpError("gradients must have static shapes");
  return success();
}

LogicalResult AdamWOp::verify() {
  if (failed(expectVector(*this, getHyper(), 8, "hyper")) || failed(expectVector(*this, getNorm(), 1, "norm")))
    return failure();
  if (!getParam().getType().hasStaticShape()) return emitOpError("the parameter must have a static shape");
  return success();
}
