// The canonical JSON description of a spec: the model file's keys with every
// default filled in, block included.
#include "Internal.h"

#include <nlohmann/json.hpp>

namespace lathe {

using namespace frontend_detail;

std::string specToJson(const ModelSpec& spec) {
  nlohmann::ordered_json json;
  json["name"] = spec.name;
  json["vocab_size"] = spec.vocab_size;
  json["context_length"] = spec.context_length;
  json["d_model"] = spec.d_model;
  json["layers"] = spec.n_layers;
  json["heads"] = spec.n_heads;
  json["kv_heads"] = spec.n_kv_heads;
  json["d_ff"] = spec.d_ff;
  json["norm"] = normName(spec.norm);
  json["norm_eps"] = spec.norm_eps;
  json["norm_placement"] = placementName(spec.norm_placement);
  json["final_norm"] = spec.final_norm;
  json["positions"] = positionName(spec.positions);
  if (spec.positions == PositionKind::Rope) json["rope_theta"] = spec.rope_theta;
  json["activation"] = activationName(spec.activation);
  json["bias"] = spec.bias;
  json["tied_embeddings"] = spec.tied_embeddings;
  json["dropout"] = spec.dropout;
  nlohmann::ordered_json block = nlohmann::ordered_json::array();
  for (const BlockNode& node : spec.block) block.push_back(formatStatement(node));
  json["block"] = block;
  return json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

ModelSpec specFromJson(const std::string& json, const std::string& filename) {
  // Strict JSON first (the YAML reader below would also take YAML), then the
  // shared reader for key checks with line:col locations.
  try {
    nlohmann::json parsed = nlohmann::json::parse(json);
    if (!parsed.is_object()) throw ModelError({filename}, "expected a JSON object describing the model");
  } catch (const nlohmann::json::parse_error& error) {
    size_t offset = error.byte > 0 ? error.byte - 1 : 0;
    throw ModelError(locateOffset(json, offset, filename), std::string("invalid JSON: ") + error.what());
  }
  return parseModelText(json, filename);
}

}  // namespace lathe
