// Hugging Face directories: config.json + safetensors with GPT-2 or Llama
// tensor names, converted to and from Lathe's canonical names and layouts.
#include "Internal.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <limits>
#include <map>
#include <set>

namespace lathe {

using namespace frontend_detail;
namespace fs = std::filesystem;

namespace {

// --- config.json ---------------------------------------------------------------

class ConfigReader {
public:
  ConfigReader(const nlohmann::json& config, const std::string& path) : config_(config), file_{path} {}

  const SourceLoc& file() const { return file_; }
  bool has(const std::string& key) const { return config_.contains(key) && !config_[key].is_null(); }

  int64_t integer(const std::string& key) const {
    if (!has(key)) throw ModelError(file_, "missing '" + key + "'");
    const auto& value = config_[key];
    if (!value.is_number_integer()) throw ModelError(file_, key + " must be an integer, got " + value.dump());
    return value.get<int64_t>();
  }
  int64_t integer(const std::string& key, int64_t fallback) const { return has(key) ? integer(key) : fallback; }

  double real(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const auto& value = config_[key];
    if (!value.is_number()) throw ModelError(file_, key + " must be a number, got " + value.dump());
    return value.get<double>();
  }

  bool flag(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const auto& value = config_[key];
    if (!value.is_boolean()) throw ModelError(file_, key + " must be true or false, got " + value.dump());
    return value.get<bool>();
  }

  std::string text(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const auto& value = config_[key];
    if (!value.is_string()) throw ModelError(file_, key + " must be a string, got " + value.dump());
    return value.get<std::string>();
  }

