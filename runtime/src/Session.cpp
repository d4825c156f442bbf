#include "Session.h"

#include <algorithm>
#include <cmath>

#include "ArtifactVerifier.h"
#include "Error.h"
#include "KernelLayout.h"

namespace lathe::runtime {

struct Session::EntryState {
  std::unique_ptr<PreparedEntry> prepared;
  std::vector<std::unique_ptr<Buffer>> inputs;
  std::vector<std::unique_ptr<Buffer>> outputs;
  std::vector<std::vector<int64_t>> input_shapes;
  std::vector<bool> input_set;
  std::vector<std::vector<int32_t>> range_checked_values;  // host copies of inputs with an IntRange
  bool uses_batch = false;  // some output or dispatch dim depends on B
  bool uses_seq = false;
  bool has_run = false;
  int64_t batch = 0;
  int64_t seq = 0;
};

namespace {

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

Error badInput(const std::string& message) { return Error(LATHE_ERROR_INVALID_ARGUMENT, message); }

// B and T as determined so far from input shapes; 0 while unknown.
struct ShapeVars {
  int64_t batch = 0;
  int64_t seq = 0;
};

// Solves the symbolic dims of `spec` against a concrete shape, filling in
// ShapeVars and checking them against the artifact's limits.
class ShapeBinder {
public:
  ShapeBinder(const Artifact& artifact, ShapeVars& vars) : artifact_(artifact), vars_(vars) {}

  void bind(const fb::TensorSpec& spec, const std::vector<int64_t>& shape, const std::string& where) {
    const auto& dims = *spec.shape();
    if (shape.size() != dims.size()) {
      throw badInput(where + " has rank " + std::to_string(dims.size()) + " " + Artifact::shapeString(spec) +
                     ", got rank " + std::to_string(shape.size()) + " " + shapeText(shape));
    }
    // Dims in one variable first, then mixed dims with one unknown left.
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = 0; i < dims.size(); ++i) solveDim(*dims.Get(i), shape[i], where + " dim " + std::to_string(i), spec);
    }
    for (size_t i = 0; i < dims.size(); ++i) {
      const fb::Dim& dim = *dims.Get(i);
      if ((dim.b_pow() > 0 && vars_.batch == 0) || (dim.t_pow() > 0 && vars_.seq == 0)) continue;
      if (evaluateVerifiedDim(dim, std::max<int64_t>(vars_.batch, 1), std::max<int64_t>(vars_.seq, 1)) != shape[i]) {
        throw mismatch(where + " dim " + std::to_string(i), shape[i], dim, spec);
      }
    }
  }

private:
  Error mismatch(const std::string& where, int64_t extent, const fb::Dim& dim, const fb::TensorSpec& spec) const {
    std::string known;
    if (vars_.batch > 0) known += " with B=" + std::to_string(vars_.batch);
    if (vars_.seq > 0) known += std::string(known.empty() ? " with" : ",") + " T=" + std::to_string(vars_.seq);
    return badInput(where + " is " + std::to_string(extent) + ", expected " + dimToString(dim) + known +
                    " (shape " + Artifact::shapeString(spec) + ")");
  }

  // Solves coefficient * x^power == extent for a positive integer x.
  static int64_t solve(int64_t coefficient, int power, int64_t extent) {
    if (extent <= 0 || extent % coefficient != 0) return 0;
    const int64_t target = extent / coefficient;
    const int64_t guess = std::llround(std::pow(static_cast<double>(target), 1.0 / power));
    for (int64_t x = std::max<int64_t>(guess - 1, 1); x <= guess + 1; ++x) {
      int64_t value = 1;
      bool overflow = false;
      for (int i = 0; i < power; ++i) overflow |= __builtin_mul_overflow(value, x, &value);
      if (!overflow && value == target) return x;
    }
    return 0;
  }

  void assign(int64_t& var, const char* var_name, int64_t value, int64_t limit, const char* limit_name,
              int64_t extent, const fb::Dim& dim, const std::string& where, const fb::TensorSpec& spec) {
    if (value == 0) throw mismatch(where, extent, dim, spec);
    if (value > limit) {
      throw badInput(where + " is " + std::to_string(extent) + ", so " + var_name + " = " + std::to_string(value) +
                     ", which exceeds " + limit_name + " " + std::to_string(limit));
    }
    var = value;
  }

