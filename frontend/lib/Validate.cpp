// Semantic checks of a ModelSpec, shared by every way a spec is produced.
#include "Internal.h"

#include <cmath>
#include <limits>

namespace lathe {
namespace frontend_detail {

namespace {

// Kernels index with 32-bit dims; larger sizes are certainly a typo.
constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();

void checkSize(const KeyLocator& locate, const std::string& key, int64_t value) {
  if (value <= 0) throw ModelError(locate(key), key + " must be a positive integer, got " + std::to_string(value));
  if (value > kMaxSize)
    throw ModelError(locate(key), key + " is too large: " + std::to_string(value) + " (at most " +
                                      std::to_string(kMaxSize) + ")");
}

void checkPositiveReal(const KeyLocator& locate, const std::string& key, double value) {
  if (!(std::isfinite(value) && value > 0))
    throw ModelError(locate(key), key + " must be a positive number, got " + std::to_string(value));
}

}  // namespace

void validateSpecAt(const ModelSpec& spec, const KeyLocator& locate) {
  if (spec.name.empty()) throw ModelError(locate("name"), "name must not be empty");
  // Names end up in artifacts, file names and logs: keep them printable ASCII.
  for (char c : spec.name)
    if (c < 0x20 || c > 0x7e)
      throw ModelError(locate("name"), "name may only contain printable ASCII characters");
  checkSize(locate, "vocab_size", spec.vocab_size);
  checkSize(locate, "context_length", spec.context_length);
  checkSize(locate, "d_model", spec.d_model);
  checkSize(locate, "layers", spec.n_layers);
  checkSize(locate, "heads", spec.n_heads);
  checkSize(locate, "kv_heads", spec.n_kv_heads);
  checkSize(locate, "d_ff", spec.d_ff);
  if (spec.d_model % spec.n_heads != 0)
    throw ModelError(locate("heads"), "heads (" + std::to_string(spec.n_heads) + ") must divide d_model (" +
                                          std::to_string(spec.d_model) + ")");
  if (spec.n_heads % spec.n_kv_heads != 0)
    throw ModelError(locate("kv_heads"), "kv_heads (" + std::to_string(spec.n_kv_heads) + ") must divide heads (" +
                                             std::to_string(spec.n_heads) + ")");
  if (spec.positions == PositionKind::Rope && spec.head_dim() % 2 != 0)
    throw ModelError(locate("positions"), "rope needs an even head dimension, but d_model / heads = " +
                                              std::to_string(spec.d_model) + " / " + std::to_string(spec.n_heads) +
                                              " = " + std::to_string(spec.head_dim()));
  checkPositiveReal(locate, "norm_eps", spec.norm_eps);
  checkPositiveReal(locate, "rope_theta", spec.rope_theta);
  if (!(spec.dropout >= 0 && spec.dropout < 1))
    throw ModelError(locate("dropout"), "dropout must be a probability in [0, 1), got " + std::to_string(spec.dropout));
  checkBlockGraph(statementsOf(spec.block), locate("block"));
}

}  // namespace frontend_detail

void validateSpec(const ModelSpec& spec) {
  frontend_detail::validateSpecAt(spec, [](const std::string&) { return SourceLoc{}; });
}

}  // namespace lathe