  void unsupported(const std::string& key, const std::string& why) const {
    throw ModelError(file_, key + " = " + config_[key].dump() + " is not supported: " + why);
  }

private:
  const nlohmann::json& config_;
  SourceLoc file_;
};

Activation gpt2Activation(const ConfigReader& config) {
  std::string name = config.text("activation_function", "gelu_new");
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::GeluTanh;
  if (name == "gelu") return Activation::Gelu;
  if (name == "relu") return Activation::Relu;
  if (name == "silu" || name == "swish") return Activation::Silu;
  throw ModelError(config.file(), "activation_function '" + name +
                                      "' is not supported (gelu_new, gelu_pytorch_tanh, gelu, relu, silu are)");
}

ModelSpec gpt2Spec(const ConfigReader& config) {
  if (config.flag("scale_attn_by_inverse_layer_idx", false))
    config.unsupported("scale_attn_by_inverse_layer_idx", "Lathe scales attention by 1/sqrt(head_dim) only");
  if (!config.flag("scale_attn_weights", true))
    config.unsupported("scale_attn_weights", "Lathe always scales attention by 1/sqrt(head_dim)");
  ModelSpec spec;
  spec.vocab_size = config.integer("vocab_size");
  spec.context_length = config.has("n_positions") ? config.integer("n_positions") : config.integer("n_ctx");
  spec.d_model = config.integer("n_embd");
  spec.n_layers = config.integer("n_layer");
  spec.n_heads = config.integer("n_head");
  spec.n_kv_heads = spec.n_heads;
  const bool d_model_fits = spec.d_model <= std::numeric_limits<int64_t>::max() / 4;
  spec.d_ff = config.has("n_inner") ? config.integer("n_inner") : (d_model_fits ? 4 * spec.d_model : 0);
  spec.norm = NormKind::LayerNorm;
  spec.norm_eps = config.real("layer_norm_epsilon", 1e-5);
  spec.positions = PositionKind::Learned;
  spec.activation = gpt2Activation(config);
  spec.bias = true;
  spec.tied_embeddings = config.flag("tie_word_embeddings", true);
  return spec;
}

ModelSpec llamaSpec(const ConfigReader& config) {
  if (config.has("rope_scaling")) config.unsupported("rope_scaling", "Lathe implements plain RoPE");
  std::string act = config.text("hidden_act", "silu");
  if (act != "silu") config.unsupported("hidden_act", "Llama models must use silu (SwiGLU)");
  ModelSpec spec;
  spec.vocab_size = config.integer("vocab_size");
  spec.context_length = config.integer("max_position_embeddings", 2048);
  spec.d_model = config.integer("hidden_size");
  spec.n_layers = config.integer("num_hidden_layers");
  spec.n_heads = config.integer("num_attention_heads");
  spec.n_kv_heads = config.integer("num_key_value_heads", spec.n_heads);
  spec.d_ff = config.integer("intermediate_size");
  if (config.has("head_dim") && spec.n_heads > 0 && config.integer("head_dim") != spec.d_model / spec.n_heads)
    config.unsupported("head_dim", "Lathe needs head_dim = hidden_size / num_attention_heads");
  spec.norm = NormKind::RMSNorm;
  spec.norm_eps = config.real("rms_norm_eps", 1e-6);
  spec.positions = PositionKind::Rope;
  spec.rope_theta = config.real("rope_theta", 10000.0);
  spec.activation = Activation::SwiGLU;
  bool attention_bias = config.flag("attention_bias", false);
  bool mlp_bias = config.flag("mlp_bias", false);
  if (attention_bias != mlp_bias)
    throw ModelError(config.file(), "attention_bias and mlp_bias differ; Lathe has one bias setting for both");
  spec.bias = attention_bias;
  spec.tied_embeddings = config.flag("tie_word_embeddings", false);
  return spec;
}

nlohmann::json readJsonFile(const std::string& path) {
  std::string text = readTextFile(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    throw ModelError(locateOffset(text, error.byte > 0 ? error.byte - 1 : 0, path),
                     std::string("invalid JSON: ") + error.what());
  }
}

std::string modelNameOf(const std::string& dir) {
  fs::path path = fs::path(dir).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  std::string name = path.filename().string();
  if (name.empty() || name == "." || name == "..") return "model";
  for (char& c : name)
    if (c < 0x20 || c > 0x7e) c = '_';  // spec names are printable ASCII
  return name;
}

// --- Checkpoint files ---------------------------------------------------------

/// model.safetensors, or the shards a model.safetensors.index.json lists.
Weights readCheckpoint(const fs::path& dir) {
  if (fs::exists(dir / "model.safetensors")) return readSafetensors((dir / "model.safetensors").string());
  const fs::path index_path = dir / "model.safetensors.index.json";
  if (fs::exists(index_path)) {
    nlohmann::json index = readJsonFile(index_path.string());
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      throw ModelError({index_path.string()}, "expected an object with a 'weight_map'");
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
      if (!shard.is_string() || fs::path(shard.get<std::string>()).has_parent_path())
        throw ModelError({index_path.string()}, "weight_map['" + tensor + "'] must be a file name in the directory");
      shards.insert(shard.get<std::string>());
    }
    Weights merged;
    for (const std::string& shard : shards) {
      const std::string shard_path = (dir / shard).string();
      for (auto& [name, tensor] : readSafetensors(shard_path))
        if (!merged.emplace(name, std::move(tensor)).second)
          throw ModelError({shard_path}, "tensor '" + name + "' also appears in another shard");
    }
    return merged;
  }
  if (fs::exists(dir / "pytorch_model.bin"))
    throw ModelError({dir.string()}, "only safetensors checkpoints are supported; convert pytorch_model.bin to "
                                     "model.safetensors (e.g. save_pretrained(..., safe_serialization=True))");
  throw ModelError({dir.string()}, "no model.safetensors (or model.safetensors.index.json) in the directory");
}

// --- Layout helpers -----------------------------------------------------------

Tensor newF32(const std::string& name, std::vector<int64_t> shape) {
  Tensor tensor;
  tensor.name = name;
  tensor.shape = std::move(shape);
  tensor.data.assign(static_cast<size_t>(tensor.numel()) * sizeof(float), 0);
  return tensor;
}

/// Columns [begin, begin + count) of a Conv1D weight (in, total), as a Linear weight (count, in).
Tensor linearFromConv1D(const Tensor& conv, int64_t begin, int64_t count, const std::string& name) {
  const int64_t rows = conv.shape[0], total = conv.shape[1];
  Tensor out = newF32(name, {count, rows});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < count; ++j) out.f32()[j * rows + r] = conv.f32()[r * total + begin + j];
  return out;
}

/// Writes a Linear weight (count, in) into columns [begin, begin + count) of a Conv1D weight (in, total).
void placeLinearInConv1D(const Tensor& linear, int64_t begin, Tensor& conv) {
  const int64_t count = linear.shape[0], rows = linear.shape[1], total = conv.shape[1];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < count; ++j) conv.f32()[r * total + begin + j] = linear.f32()[j * rows + r];
}

