// Small artifacts with a "cuda" GpuProgram whose kernels are PTX (and cubins)
// built at test build time from kernels/*.cu, and helpers to open and run
// them through the C API.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "AddActArtifact.h"

namespace lathe::test {

/// Bytes of <kernel dir>/<file>; nullopt when it was not built (no nvcc).
std::optional<std::vector<uint8_t>> kernelFile(const std::string& file);

/// Minimal well-formed PTX with one .entry `entry`, for verifier tests.
std::vector<uint8_t> handWrittenPtx(const std::string& entry);
/// The ELF magic and a little padding: a cubin as far as the verifier looks.
std::vector<uint8_t> elfStub();

/// The shared add-act model (AddActArtifact.h) for targets "cpu,cuda". Kernel 0
/// is binary_f32, kernel 1 unary_f32, with the given code (PTX) and cubins.
struct AddActModel : AddActShape {
  int act = 3;  // relu
  std::vector<uint8_t> binary_ptx, unary_ptx;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> binary_cubins, unary_cubins;
  fb::ArtifactT artifact() const;
  std::vector<float> reference(const std::vector<float>& x, const std::vector<float>& y) const;
};

/// The model with hand-written PTX (verifiable, not runnable).
AddActModel handWrittenModel();
/// The model with the nvcc-built PTX and cubins; nullopt when nvcc was absent.
std::optional<AddActModel> builtModel();

}  // namespace lathe::test
