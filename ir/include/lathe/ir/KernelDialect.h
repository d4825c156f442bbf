// The lathe_kernel dialect: the kernel representation all targets share.
#pragma once

#include "lathe/ir/LatheDialect.h"

namespace lathe::kernel {

/// Marks ops whose result overwrites their first operand's buffer.
template <typename ConcreteType>
class InPlace : public mlir::OpTrait::TraitBase<ConcreteType, InPlace> {};

/// Result attribute set by lathe-plan-memory: byte offset in the arena. An
/// integer on single-result ops; on multi-result ops an i64 array with one
/// entry per result (-1 for results that live elsewhere).
inline constexpr llvm::StringLiteral kOffsetAttr = "offset";
/// Result attribute set by lathe-plan-memory: the function result a kernel
/// result is written to (same integer / per-result array form as kOffsetAttr).
inline constexpr llvm::StringLiteral kOutputAttr = "output";

/// Reads `result`'s entry of a planned attribute (kOffsetAttr, kOutputAttr).
std::optional<int64_t> plannedValue(mlir::OpResult result, llvm::StringRef attr);
/// Sets per-result values of a planned attribute (-1: none); nothing if all are -1.
void setPlannedValues(mlir::Operation* op, llvm::StringRef attr, llvm::ArrayRef<int64_t> values);
/// Function attribute set by lathe-plan-memory: arena size in bytes.
inline constexpr llvm::StringLiteral kArenaBytesAttr = "lathe_kernel.arena_bytes";

}  // namespace lathe::kernel

#include "lathe/ir/KernelDialect.h.inc"
#include "lathe/ir/KernelEnums.h.inc"
#define GET_ATTRDEF_CLASSES
#include "lathe/ir/KernelAttrs.h.inc"
#define GET_OP_CLASSES
#include "lathe/ir/KernelOps.h.inc"
