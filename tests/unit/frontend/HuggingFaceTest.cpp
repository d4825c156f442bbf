// Hugging Face import/export with synthetic GPT-2 and Llama directories,
// Lathe directories, and loadModel's dispatch.
#include "TestUtil.h"

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>

namespace lathe {
namespace {

using test::errorOf;
using test::patternTensor;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t C = 8, F = 12, V = 11, T = 16, L = 2;

void putTensor(Weights& weights, const std::string& name, std::vector<int64_t> shape) {
  weights[name] = patternTensor(name, std::move(shape), static_cast<float>(weights.size()));
}

float at2(const Tensor& tensor, int64_t row, int64_t col) { return tensor.f32()[row * tensor.shape[1] + col]; }

/// A GPT-2 checkpoint in the Hugging Face layout (Conv1D weights are (in, out)).
Weights gpt2Checkpoint(const std::string& prefix, bool with_buffers) {
  Weights w;
  putTensor(w, prefix + "wte.weight", {V, C});
  putTensor(w, prefix + "wpe.weight", {T, C});
  for (int64_t i = 0; i < L; ++i) {
    std::string h = prefix + "h." + std::to_string(i) + ".";
    for (const char* norm : {"ln_1", "ln_2"}) {
      putTensor(w, h + norm + ".weight", {C});
      putTensor(w, h + norm + ".bias", {C});
    }
    putTensor(w, h + "attn.c_attn.weight", {C, 3 * C});
    putTensor(w, h + "attn.c_attn.bias", {3 * C});
    putTensor(w, h + "attn.c_proj.weight", {C, C});
    putTensor(w, h + "attn.c_proj.bias", {C});
    putTensor(w, h + "mlp.c_fc.weight", {C, F});
    putTensor(w, h + "mlp.c_fc.bias", {F});
    putTensor(w, h + "mlp.c_proj.weight", {F, C});
    putTensor(w, h + "mlp.c_proj.bias", {C});
    if (with_buffers) {
      putTensor(w, h + "attn.bias", {1, 1, T, T});
      putTensor(w, h + "attn.masked_bias", {1});
    }
  }
  putTensor(w, prefix + "ln_f.weight", {C});
  putTensor(w, prefix + "ln_f.bias", {C});
  return w;
}

nlohmann::json gpt2Config() {
  return {{"model_type", "gpt2"}, {"n_embd", C},         {"n_layer", L},      {"n_head", 2},
          {"n_positions", T},     {"vocab_size", V},     {"n_inner", F},      {"layer_norm_epsilon", 1e-5},
          {"activation_function", "gelu_new"}};
}

/// A Llama checkpoint with GQA (2 query heads, 1 KV head), untied.
Weights llamaCheckpoint() {
  Weights w;
  putTensor(w, "model.embed_tokens.weight", {V, C});
  for (int64_t i = 0; i < L; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    putTensor(w, p + "input_layernorm.weight", {C});
    putTensor(w, p + "self_attn.q_proj.weight", {C, C});
    putTensor(w, p + "self_attn.k_proj.weight", {C / 2, C});
    putTensor(w, p + "self_attn.v_proj.weight", {C / 2, C});
    putTensor(w, p + "self_attn.o_proj.weight", {C, C});
    putTensor(w, p + "self_attn.rotary_emb.inv_freq", {2});
    putTensor(w, p + "post_attention_layernorm.weight", {C});
    putTensor(w, p + "mlp.gate_proj.weight", {F, C});
    putTensor(w, p + "mlp.up_proj.weight", {F, C});
    putTensor(w, p + "mlp.down_proj.weight", {C, F});
  }
  putTensor(w, "model.norm.weight", {C});
  putTensor(w, "lm_head.weight", {V, C});
  return w;
}

nlohmann::json llamaConfig() {
  return {{"model_type", "llama"},       {"hidden_size", C},       {"intermediate_size", F},
          {"num_hidden_layers", L},      {"num_attention_heads", 2}, {"num_key_value_heads", 1},
          {"rms_norm_eps", 1e-6},        {"rope_theta", 500000.0}, {"vocab_size", V},
          {"max_position_embeddings", T}, {"tie_word_embeddings", false}, {"hidden_act", "silu"}};
}

std::string writeHfDir(const test::TempDir& root, const std::string& name, const nlohmann::json& config,
                       const Weights& weights) {
  std::filesystem::path dir = root.path() / name;
  std::filesystem::create_directories(dir);
  test::writeFile((dir / "config.json").string(), config.dump(2));
  writeSafetensors((dir / "model.safetensors").string(), weights);
  return dir.string();
}

void expectSameWeights(const Weights& a, const Weights& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    ASSERT_EQ(b.count(name), 1u) << name;
    EXPECT_EQ(b.at(name).shape, tensor.shape) << name;
    EXPECT_EQ(b.at(name).data, tensor.data) << name;
  }
}

void checkGpt2Import(const Model& model, const Weights& ckpt, const std::string& p) {
  EXPECT_EQ(model.spec.d_model, C);
  EXPECT_EQ(model.spec.n_layers, L);
  EXPECT_EQ(model.spec.n_heads, 2);
  EXPECT_EQ(model.spec.n_kv_heads, 2);
  EXPECT_EQ(model.spec.d_ff, F);
  EXPECT_EQ(model.spec.activation, Activation::GeluTanh);
  EXPECT_EQ(model.spec.norm, NormKind::LayerNorm);
  EXPECT_EQ(model.spec.positions, PositionKind::Learned);
  EXPECT_TRUE(model.spec.tied_embeddings);
  EXPECT_TRUE(model.spec.bias);
  const Tensor& c_attn = ckpt.at(p + "h.1.attn.c_attn.weight");
  const Tensor& q = model.weights.at("layers.1.attn.q.weight");
  const Tensor& k = model.weights.at("layers.1.attn.k.weight");
  const Tensor& v = model.weights.at("layers.1.attn.v.weight");
  ASSERT_EQ(q.shape, (std::vector<int64_t>{C, C}));
  for (int64_t out = 0; out < C; ++out)
    for (int64_t in = 0; in < C; ++in) {
      ASSERT_EQ(at2(q, out, in), at2(c_attn, in, out));
      ASSERT_EQ(at2(k, out, in), at2(c_attn, in, C + out));
      ASSERT_EQ(at2(v, out, in), at2(c_attn, in, 2 * C + out));
    }
  const Tensor& qkv_bias = ckpt.at(p + "h.1.attn.c_attn.bias");
  EXPECT_EQ(model.weights.at("layers.1.attn.v.bias").f32()[3], qkv_bias.f32()[2 * C + 3]);
  const Tensor& c_fc = ckpt.at(p + "h.0.mlp.c_fc.weight");
  const Tensor& up = model.weights.at("layers.0.mlp.up.weight");
  ASSERT_EQ(up.shape, (std::vector<int64_t>{F, C}));
  for (int64_t out = 0; out < F; ++out)
    for (int64_t in = 0; in < C; ++in) ASSERT_EQ(at2(up, out, in), at2(c_fc, in, out));
  const Tensor& down = model.weights.at("layers.0.mlp.down.weight");
  EXPECT_EQ(at2(down, 5, 9), at2(ckpt.at(p + "h.0.mlp.c_proj.weight"), 9, 5));
  EXPECT_EQ(model.weights.at("embed.positions").data, ckpt.at(p + "wpe.weight").data);
  EXPECT_EQ(model.weights.at("final_norm.bias").data, ckpt.at(p + "ln_f.bias").data);
}

TEST(HuggingFaceImport, Gpt2WithoutPrefix) {
  test::TempDir root;
  Weights ckpt = gpt2Checkpoint("", /*with_buffers=*/true);
  std::string dir = writeHfDir(root, "gpt2-tiny", gpt2Config(), ckpt);
  EXPECT_TRUE(isHuggingFaceDir(dir));
  Model model = importHuggingFace(dir);
  EXPECT_EQ(model.spec.name, "gpt2-tiny");
  checkGpt2Import(model, ckpt, "");
}

TEST(HuggingFaceImport, Gpt2WithTransformerPrefixAndCopiedHead) {
  test::TempDir root;
  Weights ckpt = gpt2Checkpoint("transformer.", /*with_buffers=*/false);
  putTensor(ckpt, "lm_head.weight", {V, C});  // tied heads are sometimes saved too
  std::string dir = writeHfDir(root, "gpt2-prefixed", gpt2Config(), ckpt);
  Model model = loadModel(dir + "/");
  EXPECT_EQ(model.spec.name, "gpt2-prefixed");
  checkGpt2Import(model, ckpt, "transformer.");
  EXPECT_EQ(model.weights.count("lm_head.weight"), 0u);
}

TEST(HuggingFaceImport, ConvertsHalfPrecisionTensors) {
  test::TempDir root;
  Weights ckpt = gpt2Checkpoint("", false);
  Tensor& wte = ckpt.at("wte.weight");
  wte.dtype = DType::BF16;
  wte.data.assign(static_cast<size_t>(V * C) * 2, 0);
  wte.data[1] = 0x3f;  // element 0 = 0x3f00 = 0.5
  wte.data[0] = 0x00;
  std::string dir = writeHfDir(root, "bf16", gpt2Config(), ckpt);
  Model model = importHuggingFace(dir);
  EXPECT_EQ(model.weights.at("embed.tokens").dtype, DType::F32);
  EXPECT_EQ(model.weights.at("embed.tokens").f32()[0], 0.5f);
}

TEST(HuggingFaceImport, Llama) {
  test::TempDir root;
  Weights ckpt = llamaCheckpoint();
  std::string dir = writeHfDir(root, "llama-tiny", llamaConfig(), ckpt);
  Model model = loadModel(dir);
  const ModelSpec& spec = model.spec;
  EXPECT_EQ(spec.norm, NormKind::RMSNorm);
  EXPECT_EQ(spec.positions, PositionKind::Rope);
  EXPECT_EQ(spec.activation, Activation::SwiGLU);
  EXPECT_EQ(spec.n_kv_heads, 1);
  EXPECT_EQ(spec.rope_theta, 500000.0);
  EXPECT_EQ(spec.norm_eps, 1e-6);
  EXPECT_EQ(spec.context_length, T);
  EXPECT_FALSE(spec.bias);
  EXPECT_FALSE(spec.tied_embeddings);
  EXPECT_EQ(model.weights.at("layers.1.attn.k.weight").data, ckpt.at("model.layers.1.self_attn.k_proj.weight").data);
  EXPECT_EQ(model.weights.at("layers.0.mlp.gate.weight").data, ckpt.at("model.layers.0.mlp.gate_proj.weight").data);
  EXPECT_EQ(model.weights.at("layers.0.ln_2.weight").data,
            ckpt.at("model.layers.0.post_attention_layernorm.weight").data);
  EXPECT_EQ(model.weights.at("lm_head.weight").data, ckpt.at("lm_head.weight").data);
  EXPECT_EQ(model.weights.at("final_norm.weight").data, ckpt.at("model.norm.weight").data);
}

TEST(HuggingFaceImport, ShardedCheckpoint) {
  test::TempDir root;
  Weights ckpt = llamaCheckpoint();
  std::filesystem::path dir = root.path() / "sharded";
  std::filesystem::create_directories(dir);
  test::writeFile((dir / "config.json").string(), llamaConfig().dump());
  Weights first, second;
  nlohmann::json index = {{"weight_map", nlohmann::json::object()}};
  for (auto& [name, tensor] : ckpt) {
    bool in_first = name.find("layers.1.") == std::string::npos;
    (in_first ? first : second)[name] = tensor;
    index["weight_map"][name] = in_first ? "model-00001.safetensors" : "model-00002.safetensors";
  }
  writeSafetensors((dir / "model-00001.safetensors").string(), first);
  writeSafetensors((dir / "model-00002.safetensors").string(), second);
  test::writeFile((dir / "model.safetensors.index.json").string(), index.dump());
  Model model = importHuggingFace(dir.string());
  EXPECT_EQ(model.weights.at("layers.1.attn.q.weight").data, ckpt.at("model.layers.1.self_attn.q_proj.weight").data);
}

TEST(HuggingFaceImport, Errors) {
  test::TempDir root;
  auto importError = [&](const std::string& name, const nlohmann::json& config, const Weights& weights) {
    std::string dir = writeHfDir(root, name, config, weights);
    return errorOf([&] { importHuggingFace(dir); });
  };
  Weights gpt2 = gpt2Checkpoint("", false);
  std::string weights_file = (root.path() / "missing" / "model.safetensors").string();

  Weights missing = gpt2;
  missing.erase("h.1.mlp.c_fc.bias");
  EXPECT_EQ(importError("missing", gpt2Config(), missing),
            weights_file + ": error: missing tensor 'h.1.mlp.c_fc.bias' (expected shape [12])");

  Weights wrong_shape = gpt2;
  wrong_shape["h.0.attn.c_attn.weight"] = patternTensor("h.0.attn.c_attn.weight", {3 * C, C}, 0);
  EXPECT_THAT(importError("shape", gpt2Config(), wrong_shape),
              HasSubstr("tensor 'h.0.attn.c_attn.weight' has shape [24, 8], expected [8, 24]"));

  Weights extra = gpt2;
  putTensor(extra, "h.0.attn.extra", {2});
  EXPECT_THAT(importError("extra", gpt2Config(), extra), HasSubstr("unexpected tensor 'h.0.attn.extra' with shape [2]"));

  nlohmann::json bad_type = gpt2Config();
  bad_type["model_type"] = "bert";
  EXPECT_THAT(importError("bert", bad_type, gpt2), HasSubstr("config.json: error: model_type 'bert' is not supported"));

  nlohmann::json bad_heads = gpt2Config();
  bad_heads["n_head"] = 3;
  EXPECT_THAT(importError("heads", bad_heads, gpt2), HasSubstr("config.json: error: heads (3) must divide d_model (8)"));

  nlohmann::json bad_field = gpt2Config();
  bad_field["n_embd"] = "eight";
  EXPECT_THAT(importError("field", bad_field, gpt2), HasSubstr("n_embd must be an integer, got \"eight\""));

  nlohmann::json mixed_bias = llamaConfig();
  mixed_bias["attention_bias"] = true;
  EXPECT_THAT(importError("bias", mixed_bias, llamaCheckpoint()), HasSubstr("attention_bias and mlp_bias differ"));

  nlohmann::json scaled = llamaConfig();
  scaled["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_THAT(importError("scaled", scaled, llamaCheckpoint()), HasSubstr("rope_scaling"));

  std::filesystem::path no_weights = root.path() / "no_weights";
  std::filesystem::create_directories(no_weights);
  test::writeFile((no_weights / "config.json").string(), gpt2Config().dump());
  EXPECT_THAT(errorOf([&] { importHuggingFace(no_weights.string()); }), HasSubstr("no model.safetensors"));
  test::writeFile((no_weights / "config.json").string(), "{\"model_type\": \n");
  EXPECT_THAT(errorOf([&] { importHuggingFace(no_weights.string()); }),
              StartsWith((no_weights / "config.json").string() + ":2:1: error: invalid JSON"));
}

Model initModel(const std::string& yaml, uint64_t seed) {
  Model model;
  model.spec = parseModelText(yaml, "m.yaml");
  model.weights = initWeights(model.spec, seed);
  return model;
}

const std::string kSmallGpt2 =
    "vocab_size: 11\ncontext_length: 16\nd_model: 8\nlayers: 2\nheads: 2\nd_ff: 12\nnorm: layernorm\n"
    "positions: learned\nactivation: relu\nbias: true\n";
const std::string kSmallLlama =
    "vocab_size: 11\ncontext_length: 16\nd_model: 8\nlayers: 2\nheads: 2\nkv_heads: 1\nd_ff: 12\nnorm: rmsnorm\n"
    "positions: rope\nrope_theta: 1000\nactivation: swiglu\nnorm_eps: 1e-6\n";

TEST(HuggingFaceExport, RoundTripsGpt2AndLlama) {
  for (const std::string& yaml : {kSmallGpt2 + "tied_embeddings: true\n", kSmallGpt2 + "tied_embeddings: false\n",
                                  kSmallLlama + "bias: false\ntied_embeddings: false\n",
                                  kSmallLlama + "bias: true\ntied_embeddings: true\n"}) {
    SCOPED_TRACE(yaml);
    test::TempDir root;
    Model model = initModel(yaml, 5);
    std::string dir = (root.path() / "out").string();
    exportModel(model, dir, "hf");
    EXPECT_TRUE(isHuggingFaceDir(dir));
    Model back = importHuggingFace(dir);
    EXPECT_EQ(specToJson(back.spec).substr(specToJson(back.spec).find("vocab_size")),
              specToJson(model.spec).substr(specToJson(model.spec).find("vocab_size")));
    expectSameWeights(model.weights, back.weights);
  }
}

TEST(HuggingFaceExport, AcceptsARenamedPreNormBlock) {
  test::TempDir root;
  Model model = initModel(kSmallLlama + "bias: false\ntied_embeddings: true\nblock:\n  - a = norm(x)\n"
                                        "  - b = attention(a)\n  - c = add(b, x)\n  - d = norm(c)\n  - e = mlp(d)\n"
                                        "  - f = add(e, c)\n",
                          4);
  std::string dir = (root.path() / "renamed").string();
  exportModel(model, dir, "hf");
  Model back = importHuggingFace(dir);
  EXPECT_EQ(back.weights.at("layers.1.attn.q.weight").data, model.weights.at("layers.1.b.q.weight").data);
  EXPECT_EQ(back.weights.at("layers.0.ln_2.weight").data, model.weights.at("layers.0.d.weight").data);
  EXPECT_EQ(back.weights.at("layers.0.mlp.gate.weight").data, model.weights.at("layers.0.e.gate.weight").data);
}

TEST(HuggingFaceExport, WritesGpt2LayoutAndConfig) {
  test::TempDir root;
  Model model = initModel(kSmallGpt2 + "tied_embeddings: true\n", 3);
  std::string dir = (root.path() / "gpt2").string();
  exportModel(model, dir, "hf");
  nlohmann::json config = nlohmann::json::parse(test::readFile(dir + "/config.json"));
  EXPECT_EQ(config["model_type"], "gpt2");
  EXPECT_EQ(config["architectures"][0], "GPT2LMHeadModel");
  EXPECT_EQ(config["n_embd"], C);
  EXPECT_EQ(config["n_inner"], F);
  EXPECT_EQ(config["activation_function"], "relu");
  EXPECT_EQ(config["tie_word_embeddings"], true);
  Weights hf = readSafetensors(dir + "/model.safetensors");
  EXPECT_EQ(hf.count("transformer.wte.weight"), 0u);
  EXPECT_EQ(hf.count("lm_head.weight"), 0u);
  const Tensor& c_attn = hf.at("h.1.attn.c_attn.weight");
  ASSERT_EQ(c_attn.shape, (std::vector<int64_t>{C, 3 * C}));
  const Tensor& k = model.weights.at("layers.1.attn.k.weight");
  for (int64_t out = 0; out < C; ++out)
    for (int64_t in = 0; in < C; ++in) ASSERT_EQ(at2(c_attn, in, C + out), at2(k, out, in));
}

TEST(HuggingFaceExport, RefusesWhatNeitherGpt2NorLlamaExpresses) {
  test::TempDir root;
  Model parallel = initModel(test::readFile(test::examplePath("parallel_block.yaml")), 1);
  parallel.spec.vocab_size = 11;
  parallel.weights = initWeights(parallel.spec, 1);
  std::string error = errorOf([&] { exportModel(parallel, (root.path() / "p").string(), "hf"); });
  EXPECT_THAT(error, HasSubstr("cannot be written as a Hugging Face model"));
  EXPECT_THAT(error, HasSubstr("the block is not the standard pre-norm block"));
  EXPECT_THAT(error, HasSubstr("Use --format lathe"));

  Model post = initModel(kSmallGpt2 + "tied_embeddings: true\nnorm_placement: post\n", 1);
  EXPECT_THAT(errorOf([&] { exportModel(post, (root.path() / "post").string(), "hf"); }),
              HasSubstr("final_norm is false"));
  Model sinusoidal = initModel(kSmallGpt2.substr(0, kSmallGpt2.find("positions")) +
                                   "positions: sinusoidal\nactivation: relu\nbias: true\ntied_embeddings: true\n",
                               1);
  EXPECT_THAT(errorOf([&] { exportModel(sinusoidal, (root.path() / "s").string(), "hf"); }),
              HasSubstr("positions are sinusoidal, GPT-2 uses learned"));
  Model rms_learned = initModel(kSmallLlama.substr(0, kSmallLlama.find("positions")) +
                                    "positions: learned\nactivation: swiglu\nbias: false\ntied_embeddings: true\n",
                                1);
  EXPECT_THAT(errorOf([&] { exportModel(rms_learned, (root.path() / "r").string(), "hf"); }),
              HasSubstr("positions are learned, Llama uses rope"));
  EXPECT_THAT(errorOf([&] { exportModel(post, (root.path() / "x").string(), "onnx"); }),
              HasSubstr("unknown export format 'onnx'"));
}

TEST(LatheDirectory, RoundTripsAnyModel) {
  test::TempDir root;
  Model model = initModel(test::readFile(test::examplePath("parallel_block.yaml")), 8);
  std::string dir = (root.path() / "lathe").string();
  exportModel(model, dir, "lathe");
  EXPECT_FALSE(isHuggingFaceDir(dir));
  Model back = loadModel(dir);
  EXPECT_EQ(specToJson(back.spec), specToJson(model.spec));
  expectSameWeights(model.weights, back.weights);
}

TEST(LatheDirectory, ChecksNamesAndShapes) {
  test::TempDir root;
  Model model = initModel(kSmallGpt2 + "tied_embeddings: true\n", 2);
  std::string dir = (root.path() / "lathe").string();
  exportModel(model, dir, "lathe");
  std::string weights_file = dir + "/model.safetensors";

  Weights wrong = model.weights;
  wrong["layers.0.attn.q.weight"] = patternTensor("layers.0.attn.q.weight", {C, C + 1}, 0);
  writeSafetensors(weights_file, wrong);
  EXPECT_EQ(errorOf([&] { loadModel(dir); }),
            weights_file + ": error: tensor 'layers.0.attn.q.weight' has shape [8, 9], expected [8, 8]");

  Weights extra = model.weights;
  extra["layers.9.attn.q.weight"] = patternTensor("layers.9.attn.q.weight", {1}, 0);
  writeSafetensors(weights_file, extra);
  EXPECT_THAT(errorOf([&] { loadModel(dir); }), HasSubstr("unexpected tensor 'layers.9.attn.q.weight'"));

  Weights missing = model.weights;
  missing.erase("final_norm.bias");
  writeSafetensors(weights_file, missing);
  EXPECT_THAT(errorOf([&] { loadModel(dir); }), HasSubstr("missing tensor 'final_norm.bias' (expected shape [8])"));

  Model incomplete = model;
  incomplete.weights.erase("embed.tokens");
  EXPECT_THAT(errorOf([&] { exportModel(incomplete, dir, "lathe"); }), HasSubstr("missing tensor 'embed.tokens'"));
}

TEST(LoadModel, DispatchesOnThePath) {
  test::TempDir root;
  std::string yaml = root.file("tiny.yaml");
  test::writeFile(yaml, kSmallGpt2 + "tied_embeddings: true\n");
  Model from_file = loadModel(yaml, 77);
  EXPECT_EQ(from_file.spec.name, "tiny");
  expectSameWeights(from_file.weights, initWeights(from_file.spec, 77));

  std::filesystem::create_directories(root.path() / "empty");
  EXPECT_THAT(errorOf([&] { loadModel((root.path() / "empty").string()); }),
              HasSubstr("neither model.json (a Lathe model directory) nor config.json"));
  EXPECT_EQ(errorOf([&] { loadModel(root.file("absent")); }), root.file("absent") + ": error: no such file or directory");
  test::writeFile(root.file("bad.yaml"), "heads: [\n");
  EXPECT_THAT(errorOf([&] { loadModel(root.file("bad.yaml")); }), StartsWith(root.file("bad.yaml") + ":"));
}

}  // namespace
}  // namespace lathe
