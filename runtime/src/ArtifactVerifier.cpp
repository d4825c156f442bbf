#include "ArtifactVerifier.h"

#include <array>
#include <set>
#include <string>

#include "Artifact.h"
#include "Error.h"
#include "GpuProgramVerifier.h"
#include "KernelLayout.h"

namespace lathe::runtime {
namespace {

using fb::BufferSpace;
using fb::DType;

constexpr int kMaxDimPower = 3;
constexpr const char* kKnownTargets[] = {"cpu", "vulkan", "cuda"};

std::string quoted(const flatbuffers::String* text) {
  return text == nullptr ? std::string("(unnamed)") : "'" + text->str() + "'";
}

std::string str(const flatbuffers::String* text) { return text == nullptr ? std::string() : text->str(); }

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// Verifies everything about one artifact; the member functions share the
// artifact-wide context (limits, weights) and the facts being collected.
class Checker {
public:
  explicit Checker(const fb::Artifact& artifact) : artifact_(artifact) {}

  ArtifactFacts run() {
    checkHeader();
    checkWeights();
    checkStates();
    const auto& entries = *artifact_.entry_points();
    std::set<std::string> names;
    for (size_t i = 0; i < entries.size(); ++i) {
      const fb::EntryPoint* entry = entries.Get(i);
      const std::string where = "entry point " + std::to_string(i);
      if (entry->name() == nullptr || entry->name()->size() == 0) throw invalidArtifact(where + " has no name");
      if (!names.insert(entry->name()->str()).second) {
        throw invalidArtifact("entry point name '" + entry->name()->str() + "' appears twice");
      }
      checkEntryPoint(*entry);
    }
    verifyGpuPrograms(artifact_);
    return std::move(facts_);
  }

private:
  // The corners of the (B, T) box: symbolic sizes are monomials, so comparing
  // two of them at the corners compares them everywhere in the box.
  std::array<std::pair<int64_t, int64_t>, 4> corners() const {
    return {{{1, 1}, {max_batch_, 1}, {1, max_seq_}, {max_batch_, max_seq_}}};
  }

  void checkHeader() {
    const uint32_t version = artifact_.schema_version();
    if (version > kSchemaVersion) {
      throw Error(LATHE_ERROR_UNSUPPORTED, "artifact schema version " + std::to_string(version) +
                                               " is newer than this runtime supports (" +
                                               std::to_string(kSchemaVersion) + "); rebuild the runtime");
    }
    if (version == 0) throw invalidArtifact("schema_version is missing (0)");
    const std::vector<std::string> targets = targetList(str(artifact_.target()));
    if (targets.empty()) throw invalidArtifact("the artifact names no target");
    for (const std::string& target : targets) {
      bool known_target = false;
      for (const char* known : kKnownTargets) known_target |= target == known;
      if (!known_target) throw invalidArtifact("unknown target '" + target + "' (known: cpu, vulkan, cuda)");
    }
    max_batch_ = artifact_.max_batch();
    max_seq_ = artifact_.max_seq();
    if (max_batch_ < 1) throw invalidArtifact("max_batch is " + std::to_string(max_batch_) + "; must be >= 1");
    if (max_seq_ < 1) throw invalidArtifact("max_seq is " + std::to_string(max_seq_) + "; must be >= 1");
    if (artifact_.entry_points() == nullptr || artifact_.entry_points()->size() == 0) {
      throw invalidArtifact("the artifact has no entry points");
    }
  }

