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

#include "AddActArtifact.h"

namespace lathe::test {

/// The SPIR-V words of shaders/<name>.comp, as bytes.
std::vector<uint8_t> spirvCode(const std::string& name);

/// The shared add-act model (AddActArtifact.h) for targets "cpu,vulkan".
/// Kernel 0 is binary.comp, kernel 1 unary.comp.
struct AddActModel : AddActShape {
  int act = 3;  // relu
  fb::ArtifactT artifact() const;
  std::vector<float> reference(const std::vector<float>& x, const std::vector<float>& y) const;
};

std::unique_ptr<fb::GpuKernelT> makeKernel(const std::string& name, const std::string& shader, uint32_t workgroup_x,
                                           bool stride_loop, uint32_t bindings,
                                           std::vector<std::string> capabilities = {"Shader"});
}  // namespace lathe::test
