#include "ParityHarness.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "Artifact.h"
#include "Device.h"
#include "KernelLayout.h"
#include "SchemaVersion.h"
#include "lathe/codegen/gpu/GpuProgramWriter.h"
#include "lathe/support/Float16.h"

namespace lathe::test {
namespace {

using runtime::Access;
using runtime::OperandLayout;
using runtime::WeightShape;

constexpr uint64_t kArenaAlignment = 256;

/// Where each operand lives and how big it is.
struct Placement {
  OperandLayout layout;
  fb::BufferSpace space;
  uint64_t index = 0;       // arena byte offset, or weight / input / output / state index
  std::vector<int64_t> shape;
  uint64_t elements = 0;
};

fb::Dim constant(int64_t value) { return fb::Dim(value, 0, 0); }

std::unique_ptr<fb::TensorSpecT> spec(const std::string& name, fb::DType dtype, const std::vector<int64_t>& shape) {
  auto t = std::make_unique<fb::TensorSpecT>();
  t->name = name;
  t->dtype = dtype;
  for (int64_t extent : shape) t->shape.push_back(constant(extent));
  return t;
}

int64_t dimNamed(const KernelCase& c, const char* name, int64_t fallback) {
  std::vector<const char*> names = runtime::dimNames(c.kind, c.ints);
  for (size_t i = 0; i < names.size() && i < c.dims.size(); ++i)
    if (std::string(names[i]) == name) return c.dims[i];
  return fallback;
}

class ParityRun {
public:
  explicit ParityRun(const KernelCase& c) : c_(c), rng_(1234) {}

  std::string run(const std::string& gpu_device) {
    gpu_target_ = gpu_device.substr(0, gpu_device.find(':'));
    place();
    std::vector<uint8_t> bytes = buildArtifact();
    auto artifact = runtime::Artifact::openMemory(bytes.data(), bytes.size());
    fillHostData();
    Results cpu = execute(*artifact, "cpu");
    Results gpu = execute(*artifact, gpu_device);
    return compare(cpu, gpu);
  }

private:
  struct Results { std::vector<std::vector<float>> operands; };

