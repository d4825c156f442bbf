#include "CudaArtifacts.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <random>

namespace lathe::test {
namespace {

// The architectures tests/unit/cuda/CMakeLists.txt builds cubins for.
const char* const kCubinArchs[] = {"sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_120"};

fb::Dim dim(int64_t coefficient, int b_pow, int t_pow) {
  return fb::Dim(coefficient, static_cast<int8_t>(b_pow), static_cast<int8_t>(t_pow));
}

std::unique_ptr<fb::TensorSpecT> makeSpec(const std::string& name) {
  auto spec = std::make_unique<fb::TensorSpecT>();
  spec->name = name;
  spec->dtype = fb::DType::F32;
  spec->shape = {dim(1, 1, 0), dim(1, 0, 1), dim(AddActModel::kChannels, 0, 0)};
  return spec;
}

std::unique_ptr<fb::DispatchT> makeDispatch(const std::string& name, fb::KernelKind kind,
                                            std::vector<fb::BufferRef> buffers, int64_t param) {
  auto dispatch = std::make_unique<fb::DispatchT>();
  dispatch->name = name;
  dispatch->kind = kind;
  dispatch->buffers = std::move(buffers);
  dispatch->dims = {dim(AddActModel::kChannels, 1, 1)};  // n = B * T * C
  dispatch->int_params = {param};
  return dispatch;
}

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
  fb::ArtifactT a;
  a.schema_version = 4;
  a.producer = "cuda_test";
  a.target = "cpu,cuda";
  a.model_json = "{\"name\":\"add_act\"}";
  a.max_batch = kMaxBatch;
  a.max_seq = kMaxSeq;
  auto entry = std::make_unique<fb::EntryPointT>();
  entry->name = "forward";
  entry->inputs.push_back(makeSpec("x"));
  entry->inputs.push_back(makeSpec("y"));
  entry->outputs.push_back(makeSpec("out"));
  entry->arena_bytes = kMaxBatch * kMaxSeq * kChannels * sizeof(float);
  using fb::BufferRef;
  using fb::BufferSpace;
  entry->dispatches.push_back(makeDispatch("sum", fb::KernelKind::Binary,
                                           {BufferRef(BufferSpace::Input, 0), BufferRef(BufferSpace::Input, 1),
                                            BufferRef(BufferSpace::Arena, 0)},
                                           0));
  entry->dispatches.push_back(makeDispatch(
      "act", fb::KernelKind::Unary, {BufferRef(BufferSpace::Arena, 0), BufferRef(BufferSpace::Output, 0)}, act));
  a.entry_points.push_back(std::move(entry));

  auto program = std::make_unique<fb::GpuProgramT>();
  program->target = "cuda";
  program->kernels.push_back(makeKernel("binary_f32", binary_ptx, binary_cubins, 64, true, 4));
  program->kernels.push_back(makeKernel("unary_f32", unary_ptx, unary_cubins, 32, false, 3));
  auto gpu_entry = std::make_unique<fb::GpuEntryT>();
  gpu_entry->kernel_of_dispatch = {0, 1};
  program->entries.push_back(std::move(gpu_entry));
  a.gpu_programs.push_back(std::move(program));
  return a;
}

std::vector<float> AddActModel::reference(const std::vector<float>& x, const std::vector<float>& y) const {
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float v = x[i] + y[i];
    out[i] = act == 3 ? std::max(v, 0.0f) : act == 4 ? v / (1.0f + std::exp(-v)) : v;
  }
  return out;
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

std::vector<uint8_t> pack(const fb::ArtifactT& artifact) {
  flatbuffers::FlatBufferBuilder builder;
  builder.Finish(fb::Artifact::Pack(builder, &artifact), fb::ArtifactIdentifier());
  return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

std::vector<float> seededValues(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& value : values) value = uniform(rng);
  return values;
}

ArtifactHandle openArtifact(const fb::ArtifactT& artifact, lathe_status* status) {
  const std::vector<uint8_t> bytes = pack(artifact);
  lathe_artifact* handle = nullptr;
  const lathe_status result = lathe_artifact_open_memory(bytes.data(), bytes.size(), &handle);
  if (status != nullptr) *status = result;
  return ArtifactHandle(handle);
}

}  // namespace lathe::test