Tensor slice1D(const Tensor& tensor, int64_t begin, int64_t count, const std::string& name) {
  Tensor out = newF32(name, {count});
  std::copy(tensor.f32() + begin, tensor.f32() + begin + count, out.f32());
  return out;
}

Tensor renamed(Tensor tensor, const std::string& name) {
  tensor.name = name;
  return tensor;
}

/// Pulls tensors out of a checkpoint by their Hugging Face names, checking shapes.
class CheckpointTaker {
public:
  CheckpointTaker(Weights weights, const std::string& file) : weights_(std::move(weights)), file_{file} {}

  Tensor take(const std::string& name, const std::vector<int64_t>& shape) {
    auto it = weights_.find(name);
    if (it == weights_.end())
      throw ModelError(file_, "missing tensor '" + name + "' (expected shape " + formatShape(shape) + ")");
    if (it->second.shape != shape)
      throw ModelError(file_, "tensor '" + name + "' has shape " + formatShape(it->second.shape) + ", expected " +
                                  formatShape(shape));
    if (it->second.dtype == DType::I32)
      throw ModelError(file_, "tensor '" + name + "' is I32; weights must be F32, F16 or BF16");
    Tensor tensor = toF32(it->second);
    weights_.erase(it);
    return tensor;
  }

  bool has(const std::string& name) const { return weights_.count(name) != 0; }
  void drop(const std::string& name) { weights_.erase(name); }

  /// Everything left must be a buffer the checkpoint may carry (`ignorable`).
  template <typename Predicate>
  void finish(Predicate ignorable) const {
    for (const auto& [name, tensor] : weights_)
      if (!ignorable(name))
        throw ModelError(file_, "unexpected tensor '" + name + "' with shape " + formatShape(tensor.shape));
  }

private:
  Weights weights_;
  SourceLoc file_;
};

bool endsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string layerPrefix(int64_t layer) { return "layers." + std::to_string(layer) + "."; }

// --- GPT-2 --------------------------------------------------------------------

Weights importGpt2Weights(const ModelSpec& spec, CheckpointTaker& ckpt, bool prefixed) {
  const std::string p = prefixed ? "transformer." : "";
  const int64_t C = spec.d_model, F = spec.d_ff;
  Weights out;
  auto put = [&out](Tensor tensor) { out.emplace(tensor.name, std::move(tensor)); };
  put(renamed(ckpt.take(p + "wte.weight", {spec.vocab_size, C}), "embed.tokens"));
  put(renamed(ckpt.take(p + "wpe.weight", {spec.context_length, C}), "embed.positions"));
  for (int64_t i = 0; i < spec.n_layers; ++i) {
    const std::string hf = p + "h." + std::to_string(i) + ".";
    const std::string lathe = layerPrefix(i);
    for (const char* norm : {"ln_1", "ln_2"})
      for (const char* part : {".weight", ".bias"})
        put(renamed(ckpt.take(hf + norm + part, {C}), lathe + norm + part));
    Tensor qkv = ckpt.take(hf + "attn.c_attn.weight", {C, 3 * C});
    Tensor qkv_bias = ckpt.take(hf + "attn.c_attn.bias", {3 * C});
    const char* projections[] = {"q", "k", "v"};
    for (int64_t part = 0; part < 3; ++part) {
      const std::string name = lathe + "attn." + projections[part];
      put(linearFromConv1D(qkv, part * C, C, name + ".weight"));
      put(slice1D(qkv_bias, part * C, C, name + ".bias"));
    }
    put(linearFromConv1D(ckpt.take(hf + "attn.c_proj.weight", {C, C}), 0, C, lathe + "attn.o.weight"));
    put(renamed(ckpt.take(hf + "attn.c_proj.bias", {C}), lathe + "attn.o.bias"));
    put(linearFromConv1D(ckpt.take(hf + "mlp.c_fc.weight", {C, F}), 0, F, lathe + "mlp.up.weight"));
    put(renamed(ckpt.take(hf + "mlp.c_fc.bias", {F}), lathe + "mlp.up.bias"));
    put(linearFromConv1D(ckpt.take(hf + "mlp.c_proj.weight", {F, C}), 0, C, lathe + "mlp.down.weight"));
    put(renamed(ckpt.take(hf + "mlp.c_proj.bias", {C}), lathe + "mlp.down.bias"));
  }
  put(renamed(ckpt.take(p + "ln_f.weight", {C}), "final_norm.weight"));
  put(renamed(ckpt.take(p + "ln_f.bias", {C}), "final_norm.bias"));
  if (!spec.tied_embeddings)
    put(ckpt.take("lm_head.weight", {spec.vocab_size, C}));
  else
    ckpt.drop("lm_head.weight");  // a tied head may be saved as a copy of wte
  // Causal-mask buffers that older transformers versions save.
  ckpt.finish([](const std::string& name) { return endsWith(name, ".attn.bias") || endsWith(name, ".attn.masked_bias"); });
  return out;
}

