// One dispatch, run on the cpu device and on a GPU device from the same
// artifact and the same random data; every operand the kernel writes must
// match. The artifact is the real thing: verified, with the GPU program that
// `lathe compile --target cpu,vulkan` would write for the dispatch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "artifact_generated.h"

namespace lathe::test {

struct KernelCase {
  std::string label;
  fb::KernelKind kind;
  std::vector<int64_t> dims;   // values of the dispatch's dims (constants)
  std::vector<int64_t> ints;
  std::vector<float> floats;
  double tolerance = 1e-4;     // max |gpu - cpu| / max |cpu| per written operand
  /// Rows of a read-only embedding/position table (ids are drawn below it).
  int64_t table_rows = 37;
  /// Fixed contents for operands by name (e.g. AdamW's "hyper"); others are random.
  std::map<std::string, std::vector<float>> fixed;
  float ignore_fraction = 0.0f;  // share of CrossEntropy targets set to the ignore index
  /// The compile-time bound of each dim (picks kernel variants); empty: the dims themselves.
  std::vector<int64_t> dim_bounds;
  /// Read-only operands with a weight's shape (Gemm B and bias, norm weights,
  /// tables) are fp16 weights with fp16-representable values, as
  /// `lathe compile --weight-dtype f16` writes them.
  bool f16_weights = false;
  /// GEMMs on matrix units (MatrixUnitGemmKernels.cpp): tensor cores on cuda,
  /// emulated in scalar code on vulkan; else the scalar tiled kernels.
  bool matrix_units = false;
  bool tf32_matmul = false;  // matrix units multiply TF32-rounded operands
};

/// Empty when the written operands match; else a message naming the operand,
/// the element and both values.
std::string runParity(const KernelCase& c, const std::string& gpu_device);

}  // namespace lathe::test
