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
