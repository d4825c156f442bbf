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

#include "artifact_generated.h"
#include "lathe/lathe.h"

namespace lathe::test {

/// Bytes of <kernel dir>/<file>; nullopt when it was not built (no nvcc).
std::optional<std::vector<uint8_t>> kernelFile(const std::string& file);

/// Minimal well-formed PTX with one .entry `entry`, for verifier tests.
std::vector<uint8_t> handWrittenPtx(const std::string& entry);
/// The ELF magic and a little padding: a cubin as far as the verifier looks.
std::vector<uint8_t> elfStub();

/// Inputs x, y (B, T, 4) -> Binary add -> arena -> Unary `act` -> output out
/// (B, T, 4), for targets "cpu,cuda". Kernel 0 is binary_f32, kernel 1 unary_f32,
/// with the given code (PTX) and cubins.
struct AddActModel {
  static constexpr int64_t kChannels = 4, kMaxBatch = 3, kMaxSeq = 5;
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

std::vector<uint8_t> pack(const fb::ArtifactT& artifact);
std::vector<float> seededValues(size_t count, uint32_t seed);

struct ArtifactCloser {
  void operator()(lathe_artifact* a) const { lathe_artifact_close(a); }
};
struct SessionDestroyer {
  void operator()(lathe_session* s) const { lathe_session_destroy(s); }
};
using ArtifactHandle = std::unique_ptr<lathe_artifact, ArtifactCloser>;
using SessionHandle = std::unique_ptr<lathe_session, SessionDestroyer>;

/// Null on failure, with the status in *status.
ArtifactHandle openArtifact(const fb::ArtifactT& artifact, lathe_status* status = nullptr);

}  // namespace lathe::test