  void checkWeights() {
    if (artifact_.weights() == nullptr) return;
    const auto& weights = *artifact_.weights();
    for (size_t i = 0; i < weights.size(); ++i) {
      const fb::Weight& weight = *weights.Get(i);
      const std::string where = "weight " + std::to_string(i) + " " + quoted(weight.name());
      if (weight.name() == nullptr) throw invalidArtifact(where + " has no name");
      const size_t element_size = dtypeSize(weight.dtype());
      if (element_size == 0) {
        throw invalidArtifact(where + " has unknown dtype " + std::to_string(static_cast<int>(weight.dtype())));
      }
      if (weight.dtype() != DType::F32 && weight.dtype() != DType::F16) {
        throw invalidArtifact(where + " has dtype " + dtypeName(weight.dtype()) + "; weights are f32 or f16");
      }
      uint64_t bytes = element_size;
      for (int64_t extent : weightShape(weight)) {
        if (extent < 0) throw invalidArtifact(where + " has a negative dimension " + std::to_string(extent));
        if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(extent), &bytes)) {
          throw invalidArtifact(where + " has a shape whose size overflows");
        }
      }
      const uint64_t actual = weight.data() == nullptr ? 0 : weight.data()->size();
      if (actual != bytes) {
        throw invalidArtifact(where + " has " + std::to_string(actual) + " data bytes; its shape " +
                              shapeText(weightShape(weight)) + " of " + dtypeName(weight.dtype()) + " needs " +
                              std::to_string(bytes));
      }
    }
  }

