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
