// Spellings of the spec's enums and small text helpers.
#include "Internal.h"

#include <algorithm>
#include <sstream>

namespace lathe::frontend_detail {

namespace {

template <typename Enum>
struct Spelling {
  Enum value;
  const char* text;
};

const Spelling<NormKind> kNorms[] = {{NormKind::LayerNorm, "layernorm"}, {NormKind::RMSNorm, "rmsnorm"}};
const Spelling<NormPlacement> kPlacements[] = {{NormPlacement::Pre, "pre"}, {NormPlacement::Post, "post"}};
const Spelling<PositionKind> kPositions[] = {
    {PositionKind::Learned, "learned"}, {PositionKind::Sinusoidal, "sinusoidal"}, {PositionKind::Rope, "rope"}};
const Spelling<Activation> kActivations[] = {{Activation::Gelu, "gelu"},
                                             {Activation::GeluTanh, "gelu_tanh"},
                                             {Activation::Relu, "relu"},
                                             {Activation::Silu, "silu"},
                                             {Activation::SwiGLU, "swiglu"}};
const Spelling<NodeKind> kNodeKinds[] = {
    {NodeKind::Norm, "norm"}, {NodeKind::Attention, "attention"}, {NodeKind::MLP, "mlp"}, {NodeKind::Add, "add"}};
const Spelling<DType> kDTypes[] = {{DType::F32, "F32"}, {DType::F16, "F16"}, {DType::BF16, "BF16"}, {DType::I32, "I32"}};

template <typename Enum, size_t N>
const char* nameOf(const Spelling<Enum> (&table)[N], Enum value) {
  for (const auto& entry : table)
    if (entry.value == value) return entry.text;
  return "?";
}

template <typename Enum, size_t N>
std::optional<Enum> valueOf(const Spelling<Enum> (&table)[N], const std::string& text) {
  for (const auto& entry : table)
    if (text == entry.text) return entry.value;
  return std::nullopt;
}

size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

const char* normName(NormKind kind) { return nameOf(kNorms, kind); }
const char* placementName(NormPlacement placement) { return nameOf(kPlacements, placement); }
const char* positionName(PositionKind kind) { return nameOf(kPositions, kind); }
const char* activationName(Activation activation) { return nameOf(kActivations, activation); }
const char* nodeKindName(NodeKind kind) { return nameOf(kNodeKinds, kind); }
const char* dtypeName(DType dtype) { return nameOf(kDTypes, dtype); }

size_t dtypeSize(DType dtype) {
  switch (dtype) {
    case DType::F16:
    case DType::BF16:
      return 2;
    case DType::F32:
    case DType::I32:
      return 4;
  }
  return 4;
}

std::optional<NormKind> parseNorm(const std::string& text) { return valueOf(kNorms, text); }
std::optional<NormPlacement> parsePlacement(const std::string& text) { return valueOf(kPlacements, text); }
std::optional<PositionKind> parsePosition(const std::string& text) { return valueOf(kPositions, text); }
std::optional<Activation> parseActivation(const std::string& text) { return valueOf(kActivations, text); }
std::optional<NodeKind> parseNodeKind(const std::string& text) { return valueOf(kNodeKinds, text); }
std::optional<DType> parseDType(const std::string& text) { return valueOf(kDTypes, text); }

std::optional<std::string> closestMatch(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& candidate : candidates) {
    size_t distance = editDistance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates) {
  auto match = closestMatch(word, candidates);
  return match ? " (did you mean '" + *match + "'?)" : "";
}

std::string formatShape(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

}  // namespace lathe::frontend_detail
