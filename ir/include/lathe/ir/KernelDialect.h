// The lathe_kernel dialect: the kernel representation all targets share.
#pragma once

#include "lathe/ir/LatheDialect.h"

namespace lathe::kernel {

/// Marks ops whose result overwrites their first operand's buffer.
template <typename ConcreteType>
class InPlace : public mlir::OpTrait::TraitBase<ConcreteType, InPlace> {};

/// Result attribute set by lathe-plan-memory: byte offset in the arena.
inline constexpr llvm::StringLiteral kOffsetAttr = "offset";
/// Function attribute set by lathe-plan-memory: arena size in bytes.
inline constexpr llvm::StringLiteral kArenaBytesAttr = "lathe_kernel.arena_bytes";

}  // namespace lathe::kernel

#include "lathe/ir/KernelDialect.h.inc"
#include "lathe/ir/KernelEnums.h.inc"
#define GET_ATTRDEF_CLASSES
#include "lathe/ir/KernelAttrs.h.inc"
#define GET_OP_CLASSES
#include "lathe/ir/KernelOps.h.inc"