  void place() {
    uint64_t arena = 0;
    bool has_output = false;
    for (const OperandLayout& layout : runtime::operandLayout(c_.kind, c_.ints)) {
      Placement p{layout, fb::BufferSpace::Arena};
      if (layout.fixed_elements > 0) {
        p.shape = {layout.fixed_elements};
      } else {
        for (int d : layout.dims) p.shape.push_back(c_.dims[d]);
      }
      const bool table = layout.weight_shape == WeightShape::EmbeddingTable ||
                         layout.weight_shape == WeightShape::PositionTable;
      // The operands a compiled model binds to weights: those with a weight's shape.
      const bool f16_weight = c_.f16_weights && layout.access == Access::Read &&
                              (table || layout.weight_shape == WeightShape::Exact);
      if ((table && layout.access == Access::Read) || f16_weight) {
        if (table) p.shape = {c_.table_rows, p.shape.empty() ? 1 : p.shape.back()};
        p.space = fb::BufferSpace::Weight;
        p.index = weights_++;
      } else if (table || layout.required_space == fb::BufferSpace::State) {
        if (table)
          p.shape = {dimNamed(c_, layout.weight_shape == WeightShape::EmbeddingTable ? "V" : "P", 1), p.shape.back()};
        p.space = fb::BufferSpace::State;
        p.index = states_++;
      } else if (layout.required_space == fb::BufferSpace::Input || layout.dtype == fb::DType::I32) {
        p.space = fb::BufferSpace::Input;
        p.index = inputs_++;
      } else if (layout.access == Access::Write && !has_output) {
        p.space = fb::BufferSpace::Output;
        has_output = true;
      } else {
        p.index = arena;
      }
      p.elements = 1;
      for (int64_t extent : p.shape) p.elements *= static_cast<uint64_t>(extent);
      if (p.space == fb::BufferSpace::Arena) arena += (p.elements * 4 + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
      placements_.push_back(p);
    }
    arena_bytes_ = std::max<uint64_t>(arena, kArenaAlignment);
    needs_copy_output_ = !has_output;
  }

  std::vector<uint8_t> buildArtifact() {
    fb::ArtifactT a;
    a.schema_version = fb::kSchemaVersion;
    a.producer = "parity test";
    a.target = "cpu," + gpu_target_;
    a.max_batch = 1;
    a.max_seq = 1;
    auto entry = std::make_unique<fb::EntryPointT>();
    entry->name = "main";
    entry->arena_bytes = arena_bytes_;
    auto dispatch = std::make_unique<fb::DispatchT>();
    dispatch->kind = c_.kind;
    dispatch->int_params = c_.ints;
    dispatch->float_params = c_.floats;
    dispatch->name = c_.label;
    for (int64_t d : c_.dims) dispatch->dims.push_back(constant(d));
    for (size_t i = 0; i < placements_.size(); ++i) {
      const Placement& p = placements_[i];
      dispatch->buffers.emplace_back(p.space, p.index);
      const std::string name = tensorName(i);
      if (p.space == fb::BufferSpace::Weight) {
        auto w = std::make_unique<fb::WeightT>();
        w->name = name;
        w->dtype = weightDType();
        w->shape = p.shape;
        w->data.resize(p.elements * weightBytes());
        a.weights.push_back(std::move(w));
      } else if (p.space == fb::BufferSpace::Input) {
        entry->inputs.push_back(spec(name, p.layout.dtype, p.shape));
      } else if (p.space == fb::BufferSpace::Output) {
        entry->outputs.push_back(spec(name, fb::DType::F32, p.shape));
      } else if (p.space == fb::BufferSpace::State) {
        auto s = spec(name, fb::DType::F32, p.shape);
        s->kind = fb::StateKind::Gradient;
        a.states.push_back(std::move(s));
      }
    }
    entry->dispatches.push_back(std::move(dispatch));
    if (needs_copy_output_) addCopyToOutput(*entry);
    a.entry_points.push_back(std::move(entry));
    a.gpu_programs.push_back(gpuProgram(a));
    flatbuffers::FlatBufferBuilder fbb;
    fb::FinishArtifactBuffer(fbb, fb::Artifact::Pack(fbb, &a));
    return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
  }

  /// The operand's name, made unique with its position for variadic operands
  /// (GradNorm's gradients), since artifact tensor names may not repeat.
  std::string tensorName(size_t operand) const {
    const std::string name = placements_[operand].layout.name;
    for (size_t i = 0; i < placements_.size(); ++i)
      if (i != operand && name == placements_[i].layout.name) return name + "_" + std::to_string(operand);
    return name;
  }

  /// Entry points need an output: copy operand 0 (a float arena or state operand) there.
  void addCopyToOutput(fb::EntryPointT& entry) {
    const Placement& first = placements_.front();
    auto copy = std::make_unique<fb::DispatchT>();
    copy->kind = fb::KernelKind::Unary;
    copy->int_params = {0};
    copy->name = "copy_to_output";
    copy->dims = {constant(static_cast<int64_t>(first.elements))};
    copy->buffers = {fb::BufferRef(first.space, first.index), fb::BufferRef(fb::BufferSpace::Output, 0)};
    entry.outputs.push_back(spec("copy", fb::DType::F32, {static_cast<int64_t>(first.elements)}));
    entry.dispatches.push_back(std::move(copy));
  }

  std::unique_ptr<fb::GpuProgramT> gpuProgram(const fb::ArtifactT& a) {
    codegen::gpu::EntryDispatches shapes;
    shapes.entry = "main";
    for (const auto& d : a.entry_points.front()->dispatches) {
      // The dims are constants, so their own bounds, unless the case's dispatch (the first) names others.
      std::vector<int64_t> bounds;
      for (const fb::Dim& dim : d->dims) bounds.push_back(dim.coefficient());
      if (shapes.shapes.empty() && !c_.dim_bounds.empty()) bounds = c_.dim_bounds;
      shapes.shapes.push_back({d->kind, codegen::gpu::operandElements(d->kind, d->buffers, d->int_params, weightDType()),
                               static_cast<int>(d->dims.size()), d->int_params,
                               static_cast<int>(d->float_params.size()), bounds});
      shapes.names.push_back(d->name);
    }
    flatbuffers::FlatBufferBuilder fbb;
    std::string error;
    codegen::gpu::GpuProgramOptions options;
    options.tensor_cores = c_.matrix_units;
    options.emulate_matrix_units = c_.matrix_units;
    options.matmul_precision = c_.tf32_matmul ? codegen::gpu::MatmulPrecision::Tf32 : codegen::gpu::MatmulPrecision::Fp32;
    auto program = codegen::gpu::writeGpuProgram(fbb, gpu_target_, {shapes}, error, options);
    if (program.IsNull()) throw std::runtime_error(error);
    fbb.Finish(program);
    return std::unique_ptr<fb::GpuProgramT>(flatbuffers::GetRoot<fb::GpuProgram>(fbb.GetBufferPointer())->UnPack());
  }

  std::vector<float> randomFloats(uint64_t n) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = normal(rng_);
    return v;
  }

