#include "VulkanArtifacts.h"

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace lathe::test {

std::vector<uint8_t> spirvCode(const std::string& name) {
  const std::string path = std::string(LATHE_TEST_SPIRV_DIR) + "/" + name + ".spv";
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::unique_ptr<fb::GpuKernelT> makeKernel(const std::string& name, const std::string& shader, uint32_t workgroup_x,
                                           bool stride_loop, uint32_t bindings, std::vector<std::string> capabilities) {
  auto kernel = std::make_unique<fb::GpuKernelT>();
  kernel->name = name;
  kernel->code = spirvCode(shader);
  kernel->entry = "main";
  kernel->workgroup_size = {workgroup_x, 1, 1};
  kernel->grid = {fb::GridAxis(1, workgroup_x, stride_loop), fb::GridAxis(0, 1, false), fb::GridAxis(0, 1, false)};
  kernel->bindings = bindings;
  kernel->capabilities = std::move(capabilities);
  return kernel;
}

fb::ArtifactT AddActModel::artifact() const {
  auto program = std::make_unique<fb::GpuProgramT>();
  program->target = "vulkan";
  program->kernels.push_back(makeKernel("binary_f32", "binary", 64, true, 4));
  program->kernels.push_back(makeKernel("unary_f32", "unary", 32, false, 3));
  return addActArtifact(act, "vulkan_test", std::move(program));
}

std::vector<float> AddActModel::reference(const std::vector<float>& x, const std::vector<float>& y) const {
  return addActReference(act, x, y);
}

}  // namespace lathe::test
