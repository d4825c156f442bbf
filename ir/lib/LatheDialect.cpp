#include "lathe/ir/LatheDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace lathe::ir;

#include "lathe/ir/LatheDialect.cpp.inc"
#include "lathe/ir/LatheEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "lathe/ir/LatheAttrs.cpp.inc"

void LatheDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "lathe/ir/LatheAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "lathe/ir/LatheOps.cpp.inc"
      >();
}
