#include "CudaArtifacts.h"

#include <fstream>
#include <iterator>

namespace lathe::test {
namespace {

// The architectures tests/unit/cuda/CMakeLists.txt builds cubins for.
const char* const kCubinArchs[] = {"sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_120"};

std::unique_ptr<fb::GpuKernelT> makeKernel(const std::string& name, std::vector<uint8_t> ptx,
                                           const std::vector<std::pair<std::string, std::vector<uint8_t>>>& cubins,
                                           uint32_t block_x, bool stride_loop, uint32_t bindings) {
  auto kernel = std::make_unique<fb::GpuKernelT>();
  kernel->name = name;
  kernel->code = std::move(ptx);
  kernel->entry = name;
  kernel->workgroup_size = {block_x, 1, 1};
  kernel->grid = {fb::GridAxis(1, block_x, stride_loop), fb::GridAxis(0, 1, false), fb::GridAxis(0, 1, false)};
  kernel->bindings = bindings;
  for (const auto& [arch, data] : cubins) {
    auto binary = std::make_unique<fb::GpuBinaryT>();
    binary->arch = arch;
    binary->data = data;
    kernel->binaries.push_back(std::move(binary));
  }
  return kernel;
}

}  // namespace

std::optional<std::vector<uint8_t>> kernelFile(const std::string& file) {
  std::ifstream in(std::string(LATHE_TEST_CUDA_KERNEL_DIR) + "/" + file, std::ios::binary);
  if (!in) return std::nullopt;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> handWrittenPtx(const std::string& entry) {
  const std::string text = "//\n// hand-written\n//\n.version 7.8\n.target sm_80\n.address_size 64\n\n.visible .entry " +
                           entry + "(\n\t.param .u64 p0\n)\n{\n\tret;\n}\n";
  return {text.begin(), text.end()};
}

std::vector<uint8_t> elfStub() { return {0x7f, 'E', 'L', 'F', 2, 1, 1, 0}; }

fb::ArtifactT AddActModel::artifact() const {
  auto program = std::make_unique<fb::GpuProgramT>();
  program->target = "cuda";
  program->kernels.push_back(makeKernel("binary_f32", binary_ptx, binary_cubins, 64, true, 4));
  program->kernels.push_back(makeKernel("unary_f32", unary_ptx, unary_cubins, 32, false, 3));
  return addActArtifact(act, "cuda_test", std::move(program));
}

std::vector<float> AddActModel::reference(const std::vector<float>& x, const std::vector<float>& y) const {
  return addActReference(act, x, y);
}

AddActModel handWrittenModel() {
  AddActModel model;
  model.binary_ptx = handWrittenPtx("binary_f32");
  model.unary_ptx = handWrittenPtx("unary_f32");
  model.binary_cubins = {{"sm_80", elfStub()}, {"sm_90", elfStub()}};
  return model;
}

std::optional<AddActModel> builtModel() {
  AddActModel model;
  const auto binary = kernelFile("binary.ptx"), unary = kernelFile("unary.ptx");
  if (!binary || !unary) return std::nullopt;
  model.binary_ptx = *binary;
  model.unary_ptx = *unary;
  for (const char* arch : kCubinArchs) {
    const auto binary_cubin = kernelFile(std::string("binary.") + arch + ".cubin");
    const auto unary_cubin = kernelFile(std::string("unary.") + arch + ".cubin");
    if (binary_cubin) model.binary_cubins.emplace_back(arch, *binary_cubin);
    if (unary_cubin) model.unary_cubins.emplace_back(arch, *unary_cubin);
  }
  return model;
}

}  // namespace lathe::test