/// Names of a GPT-2 checkpoint. A tied model is written like the hub's gpt2
/// (no "transformer." prefix); an untied one needs the prefix, or transformers
/// would re-prefix lm_head.weight while loading.
Weights exportGpt2Weights(const Model& model, const PreBlockNames& names) {
  const ModelSpec& spec = model.spec;
  const Weights& w = model.weights;
  const std::string p = spec.tied_embeddings ? "" : "transformer.";
  const int64_t C = spec.d_model;
  Weights out;
  auto put = [&out](Tensor tensor) { out.emplace(tensor.name, std::move(tensor)); };
  auto transposed = [](const Tensor& linear, const std::string& name) {
    Tensor conv = newF32(name, {linear.shape[1], linear.shape[0]});
    placeLinearInConv1D(linear, 0, conv);
    return conv;
  };
  put(renamed(w.at("embed.tokens"), p + "wte.weight"));
  put(renamed(w.at("embed.positions"), p + "wpe.weight"));
  for (int64_t i = 0; i < spec.n_layers; ++i) {
    const std::string hf = p + "h." + std::to_string(i) + ".";
    const std::string lathe = layerPrefix(i);
    for (const auto& [hf_norm, node] : {std::pair{"ln_1", names.norm_1}, std::pair{"ln_2", names.norm_2}})
      for (const char* part : {".weight", ".bias"}) put(renamed(w.at(lathe + node + part), hf + hf_norm + part));
    const std::string attn = lathe + names.attention + ".";
    Tensor qkv = newF32(hf + "attn.c_attn.weight", {C, 3 * C});
    Tensor qkv_bias = newF32(hf + "attn.c_attn.bias", {3 * C});
    const char* projections[] = {"q", "k", "v"};
    for (int64_t part = 0; part < 3; ++part) {
      placeLinearInConv1D(w.at(attn + projections[part] + ".weight"), part * C, qkv);
      const Tensor& bias = w.at(attn + projections[part] + ".bias");
      std::copy(bias.f32(), bias.f32() + C, qkv_bias.f32() + part * C);
    }
    put(std::move(qkv));
    put(std::move(qkv_bias));
    put(transposed(w.at(attn + "o.weight"), hf + "attn.c_proj.weight"));
    put(renamed(w.at(attn + "o.bias"), hf + "attn.c_proj.bias"));
    const std::string mlp = lathe + names.mlp + ".";
    put(transposed(w.at(mlp + "up.weight"), hf + "mlp.c_fc.weight"));
    put(renamed(w.at(mlp + "up.bias"), hf + "mlp.c_fc.bias"));
    put(transposed(w.at(mlp + "down.weight"), hf + "mlp.c_proj.weight"));
    put(renamed(w.at(mlp + "down.bias"), hf + "mlp.c_proj.bias"));
  }
  put(renamed(w.at("final_norm.weight"), p + "ln_f.weight"));
  put(renamed(w.at("final_norm.bias"), p + "ln_f.bias"));
  if (!spec.tied_embeddings) put(renamed(w.at("lm_head.weight"), "lm_head.weight"));
  return out;
}

const char* gpt2ActivationName(Activation activation) {
  switch (activation) {
    case Activation::GeluTanh:
      return "gelu_new";
    case Activation::Gelu:
      return "gelu";
    case Activation::Relu:
      return "relu";
    case Activation::Silu:
      return "silu";
    case Activation::SwiGLU:
      break;
  }
  return nullptr;
}