  std::vector<int32_t> randomInts(const Placement& p) {
    const std::string name = p.layout.name;
    int64_t low = 0, high = 1 << 30;
    if (name == "ids") high = dimNamed(c_, "V", c_.table_rows) - 1;
    if (name == "targets") high = dimNamed(c_, "V", 2) - 1;
    if (name == "offsets") high = dimNamed(c_, "S", 1) - dimNamed(c_, "T", 1);
    if (name == "lengths") { low = 1; high = dimNamed(c_, "T", 1); }
    std::uniform_int_distribution<int64_t> pick(low, std::max(low, high));
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    std::vector<int32_t> v(p.elements);
    for (int32_t& x : v) {
      x = static_cast<int32_t>(pick(rng_));
      if (name == "targets" && unit(rng_) < c_.ignore_fraction) x = static_cast<int32_t>(c_.ints.at(0));
    }
    return v;
  }

  /// Host contents of every operand (as raw 32-bit words), the same for both devices.
  void fillHostData() {
    for (const Placement& p : placements_) {
      std::vector<uint32_t> words(p.elements);
      auto fixed = c_.fixed.find(p.layout.name);
      if (p.layout.dtype == fb::DType::I32) {
        std::vector<int32_t> ints = randomInts(p);
        std::memcpy(words.data(), ints.data(), words.size() * 4);
      } else {
        std::vector<float> floats = fixed != c_.fixed.end() ? fixed->second : randomFloats(p.elements);
        floats.resize(p.elements);
        if (std::string(p.layout.name) == "rstd" || std::string(p.layout.name) == "v") {
          for (float& x : floats) x = std::fabs(x) + 0.5f;  // positive by construction
        }
        if (isF16Weight(p)) {
          for (float& x : floats) x = halfToFloat(floatToHalf(x));
        }
        std::memcpy(words.data(), floats.data(), words.size() * 4);
      }
      host_.push_back(words);
    }
  }