  void solveDim(const fb::Dim& dim, int64_t extent, const std::string& where, const fb::TensorSpec& spec) {
    if (extent < 0) throw badInput(where + " is negative (" + std::to_string(extent) + ")");
    const bool batch_unknown = dim.b_pow() > 0 && vars_.batch == 0;
    const bool seq_unknown = dim.t_pow() > 0 && vars_.seq == 0;
    if (batch_unknown == seq_unknown) return;  // nothing to solve, or two unknowns
    int64_t known = dim.coefficient();
    if (batch_unknown) {
      for (int i = 0; i < dim.t_pow(); ++i) known *= vars_.seq;  // bounded: seq <= max_seq
      assign(vars_.batch, "B", solve(known, dim.b_pow(), extent), artifact_.maxBatch(), "max_batch", extent, dim,
             where, spec);
    } else {
      for (int i = 0; i < dim.b_pow(); ++i) known *= vars_.batch;
      assign(vars_.seq, "T", solve(known, dim.t_pow(), extent), artifact_.maxSeq(), "max_seq", extent, dim, where,
             spec);
    }
  }

  const Artifact& artifact_;
  ShapeVars& vars_;
};

size_t maxBytes(const fb::TensorSpec& spec, const Artifact& artifact) {
  size_t bytes = dtypeSize(spec.dtype());
  for (const fb::Dim* dim : *spec.shape()) {
    bytes *= static_cast<size_t>(evaluateVerifiedDim(*dim, artifact.maxBatch(), artifact.maxSeq()));  // verified
  }
  return bytes;
}

size_t bytesAt(const fb::TensorSpec& spec, int64_t B, int64_t T) {
  size_t bytes = dtypeSize(spec.dtype());
  for (const fb::Dim* dim : *spec.shape()) bytes *= static_cast<size_t>(evaluateVerifiedDim(*dim, B, T));
  return bytes;
}

void noteUses(const flatbuffers::Vector<const fb::Dim*>& dims, bool& uses_batch, bool& uses_seq) {
  for (const fb::Dim* dim : dims) {
    uses_batch |= dim->b_pow() > 0;
    uses_seq |= dim->t_pow() > 0;
  }
}

// "[1, 5]" for the flat index of an element of `shape`.
std::string positionText(size_t flat, const std::vector<int64_t>& shape) {
  std::vector<int64_t> position(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    position[i] = static_cast<int64_t>(flat % static_cast<size_t>(shape[i]));
    flat /= static_cast<size_t>(shape[i]);
  }
  return shapeText(position);
}

std::string inputWhere(const fb::EntryPoint& entry, const fb::TensorSpec& spec) {
  return "input '" + spec.name()->str() + "' of entry point '" + entry.name()->str() + "'";
}

}  // namespace

Session::Session(std::shared_ptr<const Artifact> artifact, const std::string& device_spec)
    : artifact_(std::move(artifact)), device_(createDevice(device_spec)) {
  const fb::Artifact& root = artifact_->root();
  if (!artifact_->hasTarget(device_->kind())) {
    throw Error(LATHE_ERROR_UNSUPPORTED, "the artifact was compiled for target '" + root.target()->str() +
                                             "', but the session's device is '" + device_spec +
                                             "' (compile with --target " + device_->kind() + ")");
  }
  if (root.weights() != nullptr) {
    for (const fb::Weight* weight : *root.weights()) {
      weights_.push_back(device_->importConstant(weight->data() ? weight->data()->data() : nullptr,
                                                 weight->data() ? weight->data()->size() : 0, weight->dtype()));
    }
  }
  uint64_t arena_bytes = 0;
  entries_.resize(artifact_->entryPointCount());
  for (size_t e = 0; e < entries_.size(); ++e) {
    const fb::EntryPoint& entry = artifact_->entryPoint(e);
    EntryState& state = entries_[e];
    arena_bytes = std::max<uint64_t>(arena_bytes, entry.arena_bytes());
    state.prepared = device_->prepare(*artifact_, e);
    const size_t input_count = entry.inputs() ? entry.inputs()->size() : 0;
    for (size_t i = 0; i < input_count; ++i) state.inputs.push_back(device_->allocate(maxBytes(*entry.inputs()->Get(i), *artifact_)));
    state.input_shapes.resize(input_count);
    state.input_set.assign(input_count, false);
    for (const fb::TensorSpec* output : *entry.outputs()) {
      state.outputs.push_back(device_->allocate(maxBytes(*output, *artifact_)));
      noteUses(*output->shape(), state.uses_batch, state.uses_seq);
    }
    for (const fb::Dispatch* dispatch : *entry.dispatches()) noteUses(*dispatch->dims(), state.uses_batch, state.uses_seq);
  }
  arena_ = device_->allocate(arena_bytes);
  for (size_t i = 0; i < artifact_->stateCount(); ++i) {
    states_.push_back(device_->allocate(maxBytes(artifact_->state(i), *artifact_)));
  }
  initializeStates();
}

