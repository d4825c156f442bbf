// Small artifacts with a "vulkan" GpuProgram whose kernels are GLSL compute
// shaders compiled at build time (shaders/*.comp), and helpers to open them
// through the C API.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "artifact_generated.h"
#include "lathe/lathe.h"

namespace lathe::test {

/// The SPIR-V words of shaders/<name>.comp, as bytes.
std::vector<uint8_t> spirvCode(const std::string& name);

/// Inputs x, y (B, T, 4) -> Binary add -> arena -> Unary `act` -> output out (B, T, 4),
/// for targets "cpu,vulkan". Kernel 0 is binary.comp, kernel 1 unary.comp.
struct AddActModel {
  static constexpr int64_t kChannels = 4, kMaxBatch = 3, kMaxSeq = 5;
  int act = 3;  // relu
  fb::ArtifactT artifact() const;
  std::vector<float> reference(const std::vector<float>& x, const std::vector<float>& y) const;
};

std::unique_ptr<fb::GpuKernelT> makeKernel(const std::string& name, const std::string& shader, uint32_t workgroup_x,
                                           bool stride_loop, uint32_t bindings,
                                           std::vector<std::string> capabilities = {"Shader"});
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
