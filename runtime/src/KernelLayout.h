// What each kernel kind of the artifact schema expects: dims, int and float
// params, and the operands with their access, dtype and shape (as indices into
// the dispatch's dims). Shared by the verifier and the device backends so the
// two can never disagree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "artifact_generated.h"

namespace lathe::runtime {

struct KernelSignature {
  const char* name;
  std::vector<const char*> dim_names;
  std::vector<const char*> int_names;
  std::vector<const char*> float_names;
};

/// Nullptr for a kind this runtime does not know.
const KernelSignature* kernelSignature(fb::KernelKind kind);

enum class Access { Read, Write, ReadWrite };

/// How a weight bound to an operand must be shaped.
enum class WeightShape {
  Exact,          // exactly the operand's dims
  ElementCount,   // any shape with the operand's element count
  EmbeddingTable, // (vocab, dims[C]) for any vocab >= 1
  PositionTable,  // (P, dims[C]) with P >= the largest T
  // Exact, EmbeddingTable and PositionTable operands may also be parameter
  // states (training), whose static shapes are checked the same way.
  Forbidden       // the operand may not be a weight
};

/// The values an i32 input operand may hold, checked by the session on each run.
enum class IntRange {
  Any,
  Length,   // 1 <= value <= T (real lengths of right-padded sequences)
  Position  // 0 <= value <= max_seq - T (start positions in a KV cache)
};

struct OperandLayout {
  const char* name;
  Access access;
  fb::DType dtype;
  std::vector<int> dims;  // the operand's shape, as indices into Dispatch.dims
  WeightShape weight_shape;
  /// The space the operand must live in, if it is restricted (token ids: Input).
  std::optional<fb::BufferSpace> required_space;
  IntRange int_range = IntRange::Any;
  /// > 0: the operand is a fixed-size vector of this many elements (dims is empty).
  int64_t fixed_elements = 0;
};

/// The operands of `kind` for the given int params (which select optional
/// operands). The ints must already have the count kernelSignature() names;
/// their values are checked by checkIntParams().
std::vector<OperandLayout> operandLayout(fb::KernelKind kind, const std::vector<int64_t>& ints);

/// The names of `kind`'s dims for the given (already checked) int params; the
/// signature's, except for kinds with one dim per variadic operand (GradNorm).
std::vector<const char*> dimNames(fb::KernelKind kind, const std::vector<int64_t>& ints);

/// Empty if the int params have legal values, else what is wrong.
std::string checkIntParams(fb::KernelKind kind, const std::vector<int64_t>& ints);

/// coefficient * B^b_pow * T^t_pow; nullopt on overflow.
std::optional<int64_t> evaluateDim(const fb::Dim& dim, int64_t B, int64_t T);
/// The same for a dim already verified not to overflow at max_batch/max_seq.
int64_t evaluateVerifiedDim(const fb::Dim& dim, int64_t B, int64_t T);
/// "B", "4*T", "768", "3*B*T^2".
std::string dimToString(const fb::Dim& dim);

}  // namespace lathe::runtime