void Session::initializeStates() {
  const fb::Artifact& root = artifact_->root();
  for (size_t i = 0; i < states_.size(); ++i) {
    const fb::TensorSpec& spec = artifact_->state(i);
    if (spec.kind() != fb::StateKind::Parameter) {
      device_->zero(*states_[i]);
      continue;
    }
    const fb::Weight& weight = *root.weights()->Get(static_cast<flatbuffers::uoffset_t>(spec.initial_weight()));
    device_->upload(*states_[i], weight.data()->data(), weight.data()->size());  // sizes verified equal
  }
}

void Session::resetStates() {
  for (size_t i = 0; i < states_.size(); ++i) {
    if (artifact_->state(i).kind() == fb::StateKind::Cache) device_->zero(*states_[i]);
  }
}

size_t Session::stateIndex(const std::string& name) const {
  for (size_t i = 0; i < states_.size(); ++i) {
    if (artifact_->state(i).name()->str() == name) return i;
  }
  throw Error(LATHE_ERROR_NOT_FOUND, "the artifact has no state '" + name + "'");
}

size_t Session::checkedStateBytes(const std::string& name, const void* data, size_t bytes, size_t* index) const {
  *index = stateIndex(name);
  const size_t size = states_[*index]->bytes();
  if (bytes != size) {
    throw badInput("state '" + name + "' has " + std::to_string(size) + " bytes, got a buffer of " +
                   std::to_string(bytes));
  }
  if (data == nullptr && size > 0) throw badInput("state '" + name + "': buffer is null");
  return size;
}

void Session::readState(const std::string& name, void* dst, size_t bytes) const {
  size_t index = 0;
  const size_t size = checkedStateBytes(name, dst, bytes, &index);
  device_->download(*states_[index], dst, size);
}

void Session::writeState(const std::string& name, const void* src, size_t bytes) {
  size_t index = 0;
  const size_t size = checkedStateBytes(name, src, bytes, &index);
  device_->upload(*states_[index], src, size);
}

Session::~Session() = default;

void Session::setInput(const std::string& entry_name, const std::string& name, fb::DType dtype,
                       const std::vector<int64_t>& shape, const void* data) {
  const size_t e = artifact_->entryPointIndex(entry_name);
  const fb::EntryPoint& entry = artifact_->entryPoint(e);
  if (entry.inputs() == nullptr) throw Error(LATHE_ERROR_NOT_FOUND, "entry point '" + entry_name + "' has no inputs");
  const size_t index = tensorIndex(*entry.inputs(), name, "input", entry);
  const fb::TensorSpec& spec = *entry.inputs()->Get(static_cast<flatbuffers::uoffset_t>(index));
  const std::string where = inputWhere(entry, spec);
  if (dtype != spec.dtype()) {
    throw badInput(where + " has dtype " + dtypeName(spec.dtype()) + ", got " + dtypeName(dtype));
  }
  ShapeVars vars;
  ShapeBinder(*artifact_, vars).bind(spec, shape, where);

  EntryState& state = entries_[e];
  uint64_t bytes = dtypeSize(dtype);
  for (int64_t extent : shape) {
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(extent), &bytes)) bytes = UINT64_MAX;
  }
  if (bytes > state.inputs[index]->bytes()) {
    throw badInput(where + ": shape " + shapeText(shape) + " is larger than the artifact allows (max_batch " +
                   std::to_string(artifact_->maxBatch()) + ", max_seq " + std::to_string(artifact_->maxSeq()) + ")");
  }
  if (data == nullptr && bytes > 0) throw badInput(where + ": data is null");
  if (const int64_t vocab = artifact_->inputVocab(e, index); vocab > 0) {
    const auto* ids = static_cast<const int32_t*>(data);
    for (size_t i = 0; i < bytes / sizeof(int32_t); ++i) {
      if (ids[i] < 0 || ids[i] >= vocab) {
        throw badInput(where + " at " + positionText(i, shape) + ": token id " + std::to_string(ids[i]) +
                       " is out of range [0, " + std::to_string(vocab) + ")");
      }
    }
  }
  if (artifact_->inputRange(e, index) != IntRange::Any) {
    const auto* values = static_cast<const int32_t*>(data);
    state.range_checked_values.resize(state.inputs.size());
    state.range_checked_values[index].assign(values, values + bytes / sizeof(int32_t));
  }
  device_->upload(*state.inputs[index], data, bytes);
  state.input_shapes[index] = shape;
  state.input_set[index] = true;
}