  // States are f32 tensors of fixed shape, each named once.
  void checkStates() {
    if (artifact_.states() == nullptr) return;
    std::set<std::string> names;
    for (size_t i = 0; i < artifact_.states()->size(); ++i) {
      const fb::TensorSpec& spec = *artifact_.states()->Get(static_cast<flatbuffers::uoffset_t>(i));
      const std::string where = "state " + std::to_string(i) + " " + quoted(spec.name());
      if (spec.name() == nullptr || spec.name()->size() == 0) throw invalidArtifact(where + " has no name");
      if (!names.insert(spec.name()->str()).second) throw invalidArtifact(where + ": the name is used twice");
      if (spec.dtype() != DType::F32) throw invalidArtifact(where + " has dtype " + dtypeName(spec.dtype()) + "; states must be f32");
      if (spec.shape() == nullptr) throw invalidArtifact(where + " has no shape");
      uint64_t bytes = dtypeSize(spec.dtype());
      for (size_t d = 0; d < spec.shape()->size(); ++d) {
        const fb::Dim& dim = *spec.shape()->Get(static_cast<flatbuffers::uoffset_t>(d));
        checkDim(dim, where + ", dim " + std::to_string(d));
        if (dim.b_pow() != 0 || dim.t_pow() != 0) throw invalidArtifact(where + ", dim " + std::to_string(d) + " depends on B or T; states have fixed shapes");
        if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim.coefficient()), &bytes)) {
          throw invalidArtifact(where + ": its size overflows");
        }
      }
      checkStateKind(spec, bytes, where);
    }
  }

  // A parameter state starts as a copy of its weight, so the two must match in size and dtype.
  void checkStateKind(const fb::TensorSpec& spec, uint64_t bytes, const std::string& where) {
    const int kind = static_cast<int>(spec.kind());
    if (kind < static_cast<int>(fb::StateKind::MIN) || kind > static_cast<int>(fb::StateKind::MAX))
      throw invalidArtifact(where + " has an unknown kind " + std::to_string(kind));
    if (spec.kind() != fb::StateKind::Parameter) {
      if (spec.initial_weight() != -1)
        throw invalidArtifact(where + " is not a parameter but names initial weight " + std::to_string(spec.initial_weight()));
      return;
    }
    const int64_t count = artifact_.weights() == nullptr ? 0 : artifact_.weights()->size();
    if (spec.initial_weight() < 0 || spec.initial_weight() >= count)
      throw invalidArtifact(where + " is a parameter whose initial weight " + std::to_string(spec.initial_weight()) +
                            " is out of range (the artifact has " + std::to_string(count) + " weights)");
    const fb::Weight& weight = *artifact_.weights()->Get(static_cast<flatbuffers::uoffset_t>(spec.initial_weight()));
    const uint64_t weight_bytes = weight.data() == nullptr ? 0 : weight.data()->size();
    if (weight.dtype() != DType::F32 || weight_bytes != bytes)
      throw invalidArtifact(where + " has " + std::to_string(bytes) + " bytes of f32, but its initial weight " +
                            quoted(weight.name()) + " has " + std::to_string(weight_bytes) + " bytes of " +
                            dtypeName(weight.dtype()));
  }

  static std::vector<int64_t> weightShape(const fb::Weight& weight) {
    if (weight.shape() == nullptr) return {};
    return {weight.shape()->begin(), weight.shape()->end()};
  }

  void checkDim(const fb::Dim& dim, const std::string& where) const {
    if (dim.coefficient() < 1) {
      throw invalidArtifact(where + " has coefficient " + std::to_string(dim.coefficient()) + "; must be >= 1");
    }
    if (dim.b_pow() < 0 || dim.b_pow() > kMaxDimPower || dim.t_pow() < 0 || dim.t_pow() > kMaxDimPower) {
      throw invalidArtifact(where + " has powers B^" + std::to_string(dim.b_pow()) + " T^" +
                            std::to_string(dim.t_pow()) + "; each must be in [0, " + std::to_string(kMaxDimPower) +
                            "]");
    }
    if (!evaluateDim(dim, max_batch_, max_seq_)) {
      throw invalidArtifact(where + " (" + dimToString(dim) + ") overflows at max_batch/max_seq");
    }
  }

  void checkTensorSpecs(const flatbuffers::Vector<flatbuffers::Offset<fb::TensorSpec>>* specs, const char* role,
                        const std::string& entry_where, std::set<std::string>& names) const {
    if (specs == nullptr) return;
    for (size_t i = 0; i < specs->size(); ++i) {
      const fb::TensorSpec& spec = *specs->Get(i);
      const std::string where = entry_where + ", " + role + " " + std::to_string(i) + " " + quoted(spec.name());
      if (spec.name() == nullptr || spec.name()->size() == 0) throw invalidArtifact(where + " has no name");
      if (!names.insert(spec.name()->str()).second) {
        throw invalidArtifact(entry_where + ": the name '" + spec.name()->str() + "' is used twice");
      }
      const bool is_input = std::string(role) == "input";
      const bool dtype_ok = spec.dtype() == DType::F32 || (is_input && spec.dtype() == DType::I32);
      if (!dtype_ok) {
        throw invalidArtifact(where + " has dtype " + dtypeName(spec.dtype()) +
                              (is_input ? "; inputs must be f32 or i32" : "; outputs must be f32"));
      }
      if (spec.shape() == nullptr) throw invalidArtifact(where + " has no shape");
      uint64_t bytes = dtypeSize(spec.dtype());
      for (size_t d = 0; d < spec.shape()->size(); ++d) {
        checkDim(*spec.shape()->Get(d), where + ", dim " + std::to_string(d));
        const int64_t extent = evaluateVerifiedDim(*spec.shape()->Get(d), max_batch_, max_seq_);
        if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(extent), &bytes)) {
          throw invalidArtifact(where + ": its size overflows at max_batch/max_seq");
        }
      }
    }
  }

  void checkEntryPoint(const fb::EntryPoint& entry) {
    const std::string where = "entry point '" + entry.name()->str() + "'";
    std::set<std::string> names;
    checkTensorSpecs(entry.inputs(), "input", where, names);
    checkTensorSpecs(entry.outputs(), "output", where, names);
    if (entry.outputs() == nullptr || entry.outputs()->size() == 0) throw invalidArtifact(where + " has no outputs");
    if (entry.dispatches() == nullptr || entry.dispatches()->size() == 0) {
      throw invalidArtifact(where + " has no dispatches");
    }
    const size_t input_count = entry.inputs() == nullptr ? 0 : entry.inputs()->size();
    facts_.input_vocab.emplace_back(input_count, 0);
    facts_.input_range.emplace_back(input_count, IntRange::Any);
    written_outputs_.assign(entry.outputs()->size(), false);
    for (size_t i = 0; i < entry.dispatches()->size(); ++i) {
      checkDispatch(entry, i);
    }
    for (size_t i = 0; i < written_outputs_.size(); ++i) {
      if (!written_outputs_[i]) {
        throw invalidArtifact(where + ": output '" + entry.outputs()->Get(i)->name()->str() +
                              "' is never written by a dispatch");
      }
    }
  }

  template <typename T>
  static std::vector<T> toVector(const flatbuffers::Vector<T>* values) {
    if (values == nullptr) return {};
    return {values->begin(), values->end()};
  }

  void checkCount(const std::string& where, const char* what, size_t actual,
                  const std::vector<const char*>& expected_names) const {
    if (actual == expected_names.size()) return;
    std::string names;
    for (const char* name : expected_names) names += (names.empty() ? "" : ", ") + std::string(name);
    throw invalidArtifact(where + " has " + std::to_string(actual) + " " + what + "; expected " +
                          std::to_string(expected_names.size()) + (names.empty() ? "" : " (" + names + ")"));
  }

  void checkDispatch(const fb::EntryPoint& entry, size_t index) {
    const fb::Dispatch& dispatch = *entry.dispatches()->Get(index);
    const KernelSignature* signature = kernelSignature(dispatch.kind());
    std::string where = "entry point '" + entry.name()->str() + "', dispatch " + std::to_string(index) + " " +
                        quoted(dispatch.name());
    if (signature == nullptr) {
      throw invalidArtifact(where + " has unknown kernel kind " + std::to_string(static_cast<int>(dispatch.kind())));
    }
    where += " (" + std::string(signature->name) + ")";

    const std::vector<int64_t> ints = toVector(dispatch.int_params());
    checkCount(where, "int params", ints.size(), signature->int_names);
    checkCount(where, "float params", dispatch.float_params() == nullptr ? 0 : dispatch.float_params()->size(),
               signature->float_names);
    const std::string int_error = checkIntParams(dispatch.kind(), ints);
    if (!int_error.empty()) throw invalidArtifact(where + ": " + int_error);
    const std::vector<const char*> dim_names = dimNames(dispatch.kind(), ints);
    const size_t dim_count = dispatch.dims() == nullptr ? 0 : dispatch.dims()->size();
    checkCount(where, "dims", dim_count, dim_names);
    for (size_t d = 0; d < dim_count; ++d) {
      checkDim(*dispatch.dims()->Get(d), where + ", dim " + std::to_string(d) + " (" + dim_names[d] + ")");
    }
    checkKindSpecifics(dispatch, where);

    const std::vector<OperandLayout> layout = operandLayout(dispatch.kind(), ints);
    std::vector<const char*> operand_names;
    for (const OperandLayout& operand : layout) operand_names.push_back(operand.name);
    const size_t operand_count = dispatch.buffers() == nullptr ? 0 : dispatch.buffers()->size();
    checkCount(where, "operands", operand_count, operand_names);
    for (size_t j = 0; j < layout.size(); ++j) {
      checkOperand(entry, dispatch, *dispatch.buffers()->Get(j), layout[j],
                   where + ", operand " + std::to_string(j) + " (" + layout[j].name + ")");
    }
  }

  // Heads and head dims must be fixed numbers the kernels can split by.
  void checkKindSpecifics(const fb::Dispatch& dispatch, const std::string& where) const {
    auto static_dim = [&](int index, const char* name) {
      const fb::Dim& dim = *dispatch.dims()->Get(index);
      if (dim.b_pow() != 0 || dim.t_pow() != 0) {
        throw invalidArtifact(where + ": dim " + name + " must not depend on B or T");
      }
      return dim.coefficient();
    };
    const fb::KernelKind kind = dispatch.kind();
    if (kind == fb::KernelKind::CrossEntropy || kind == fb::KernelKind::CrossEntropyGrad) {
      if (static_dim(2, "stats") != 2) throw invalidArtifact(where + ": dim stats must be 2 (loss and logsumexp)");
    } else if (kind == fb::KernelKind::GemmWeightGrad || kind == fb::KernelKind::EmbeddingGrad) {
      static_dim(1, kind == fb::KernelKind::GemmWeightGrad ? "N" : "C");  // accumulators are fixed-shape states
      static_dim(2, kind == fb::KernelKind::GemmWeightGrad ? "K" : "V");
    } else if (kind == fb::KernelKind::BiasGrad) {
      static_dim(1, "N");
    } else if (kind == fb::KernelKind::PositionsGrad) {
      static_dim(2, "C");
      const int64_t max_t = evaluateVerifiedDim(*dispatch.dims()->Get(1), max_batch_, max_seq_);
      if (static_dim(3, "P") < max_t) {
        throw invalidArtifact(where + ": the position table has " + std::to_string(static_dim(3, "P")) +
                              " rows, fewer than T at max_seq (" + std::to_string(max_t) + ")");
      }
    } else if (kind == fb::KernelKind::AttentionLse || kind == fb::KernelKind::AttentionGrad) {
      const int64_t heads = static_dim(2, "H"), kv_heads = static_dim(3, "Hkv");
      static_dim(4, "D");
      if (heads % kv_heads != 0) {
        throw invalidArtifact(where + ": H (" + std::to_string(heads) + ") is not a multiple of Hkv (" +
                              std::to_string(kv_heads) + ")");
      }
    } else if (kind == fb::KernelKind::Dropout) {
      const float p = dispatch.float_params()->Get(0);
      if (!(p >= 0 && p < 1))
        throw invalidArtifact(where + ": float param 'p' must be in [0, 1), got " + std::to_string(p));
    } else if (kind == fb::KernelKind::RopeGrad) {
      static_dim(2, "H");
      if (static_dim(3, "D") % 2 != 0) throw invalidArtifact(where + ": head dim D must be even for RopeGrad");
    }
    if (dispatch.kind() == fb::KernelKind::Attention) {
      const int64_t heads = static_dim(2, "H");
      const int64_t kv_heads = static_dim(3, "Hkv");
      static_dim(4, "D");
      if (heads % kv_heads != 0) {
        throw invalidArtifact(where + ": H (" + std::to_string(heads) + ") is not a multiple of Hkv (" +
                              std::to_string(kv_heads) + ")");
      }
    } else if (dispatch.kind() == fb::KernelKind::Rope || dispatch.kind() == fb::KernelKind::RopeAt) {
      static_dim(2, "H");
      if (static_dim(3, "D") % 2 != 0) throw invalidArtifact(where + ": head dim D must be even for Rope");
    } else if (dispatch.kind() == fb::KernelKind::KVCacheWrite || dispatch.kind() == fb::KernelKind::CachedAttention) {
      // The cache must hold every sequence of a batch at every position a run may address.
      const bool attention = dispatch.kind() == fb::KernelKind::CachedAttention;
      const int first_cache_dim = attention ? 5 : 4;
      if (attention) {
        const int64_t heads = static_dim(2, "H"), kv_heads = static_dim(3, "Hkv");
        if (heads % kv_heads != 0) {
          throw invalidArtifact(where + ": H (" + std::to_string(heads) + ") is not a multiple of Hkv (" +
                                std::to_string(kv_heads) + ")");
        }
      } else {
        static_dim(2, "Hkv");
      }
      static_dim(attention ? 4 : 3, "D");
      const int64_t cache_batch = static_dim(first_cache_dim, "Bmax");
      const int64_t cache_seq = static_dim(first_cache_dim + 1, "S");
      const int64_t batch_at_max = evaluateVerifiedDim(*dispatch.dims()->Get(0), max_batch_, max_seq_);
      if (cache_batch < batch_at_max || cache_seq < max_seq_) {
        throw invalidArtifact(where + ": the cache holds " + std::to_string(cache_batch) + " x " +
                              std::to_string(cache_seq) + " positions; it needs at least max_batch " +
                              std::to_string(batch_at_max) + " x max_seq " + std::to_string(max_seq_));
      }
    }
  }

  // Element count of an operand at (B, T); nullopt on overflow.
  static std::optional<uint64_t> operandElements(const fb::Dispatch& dispatch, const OperandLayout& layout,
                                                 int64_t B, int64_t T) {
    if (layout.fixed_elements > 0) return static_cast<uint64_t>(layout.fixed_elements);
    uint64_t count = 1;
    for (int index : layout.dims) {
      const std::optional<int64_t> extent = evaluateDim(*dispatch.dims()->Get(index), B, T);
      if (!extent || __builtin_mul_overflow(count, static_cast<uint64_t>(*extent), &count)) return std::nullopt;
    }
    return count;
  }

  void checkOperand(const fb::EntryPoint& entry, const fb::Dispatch& dispatch, const fb::BufferRef& ref,
                    const OperandLayout& layout, const std::string& where) {
    if (layout.required_space && ref.space() != *layout.required_space) {
      throw invalidArtifact(where + " is in the " + spaceName(ref.space()) + " space; it must be in the " +
                            spaceName(*layout.required_space) + " space");
    }
    const bool table = layout.weight_shape == WeightShape::EmbeddingTable || layout.weight_shape == WeightShape::PositionTable;
    if (table && ref.space() != BufferSpace::Weight && ref.space() != BufferSpace::State) {
      throw invalidArtifact(where + " is in the " + spaceName(ref.space()) +
                            " space; a table must be a weight or a parameter state");
    }
    const std::optional<uint64_t> elements = operandElements(dispatch, layout, max_batch_, max_seq_);
    if (!elements) throw invalidArtifact(where + ": its size overflows at max_batch/max_seq");
    switch (ref.space()) {
      case BufferSpace::Arena: return checkArenaOperand(entry, ref, layout, *elements, where);
      case BufferSpace::Weight: return checkWeightOperand(dispatch, ref, layout, where);
      case BufferSpace::Input:
      case BufferSpace::Output: return checkIoOperand(entry, dispatch, ref, layout, where);
      case BufferSpace::State: return checkStateOperand(dispatch, ref, layout, *elements, where);
    }
    throw invalidArtifact(where + " has unknown buffer space " + std::to_string(static_cast<int>(ref.space())));
  }

  static const char* spaceName(BufferSpace space) {
    switch (space) {
      case BufferSpace::Arena: return "arena";
      case BufferSpace::Weight: return "weight";
      case BufferSpace::Input: return "input";
      case BufferSpace::Output: return "output";
      case BufferSpace::State: return "state";
    }
    return "unknown";
  }

  void checkStateOperand(const fb::Dispatch& dispatch, const fb::BufferRef& ref, const OperandLayout& layout,
                         uint64_t elements, const std::string& where) {
    const size_t count = artifact_.states() == nullptr ? 0 : artifact_.states()->size();
    if (ref.index() >= count) {
      throw invalidArtifact(where + " refers to state " + std::to_string(ref.index()) + ", but the artifact has " +
                            std::to_string(count) + " states");
    }
    const fb::TensorSpec& spec = *artifact_.states()->Get(static_cast<flatbuffers::uoffset_t>(ref.index()));
    if (spec.dtype() != layout.dtype) {
      throw invalidArtifact(where + ": state '" + spec.name()->str() + "' has dtype " + dtypeName(spec.dtype()) +
                            ", expected " + dtypeName(layout.dtype));
    }
    if (layout.weight_shape != WeightShape::Forbidden && layout.weight_shape != WeightShape::ElementCount) {
      std::vector<int64_t> shape;
      for (const fb::Dim* dim : *spec.shape()) shape.push_back(dim->coefficient());
      return checkStaticShape(dispatch, layout, shape, where + ": state '" + spec.name()->str() + "'", where);
    }
    uint64_t available = 1;
    for (const fb::Dim* dim : *spec.shape()) available *= static_cast<uint64_t>(dim->coefficient());  // checked
    if (elements > available) {
      throw invalidArtifact(where + ": state '" + spec.name()->str() + "' has " + std::to_string(available) +
                            " elements, but the operand spans " + std::to_string(elements));
    }
  }

  static void checkArenaOperand(const fb::EntryPoint& entry, const fb::BufferRef& ref, const OperandLayout& layout,
                                uint64_t elements, const std::string& where) {
    const uint64_t offset = ref.index();
    const size_t element_size = dtypeSize(layout.dtype);
    if (offset % element_size != 0) {
      throw invalidArtifact(where + ": arena offset " + std::to_string(offset) + " is not aligned to " +
                            std::to_string(element_size) + " bytes");
    }
    uint64_t end = 0;
    if (__builtin_mul_overflow(elements, element_size, &end) || __builtin_add_overflow(end, offset, &end) ||
        end > entry.arena_bytes()) {
      throw invalidArtifact(where + ": arena range [" + std::to_string(offset) + ", " +
                            (end < offset ? std::string("overflow") : std::to_string(end)) +
                            ") at max_batch/max_seq exceeds arena_bytes " + std::to_string(entry.arena_bytes()));
    }
  }

  void checkWeightOperand(const fb::Dispatch& dispatch, const fb::BufferRef& ref, const OperandLayout& layout,
                          const std::string& where) {
    if (layout.access != Access::Read || layout.weight_shape == WeightShape::Forbidden) {
      throw invalidArtifact(where + " refers to a weight, but the operand is written; weights are read-only");
    }
    const size_t weight_count = artifact_.weights() == nullptr ? 0 : artifact_.weights()->size();
    if (ref.index() >= weight_count) {
      throw invalidArtifact(where + " refers to weight " + std::to_string(ref.index()) + ", but the artifact has " +
                            std::to_string(weight_count) + " weights");
    }
    const fb::Weight& weight = *artifact_.weights()->Get(static_cast<flatbuffers::uoffset_t>(ref.index()));
    const std::string weight_where =
        where + ": weight " + std::to_string(ref.index()) + " '" + weight.name()->str() + "'";
    // Weights are read-only, so an f32 operand may read fp16 storage (widened by the device).
    const bool widened = weight.dtype() == DType::F16 && layout.dtype == DType::F32;
    if (weight.dtype() != layout.dtype && !widened) {
      throw invalidArtifact(weight_where + " has dtype " + dtypeName(weight.dtype()) + ", expected " +
                            dtypeName(layout.dtype));
    }
    checkStaticShape(dispatch, layout, weightShape(weight), weight_where, where);
  }

  /// A weight's or parameter state's `shape` against what the operand expects.
  void checkStaticShape(const fb::Dispatch& dispatch, const OperandLayout& layout, const std::vector<int64_t>& shape,
                        const std::string& weight_where, const std::string& where) {
    std::vector<int64_t> expected;
    for (int index : layout.dims) {
      const fb::Dim& dim = *dispatch.dims()->Get(index);
      if (dim.b_pow() != 0 || dim.t_pow() != 0) {
        throw invalidArtifact(where + " is a weight, but its dim " + std::to_string(index) + " (" +
                              dimToString(dim) + ") depends on B or T");
      }
      expected.push_back(dim.coefficient());
    }
    const auto mismatch = [&](const std::string& wanted) {
      return invalidArtifact(weight_where + " has shape " + shapeText(shape) + ", expected " + wanted);
    };
    switch (layout.weight_shape) {
      case WeightShape::Exact:
        if (shape != expected) throw mismatch(shapeText(expected));
        return;
      case WeightShape::ElementCount: {
        int64_t count = 1, wanted = 1;
        for (int64_t extent : shape) count *= extent;  // cannot overflow: checkWeights bounded the bytes
        for (int64_t extent : expected) {
          if (__builtin_mul_overflow(wanted, extent, &wanted)) throw mismatch("an overflowing element count");
        }
        if (count != wanted) throw mismatch(std::to_string(wanted) + " elements");
        return;
      }
      case WeightShape::EmbeddingTable:
        if (shape.size() != 2 || shape[0] < 1 || shape[1] != expected[0]) {
          throw mismatch("[vocab, " + std::to_string(expected[0]) + "] with vocab >= 1");
        }
        recordVocab(dispatch, shape[0]);
        return;
      case WeightShape::PositionTable: {
        const int64_t max_t = dispatch.kind() == fb::KernelKind::AddPositionsAt
                                  ? max_seq_
                                  : evaluateVerifiedDim(*dispatch.dims()->Get(1), max_batch_, max_seq_);
        if (shape.size() != 2 || shape[0] < max_t || shape[1] != expected[0]) {
          throw mismatch("[P, " + std::to_string(expected[0]) + "] with P >= " + std::to_string(max_t) +
                         " (T at max_seq)");
        }
        return;
      }
      case WeightShape::Forbidden: break;
    }
  }

  void recordRange(size_t input, IntRange range, const std::string& where) {
    IntRange& recorded = facts_.input_range.back()[input];
    if (recorded != IntRange::Any && recorded != range) {
      throw invalidArtifact(where + " is used both as sequence lengths and as cache positions");
    }
    recorded = range;
  }

  // The ids operand of an Embedding is verified to be an input (operand 0).
  void recordVocab(const fb::Dispatch& dispatch, int64_t vocab) {
    const size_t input = dispatch.buffers()->Get(0)->index();
    auto& entry_vocab = facts_.input_vocab.back();
    if (input >= entry_vocab.size()) return;  // reported when operand 0 was checked
    if (entry_vocab[input] == 0 || vocab < entry_vocab[input]) entry_vocab[input] = vocab;
  }

  void checkIoOperand(const fb::EntryPoint& entry, const fb::Dispatch& dispatch, const fb::BufferRef& ref,
                      const OperandLayout& layout, const std::string& where) {
    const bool is_input = ref.space() == BufferSpace::Input;
    const char* role = is_input ? "input" : "output";
    const auto* specs = is_input ? entry.inputs() : entry.outputs();
    const size_t count = specs == nullptr ? 0 : specs->size();
    if (ref.index() >= count) {
      throw invalidArtifact(where + " refers to " + role + " " + std::to_string(ref.index()) + ", but entry point '" +
                            entry.name()->str() + "' has " + std::to_string(count) + " " + role + "s");
    }
    const fb::TensorSpec& spec = *specs->Get(static_cast<flatbuffers::uoffset_t>(ref.index()));
    const std::string spec_where = where + ": " + role + " '" + spec.name()->str() + "'";
    if (is_input && layout.access != Access::Read) {
      throw invalidArtifact(where + " writes to input '" + spec.name()->str() + "'; inputs are read-only");
    }
    if (!is_input && layout.access != Access::Read) written_outputs_[ref.index()] = true;
    if (is_input && layout.int_range != IntRange::Any) recordRange(ref.index(), layout.int_range, spec_where);
    if (spec.dtype() != layout.dtype) {
      throw invalidArtifact(spec_where + " has dtype " + dtypeName(spec.dtype()) + ", expected " +
                            dtypeName(layout.dtype));
    }
    for (const auto& [B, T] : corners()) {
      const uint64_t needed = *operandElements(dispatch, layout, B, T);
      uint64_t available = 1;
      for (const fb::Dim* dim : *spec.shape()) {
        available *= static_cast<uint64_t>(evaluateVerifiedDim(*dim, B, T));  // bounded by checkDim
      }
      if (needed > available) {
        throw invalidArtifact(spec_where + " has " + std::to_string(available) + " elements at B=" +
                              std::to_string(B) + ", T=" + std::to_string(T) + ", but the operand spans " +
                              std::to_string(needed));
      }
    }
  }

  const fb::Artifact& artifact_;
  int64_t max_batch_ = 0;
  int64_t max_seq_ = 0;
  ArtifactFacts facts_;
  std::vector<bool> written_outputs_;
};