nlohmann::ordered_json gpt2Config(const ModelSpec& spec) {
  nlohmann::ordered_json config;
  config["architectures"] = {"GPT2LMHeadModel"};
  config["model_type"] = "gpt2";
  config["vocab_size"] = spec.vocab_size;
  config["n_positions"] = spec.context_length;
  config["n_ctx"] = spec.context_length;
  config["n_embd"] = spec.d_model;
  config["n_layer"] = spec.n_layers;
  config["n_head"] = spec.n_heads;
  config["n_inner"] = spec.d_ff;
  config["activation_function"] = gpt2ActivationName(spec.activation);
  config["layer_norm_epsilon"] = spec.norm_eps;
  config["tie_word_embeddings"] = spec.tied_embeddings;
  config["torch_dtype"] = "float32";
  return config;
}

std::vector<std::string> gpt2Mismatches(const ModelSpec& spec) {
  std::vector<std::string> why;
  if (spec.norm != NormKind::LayerNorm) why.push_back("norm is rmsnorm, GPT-2 uses layernorm");
  if (spec.positions != PositionKind::Learned)
    why.push_back(std::string("positions are ") + positionName(spec.positions) + ", GPT-2 uses learned");
  if (spec.activation == Activation::SwiGLU) why.push_back("activation is swiglu, GPT-2 has no gated MLP");
  if (!spec.bias) why.push_back("bias is false, GPT-2 always has biases");
  if (spec.n_kv_heads != spec.n_heads) why.push_back("kv_heads differs from heads, GPT-2 has no GQA/MQA");
  return why;
}

// --- Llama --------------------------------------------------------------------

/// (canonical, Hugging Face) name pairs: Llama is a pure renaming.
std::vector<std::pair<std::string, std::string>> llamaNames(const ModelSpec& spec, const PreBlockNames& names) {
  std::vector<std::pair<std::string, std::string>> pairs = {{"embed.tokens", "model.embed_tokens.weight"}};
  const char* biases[] = {".weight", ".bias"};
  const size_t parts = spec.bias ? 2 : 1;
  for (int64_t i = 0; i < spec.n_layers; ++i) {
    const std::string hf = "model.layers." + std::to_string(i) + ".";
    const std::string lathe = layerPrefix(i);
    pairs.push_back({lathe + names.norm_1 + ".weight", hf + "input_layernorm.weight"});
    pairs.push_back({lathe + names.norm_2 + ".weight", hf + "post_attention_layernorm.weight"});
    for (const char* proj : {"q", "k", "v", "o"})
      for (size_t b = 0; b < parts; ++b)
        pairs.push_back({lathe + names.attention + "." + proj + biases[b], hf + "self_attn." + proj + "_proj" + biases[b]});
    for (const char* proj : {"gate", "up", "down"})
      for (size_t b = 0; b < parts; ++b)
        pairs.push_back({lathe + names.mlp + "." + proj + biases[b], hf + "mlp." + proj + "_proj" + biases[b]});
  }
  pairs.push_back({"final_norm.weight", "model.norm.weight"});
  if (!spec.tied_embeddings) pairs.push_back({"lm_head.weight", "lm_head.weight"});
  return pairs;
}

Weights importLlamaWeights(const ModelSpec& spec, CheckpointTaker& ckpt) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (auto& [name, shape] : expectedWeights(spec)) shapes[name] = shape;
  Weights out;
  for (const auto& [lathe, hf] : llamaNames(spec, PreBlockNames{"ln_1", "attn", "ln_2", "mlp"}))
    out.emplace(lathe, renamed(ckpt.take(hf, shapes.at(lathe)), lathe));
  if (spec.tied_embeddings) ckpt.drop("lm_head.weight");
  ckpt.finish([](const std::string& name) { return endsWith(name, ".self_attn.rotary_emb.inv_freq"); });
  return out;
}

Weights exportLlamaWeights(const Model& model, const PreBlockNames& names) {
  Weights out;
  for (const auto& [lathe, hf] : llamaNames(model.spec, names)) out.emplace(hf, renamed(model.weights.at(lathe), hf));
  return out;
}

