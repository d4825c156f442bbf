// Canonical weight names and shapes, seeded initialization and the check that
// a set of weights fits a spec.
#include "Internal.h"

#include <cmath>
#include <algorithm>
#include <random>
#include <set>

namespace lathe {

using namespace frontend_detail;

using WeightList = std::vector<std::pair<std::string, std::vector<int64_t>>>;

namespace {

/// How a weight is initialized.
enum class Role { Matrix, ResidualMatrix, Bias, NormWeight };

struct WeightInfo {
  std::string name;
  std::vector<int64_t> shape;
  Role role;
};

void addNormWeights(const ModelSpec& spec, const std::string& prefix, std::vector<WeightInfo>& out) {
  out.push_back({prefix + ".weight", {spec.d_model}, Role::NormWeight});
  if (spec.norm == NormKind::LayerNorm) out.push_back({prefix + ".bias", {spec.d_model}, Role::Bias});
}

void addLinear(const ModelSpec& spec, const std::string& prefix, int64_t out_features, int64_t in_features,
               Role role, std::vector<WeightInfo>& out) {
  out.push_back({prefix + ".weight", {out_features, in_features}, role});
  if (spec.bias) out.push_back({prefix + ".bias", {out_features}, Role::Bias});
}

void addNodeWeights(const ModelSpec& spec, const std::string& prefix, NodeKind kind, std::vector<WeightInfo>& out) {
  const int64_t C = spec.d_model;
  const int64_t q_width = spec.n_heads * spec.head_dim();
  const int64_t kv_width = spec.n_kv_heads * spec.head_dim();
  switch (kind) {
    case NodeKind::Norm:
      addNormWeights(spec, prefix, out);
      break;
    case NodeKind::Attention:
      addLinear(spec, prefix + ".q", q_width, C, Role::Matrix, out);
      addLinear(spec, prefix + ".k", kv_width, C, Role::Matrix, out);
      addLinear(spec, prefix + ".v", kv_width, C, Role::Matrix, out);
      addLinear(spec, prefix + ".o", C, q_width, Role::ResidualMatrix, out);
      break;
    case NodeKind::MLP:
      if (spec.activation == Activation::SwiGLU) addLinear(spec, prefix + ".gate", spec.d_ff, C, Role::Matrix, out);
      addLinear(spec, prefix + ".up", spec.d_ff, C, Role::Matrix, out);
      addLinear(spec, prefix + ".down", C, spec.d_ff, Role::ResidualMatrix, out);
      break;
    case NodeKind::Add:
      break;
  }
}

std::vector<WeightInfo> weightInfos(const ModelSpec& spec) {
  std::vector<WeightInfo> out;
  out.push_back({"embed.tokens", {spec.vocab_size, spec.d_model}, Role::Matrix});
  if (spec.positions == PositionKind::Learned)
    out.push_back({"embed.positions", {spec.context_length, spec.d_model}, Role::Matrix});
  for (int64_t layer = 0; layer < spec.n_layers; ++layer)
    for (const BlockNode& node : spec.block)
      addNodeWeights(spec, "layers." + std::to_string(layer) + "." + node.name, node.kind, out);
  if (spec.final_norm) addNormWeights(spec, "final_norm", out);
  if (!spec.tied_embeddings) out.push_back({"lm_head.weight", {spec.vocab_size, spec.d_model}, Role::Matrix});
  return out;
}

// Per-tensor streams keep each tensor's values independent of which other
// tensors the spec has: seed and name are mixed with FNV-1a and splitmix64.
uint64_t tensorSeed(uint64_t seed, const std::string& name) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : name) hash = (hash ^ c) * 1099511628211ull;
  uint64_t z = seed ^ hash;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// Fills `out` with N(0, stddev) by Box-Muller over std::mt19937_64, whose
/// output sequence the standard fixes (std::normal_distribution's is not).
void fillNormal(float* out, int64_t count, double stddev, uint64_t seed) {
  std::mt19937_64 engine(seed);
  const double kTwoPi = 6.283185307179586476925286766559;
  auto uniform = [&engine] { return static_cast<double>(engine() >> 11) * 0x1.0p-53; };  // [0, 1)
  for (int64_t i = 0; i < count; i += 2) {
    double radius = std::sqrt(-2.0 * std::log(1.0 - uniform())) * stddev;  // 1 - u is in (0, 1]
    double angle = kTwoPi * uniform();
    out[i] = static_cast<float>(radius * std::cos(angle));
    if (i + 1 < count) out[i + 1] = static_cast<float>(radius * std::sin(angle));
  }
}

Tensor makeTensor(const std::string& name, const std::vector<int64_t>& shape) {
  Tensor tensor;
  tensor.name = name;
  tensor.dtype = DType::F32;
  tensor.shape = shape;
  tensor.data.assign(static_cast<size_t>(tensor.numel()) * sizeof(float), 0);
  return tensor;
}

}  // namespace

WeightList expectedWeights(const ModelSpec& spec) {
  WeightList out;
  for (WeightInfo& info : weightInfos(spec)) out.emplace_back(std::move(info.name), std::move(info.shape));
  return out;
}

Weights initWeights(const ModelSpec& spec, uint64_t seed) {
  validateSpec(spec);
  const double kStd = 0.02;
  const double residual_std = kStd / std::sqrt(2.0 * static_cast<double>(spec.n_layers));
  Weights weights;
  for (const WeightInfo& info : weightInfos(spec)) {
    Tensor tensor = makeTensor(info.name, info.shape);
    float* values = tensor.f32();
    switch (info.role) {
      case Role::Matrix:
        fillNormal(values, tensor.numel(), kStd, tensorSeed(seed, info.name));
        break;
      case Role::ResidualMatrix:
        fillNormal(values, tensor.numel(), residual_std, tensorSeed(seed, info.name));
        break;
      case Role::NormWeight:
        std::fill(values, values + tensor.numel(), 1.0f);
        break;
      case Role::Bias:
        break;  // already zero
    }
    weights.emplace(info.name, std::move(tensor));
  }
  return weights;
}

namespace frontend_detail {

void checkWeights(const ModelSpec& spec, const Weights& weights, const SourceLoc& where) {
  WeightList expected = expectedWeights(spec);
  for (const auto& [name, shape] : expected) {
    auto it = weights.find(name);
    if (it == weights.end())
      throw ModelError(where, "missing tensor '" + name + "' (expected shape " + formatShape(shape) + ")");
    const Tensor& tensor = it->second;
    if (tensor.shape != shape)
      throw ModelError(where, "tensor '" + name + "' has shape " + formatShape(tensor.shape) + ", expected " +
                                  formatShape(shape));
    if (tensor.dtype != DType::F32)
      throw ModelError(where, "tensor '" + name + "' is " + dtypeName(tensor.dtype) + ", expected F32");
    if (tensor.data.size() != static_cast<size_t>(tensor.numel()) * sizeof(float))
      throw ModelError(where, "tensor '" + name + "' holds " + std::to_string(tensor.data.size()) +
                                  " bytes, expected " + std::to_string(tensor.numel() * 4));
  }
  if (weights.size() != expected.size()) {
    std::set<std::string> expected_names;
    for (const auto& entry : expected) expected_names.insert(entry.first);
    for (const auto& [name, tensor] : weights)
      if (!expected_names.count(name))
        throw ModelError(where, "unexpected tensor '" + name + "' with shape " + formatShape(tensor.shape));
  }
}

}  // namespace frontend_detail
}  // namespace lathe