void checkStructure(const uint8_t* data, size_t size) {
  const std::string prefix = "not a valid Lathe artifact: ";
  if (size < 8) {
    throw Error(LATHE_ERROR_INVALID_ARTIFACT, prefix + "only " + std::to_string(size) + " bytes");
  }
  if (!fb::ArtifactBufferHasIdentifier(data)) {
    const std::string found(reinterpret_cast<const char*>(data) + 4, 4);
    std::string printable;
    for (char c : found) printable += (c >= 32 && c < 127) ? c : '?';
    throw Error(LATHE_ERROR_INVALID_ARTIFACT,
                prefix + "file identifier is '" + printable + "', expected '" + fb::ArtifactIdentifier() + "'");
  }
  flatbuffers::Verifier verifier(data, size);
  if (!fb::VerifyArtifactBuffer(verifier)) {
    throw Error(LATHE_ERROR_INVALID_ARTIFACT, prefix + "the FlatBuffers structure is corrupt or truncated (" +
                                                  std::to_string(size) + " bytes)");
  }
}

}  // namespace

size_t dtypeSize(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::I32: return 4;
  }
  return 0;
}

const char* dtypeName(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::I32: return "i32";
  }
  return "unknown";
}

ArtifactFacts verifyArtifact(const uint8_t* data, size_t size) {
  checkStructure(data, size);
  return Checker(*fb::GetArtifact(data)).run();
}

}  // namespace lathe::runtime