void Session::run(const std::string& entry_name) {
  const size_t e = artifact_->entryPointIndex(entry_name);
  const fb::EntryPoint& entry = artifact_->entryPoint(e);
  EntryState& state = entries_[e];
  ShapeVars vars;
  ShapeBinder binder(*artifact_, vars);
  for (size_t i = 0; i < state.inputs.size(); ++i) {
    const fb::TensorSpec& spec = *entry.inputs()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (!state.input_set[i]) throw Error(LATHE_ERROR_INVALID_STATE, inputWhere(entry, spec) + " was not set");
    binder.bind(spec, state.input_shapes[i], inputWhere(entry, spec));
  }
  // Bind again so dims that needed a variable from a later input are checked too.
  for (size_t i = 0; i < state.inputs.size(); ++i) {
    const fb::TensorSpec& spec = *entry.inputs()->Get(static_cast<flatbuffers::uoffset_t>(i));
    binder.bind(spec, state.input_shapes[i], inputWhere(entry, spec));
  }
  if ((vars.batch == 0 && state.uses_batch) || (vars.seq == 0 && state.uses_seq)) {
    throw Error(LATHE_ERROR_INVALID_ARGUMENT, "the input shapes of entry point '" + entry_name + "' do not determine " +
                                                  (vars.batch == 0 && state.uses_batch ? "B" : "T"));
  }
  checkInputRanges(e, vars.batch > 0 ? vars.batch : 1, vars.seq > 0 ? vars.seq : 1);
  Bindings bindings;
  bindings.arena = arena_.get();
  for (const auto& buffer : states_) bindings.states.push_back(buffer.get());
  for (const auto& weight : weights_) bindings.weights.push_back(weight.get());
  for (const auto& input : state.inputs) bindings.inputs.push_back(input.get());
  for (const auto& output : state.outputs) bindings.outputs.push_back(output.get());
  state.has_run = false;
  state.batch = std::max<int64_t>(vars.batch, 1);
  state.seq = std::max<int64_t>(vars.seq, 1);
  device_->run(*state.prepared, bindings, state.batch, state.seq);
  state.has_run = true;
}

void Session::checkInputRanges(size_t e, int64_t B, int64_t T) const {
  const fb::EntryPoint& entry = artifact_->entryPoint(e);
  const EntryState& state = entries_[e];
  for (size_t i = 0; i < state.inputs.size(); ++i) {
    const IntRange range = artifact_->inputRange(e, i);
    if (range == IntRange::Any) continue;
    const int64_t low = range == IntRange::Length ? 1 : 0;
    const int64_t high = range == IntRange::Length ? T : artifact_->maxSeq() - T;
    const std::vector<int32_t>& values = state.range_checked_values[i];
    for (size_t b = 0; b < values.size() && b < static_cast<size_t>(B); ++b) {
      if (values[b] < low || values[b] > high) {
        const std::string what = range == IntRange::Length
                                     ? "a length must lie in [1, T=" + std::to_string(T) + "]"
                                     : "a position plus T=" + std::to_string(T) + " must fit in max_seq " +
                                           std::to_string(artifact_->maxSeq()) + ", so it must lie in [0, " +
                                           std::to_string(high) + "]";
        throw badInput(inputWhere(entry, *entry.inputs()->Get(static_cast<flatbuffers::uoffset_t>(i))) + " at [" +
                       std::to_string(b) + "] is " + std::to_string(values[b]) + "; " + what);
      }
    }
  }
}

const Session::EntryState& Session::ranState(const std::string& entry_name, size_t* entry_index) const {
  *entry_index = artifact_->entryPointIndex(entry_name);
  const EntryState& state = entries_[*entry_index];
  if (!state.has_run) {
    throw Error(LATHE_ERROR_INVALID_STATE, "entry point '" + entry_name + "' has not been run in this session");
  }
  return state;
}

std::vector<int64_t> Session::outputShape(const std::string& entry_name, const std::string& name) const {
  size_t e = 0;
  const EntryState& state = ranState(entry_name, &e);
  const fb::EntryPoint& entry = artifact_->entryPoint(e);
  const fb::TensorSpec& spec = *entry.outputs()->Get(
      static_cast<flatbuffers::uoffset_t>(tensorIndex(*entry.outputs(), name, "output", entry)));
  std::vector<int64_t> shape;
  for (const fb::Dim* dim : *spec.shape()) shape.push_back(evaluateVerifiedDim(*dim, state.batch, state.seq));
  return shape;
}

void Session::readOutput(const std::string& entry_name, const std::string& name, void* dst, size_t bytes) const {
  size_t e = 0;
  const EntryState& state = ranState(entry_name, &e);
  const fb::EntryPoint& entry = artifact_->entryPoint(e);
  const size_t index = tensorIndex(*entry.outputs(), name, "output", entry);
  const size_t needed = bytesAt(*entry.outputs()->Get(static_cast<flatbuffers::uoffset_t>(index)), state.batch, state.seq);
  if (bytes < needed) {
    throw badInput("output '" + name + "' of entry point '" + entry_name + "' has " + std::to_string(needed) +
                   " bytes; the destination holds only " + std::to_string(bytes));
  }
  if (dst == nullptr && needed > 0) throw badInput("output '" + name + "': destination is null");
  device_->download(*state.outputs[index], dst, needed);
}

}  // namespace lathe::runtime