  Results execute(const runtime::Artifact& artifact, const std::string& device_spec) {
    auto device = runtime::createDevice(device_spec);
    runtime::Bindings bindings;
    auto arena = device->allocate(arena_bytes_);
    std::vector<uint8_t> arena_host(arena_bytes_, 0);
    std::vector<std::vector<uint8_t>> imported;  // weights' host memory outlives their buffers
    std::vector<std::unique_ptr<runtime::Buffer>> owned;
    for (size_t i = 0; i < placements_.size(); ++i) {
      const Placement& p = placements_[i];
      const size_t bytes = p.elements * 4;
      if (p.space == fb::BufferSpace::Arena) {
        std::memcpy(arena_host.data() + p.index, host_[i].data(), bytes);
        continue;
      }
      if (p.space == fb::BufferSpace::Weight) {
        // As a session imports them: the device decides how it keeps f16.
        imported.push_back(storedWeight(host_[i]));
        owned.push_back(device->importConstant(imported.back().data(), imported.back().size(), weightDType()));
        bindings.weights.push_back(owned.back().get());
        continue;
      }
      owned.push_back(device->allocate(bytes));
      device->upload(*owned.back(), host_[i].data(), bytes);
      auto& list = p.space == fb::BufferSpace::Input   ? bindings.inputs
                   : p.space == fb::BufferSpace::State ? bindings.states
                                                       : bindings.outputs;
      list.push_back(owned.back().get());
    }
    device->upload(*arena, arena_host.data(), arena_bytes_);
    std::unique_ptr<runtime::Buffer> copy_output;
    if (needs_copy_output_) {
      copy_output = device->allocate(placements_.front().elements * 4);
      bindings.outputs.push_back(copy_output.get());
    }
    bindings.arena = arena.get();
    auto prepared = device->prepare(artifact, 0);
    device->run(*prepared, bindings, 1, 1);

    Results results;
    device->download(*arena, arena_host.data(), arena_bytes_);
    size_t next_owned = 0;
    for (const Placement& p : placements_) {
      std::vector<float> values(p.elements);
      if (p.space == fb::BufferSpace::Weight) {  // read-only, not compared
        ++next_owned;
      } else if (p.space == fb::BufferSpace::Arena) {
        std::memcpy(values.data(), arena_host.data() + p.index, p.elements * 4);
      } else {
        device->download(*owned[next_owned++], values.data(), p.elements * 4);
      }
      results.operands.push_back(std::move(values));
    }
    return results;
  }

  std::string compare(const Results& cpu, const Results& gpu) const {
    for (size_t i = 0; i < placements_.size(); ++i) {
      const Placement& p = placements_[i];
      if (p.layout.access == Access::Read) continue;
      const std::vector<float>& want = cpu.operands[i];
      const std::vector<float>& got = gpu.operands[i];
      double scale = 1e-30;
      for (float x : want) scale = std::max(scale, static_cast<double>(std::fabs(x)));
      for (size_t e = 0; e < want.size(); ++e) {
        const double error = std::fabs(static_cast<double>(got[e]) - want[e]);
        if (!(error <= c_.tolerance * scale)) {
          std::ostringstream out;
          out << c_.label << ": operand '" << p.layout.name << "' element " << e << " of " << want.size()
              << ": gpu " << got[e] << ", cpu " << want[e] << " (error " << error / scale << " of max |cpu| "
              << scale << ", tolerance " << c_.tolerance << ")";
          return out.str();
        }
      }
    }
    return "";
  }

  fb::DType weightDType() const { return c_.f16_weights ? fb::DType::F16 : fb::DType::F32; }
  size_t weightBytes() const { return c_.f16_weights ? sizeof(uint16_t) : sizeof(float); }
  bool isF16Weight(const Placement& p) const { return c_.f16_weights && p.space == fb::BufferSpace::Weight; }

  /// A weight's host words (f32 bits) as the artifact stores them.
  std::vector<uint8_t> storedWeight(const std::vector<uint32_t>& words) const {
    std::vector<uint8_t> bytes(words.size() * weightBytes());
    if (!c_.f16_weights) {
      std::memcpy(bytes.data(), words.data(), bytes.size());
      return bytes;
    }
    for (size_t e = 0; e < words.size(); ++e) {
      float value;
      std::memcpy(&value, &words[e], sizeof value);
      const uint16_t half = floatToHalf(value);
      std::memcpy(bytes.data() + e * sizeof half, &half, sizeof half);
    }
    return bytes;
  }

  const KernelCase& c_;
  std::string gpu_target_;  // "vulkan", "cuda": the GPU program the artifact carries
  std::mt19937 rng_;
  std::vector<Placement> placements_;
  std::vector<std::vector<uint32_t>> host_;
  uint64_t arena_bytes_ = 0;
  uint64_t weights_ = 0, inputs_ = 0, states_ = 0;
  bool needs_copy_output_ = false;
};

}  // namespace

std::string runParity(const KernelCase& c, const std::string& gpu_device) { return ParityRun(c).run(gpu_device); }

}  // namespace lathe::test