nlohmann::ordered_json llamaConfig(const ModelSpec& spec) {
  nlohmann::ordered_json config;
  config["architectures"] = {"LlamaForCausalLM"};
  config["model_type"] = "llama";
  config["vocab_size"] = spec.vocab_size;
  config["max_position_embeddings"] = spec.context_length;
  config["hidden_size"] = spec.d_model;
  config["intermediate_size"] = spec.d_ff;
  config["num_hidden_layers"] = spec.n_layers;
  config["num_attention_heads"] = spec.n_heads;
  config["num_key_value_heads"] = spec.n_kv_heads;
  config["hidden_act"] = "silu";
  config["rms_norm_eps"] = spec.norm_eps;
  config["rope_theta"] = spec.rope_theta;
  config["rope_scaling"] = nullptr;
  config["attention_bias"] = spec.bias;
  config["mlp_bias"] = spec.bias;
  config["tie_word_embeddings"] = spec.tied_embeddings;
  config["torch_dtype"] = "float32";
  return config;
}

std::vector<std::string> llamaMismatches(const ModelSpec& spec) {
  std::vector<std::string> why;
  if (spec.norm != NormKind::RMSNorm) why.push_back("norm is layernorm, Llama uses rmsnorm");
  if (spec.positions != PositionKind::Rope)
    why.push_back(std::string("positions are ") + positionName(spec.positions) + ", Llama uses rope");
  if (spec.activation != Activation::SwiGLU)
    why.push_back(std::string("activation is ") + activationName(spec.activation) + ", Llama uses swiglu");
  return why;
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) text += (i ? "; " : "") + items[i];
  return text;
}

}  // namespace

bool isHuggingFaceDir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "config.json", ec);
}

Model importHuggingFace(const std::string& dir) {
  const fs::path root(dir);
  const std::string config_path = (root / "config.json").string();
  nlohmann::json json = readJsonFile(config_path);
  if (!json.is_object()) throw ModelError({config_path}, "expected a JSON object");
  ConfigReader config(json, config_path);
  const std::string model_type = config.text("model_type", "");
  Model model;
  if (model_type == "gpt2")
    model.spec = gpt2Spec(config);
  else if (model_type == "llama")
    model.spec = llamaSpec(config);
  else
    throw ModelError({config_path}, "model_type '" + model_type + "' is not supported (gpt2 and llama are)");
  model.spec.name = modelNameOf(dir);
  model.spec.final_norm = true;
  model.spec.block = defaultBlock(NormPlacement::Pre);
  for (BlockNode& node : model.spec.block) node.loc = SourceLoc{config_path};
  validateSpecAt(model.spec, [&](const std::string&) { return SourceLoc{config_path}; });

  Weights raw = readCheckpoint(root);
  const std::string weights_file = (root / "model.safetensors").string();
  const bool prefixed = raw.count("transformer.wte.weight") != 0;
  CheckpointTaker ckpt(std::move(raw), weights_file);
  model.weights = model_type == "gpt2" ? importGpt2Weights(model.spec, ckpt, prefixed) : importLlamaWeights(model.spec, ckpt);
  checkWeights(model.spec, model.weights, {weights_file});
  return model;
}

namespace frontend_detail {

void exportHuggingFace(const Model& model, const std::string& dir) {
  const ModelSpec& spec = model.spec;
  std::vector<std::string> not_gpt2 = gpt2Mismatches(spec), not_llama = llamaMismatches(spec);
  std::optional<PreBlockNames> names = matchPreBlock(spec.block);
  if (!names) {
    const char* why = "the block is not the standard pre-norm block (norm, attention, add, norm, mlp, add)";
    not_gpt2.push_back(why);
    not_llama.push_back(why);
  }
  if (!spec.final_norm) {
    not_gpt2.push_back("final_norm is false");
    not_llama.push_back("final_norm is false");
  }
  nlohmann::ordered_json config;
  Weights weights;
  if (not_gpt2.empty()) {
    config = gpt2Config(spec);
    weights = exportGpt2Weights(model, *names);
  } else if (not_llama.empty()) {
    config = llamaConfig(spec);
    weights = exportLlamaWeights(model, *names);
  } else {
    throw ModelError({dir}, "model '" + spec.name + "' cannot be written as a Hugging Face model: as GPT-2, " +
                                joined(not_gpt2) + "; as Llama, " + joined(not_llama) +
                                ". Use --format lathe to export it in Lathe's own format");
  }
  writeSafetensors((fs::path(dir) / "model.safetensors").string(), weights);
  writeFileAtomic((fs::path(dir) / "config.json").string(), config.dump(2) + "\n");
}

}  // namespace frontend_detail
}  // namespace lathe
