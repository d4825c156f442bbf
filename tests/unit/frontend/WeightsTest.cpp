// Canonical weight names/shapes and seeded initialization.
#include "TestUtil.h"

#include <gmock/gmock.h>

#include <cmath>
#include <map>

namespace lathe {
namespace {

using Shape = std::vector<int64_t>;

std::map<std::string, Shape> expectedMap(const ModelSpec& spec) {
  std::map<std::string, Shape> out;
  for (const auto& [name, shape] : expectedWeights(spec)) out[name] = shape;
  return out;
}

int64_t parameterCount(const ModelSpec& spec) {
  int64_t total = 0;
  for (const auto& [name, shape] : expectedWeights(spec)) {
    int64_t count = 1;
    for (int64_t dim : shape) count *= dim;
    total += count;
  }
  return total;
}

uint64_t checksum(const Weights& weights) {
  uint64_t hash = 1469598103934665603ull;
  auto mix = [&hash](const void* data, size_t size) {
    for (size_t i = 0; i < size; ++i) hash = (hash ^ static_cast<const uint8_t*>(data)[i]) * 1099511628211ull;
  };
  for (const auto& [name, tensor] : weights) {
    mix(name.data(), name.size());
    mix(tensor.data.data(), tensor.data.size());
  }
  return hash;
}

void meanAndStd(const Tensor& tensor, double& mean, double& stddev) {
  double sum = 0, sum_sq = 0;
  for (int64_t i = 0; i < tensor.numel(); ++i) {
    sum += tensor.f32()[i];
    sum_sq += static_cast<double>(tensor.f32()[i]) * tensor.f32()[i];
  }
  mean = sum / static_cast<double>(tensor.numel());
  stddev = std::sqrt(sum_sq / static_cast<double>(tensor.numel()) - mean * mean);
}

TEST(ExpectedWeights, Gpt2SmallHasTheKnownParameterCount) {
  ModelSpec spec = parseModelFile(test::examplePath("gpt2.yaml"));
  auto weights = expectedWeights(spec);
  EXPECT_EQ(weights.size(), 2u + 12u * 16u + 2u);
  EXPECT_EQ(parameterCount(spec), 124439808);  // GPT-2 small with tied embeddings
  EXPECT_EQ(weights.front().first, "embed.tokens");
  EXPECT_EQ(weights[1].first, "embed.positions");
  EXPECT_EQ(weights[2].first, "layers.0.ln_1.weight");
  EXPECT_EQ(weights.back().first, "final_norm.bias");
  auto map = expectedMap(spec);
  EXPECT_EQ(map.at("layers.11.attn.q.weight"), (Shape{768, 768}));
  EXPECT_EQ(map.at("layers.0.attn.o.bias"), (Shape{768}));
  EXPECT_EQ(map.at("layers.3.mlp.up.weight"), (Shape{3072, 768}));
  EXPECT_EQ(map.at("layers.3.mlp.down.weight"), (Shape{768, 3072}));
  EXPECT_EQ(map.count("lm_head.weight"), 0u);
}

TEST(ExpectedWeights, LlamaHasGqaGateNoBiasAndAHead) {
  ModelSpec spec = parseModelFile(test::examplePath("llama.yaml"));
  auto map = expectedMap(spec);
  EXPECT_EQ(map.at("layers.0.attn.q.weight"), (Shape{512, 512}));
  EXPECT_EQ(map.at("layers.0.attn.k.weight"), (Shape{128, 512}));
  EXPECT_EQ(map.at("layers.0.attn.v.weight"), (Shape{128, 512}));
  EXPECT_EQ(map.at("layers.0.attn.o.weight"), (Shape{512, 512}));
  EXPECT_EQ(map.at("layers.7.mlp.gate.weight"), (Shape{1408, 512}));
  EXPECT_EQ(map.at("layers.0.ln_1.weight"), (Shape{512}));
  EXPECT_EQ(map.count("layers.0.ln_1.bias"), 0u);
  EXPECT_EQ(map.count("layers.0.attn.q.bias"), 0u);
  EXPECT_EQ(map.count("embed.positions"), 0u);
  EXPECT_EQ(map.at("lm_head.weight"), (Shape{32000, 512}));
  EXPECT_EQ(map.size(), 1u + 8u * 9u + 1u + 1u);
}

TEST(ExpectedWeights, FollowTheBlockNodeNames) {
  ModelSpec spec = parseModelFile(test::examplePath("parallel_block.yaml"));
  auto weights = expectedWeights(spec);
  std::vector<std::string> layer0;
  for (const auto& [name, shape] : weights)
    if (name.rfind("layers.0.", 0) == 0) layer0.push_back(name);
  EXPECT_EQ(layer0, (std::vector<std::string>{"layers.0.ln.weight", "layers.0.attn.q.weight", "layers.0.attn.k.weight",
                                              "layers.0.attn.v.weight", "layers.0.attn.o.weight",
                                              "layers.0.mlp.up.weight", "layers.0.mlp.down.weight"}));
}

TEST(InitWeights, MatchesExpectedWeights) {
  ModelSpec spec = parseModelFile(test::examplePath("llama.yaml"));
  spec.vocab_size = 64;  // keep the test fast
  Weights weights = initWeights(spec, 1);
  auto expected = expectedWeights(spec);
  ASSERT_EQ(weights.size(), expected.size());
  for (const auto& [name, shape] : expected) {
    ASSERT_EQ(weights.count(name), 1u) << name;
    EXPECT_EQ(weights.at(name).shape, shape);
    EXPECT_EQ(weights.at(name).dtype, DType::F32);
    EXPECT_EQ(weights.at(name).name, name);
  }
}

TEST(InitWeights, IsDeterministicAcrossRunsAndMachines) {
  ModelSpec spec = parseModelFile(test::examplePath("tiny.yaml"));
  Weights a = initWeights(spec, 1234);
  EXPECT_EQ(checksum(a), checksum(initWeights(spec, 1234)));
  EXPECT_NE(checksum(a), checksum(initWeights(spec, 1235)));
  // Computed once by this implementation (Box-Muller over std::mt19937_64,
  // per-tensor seeds); it guards against drift of the initialization.
  EXPECT_EQ(checksum(a), 10098512648959162789ull);
}

TEST(InitWeights, TensorValuesDoNotDependOnOtherTensors) {
  ModelSpec small = parseModelFile(test::examplePath("tiny.yaml"));
  ModelSpec deeper = small;
  deeper.n_layers = 6;
  Weights a = initWeights(small, 9), b = initWeights(deeper, 9);
  EXPECT_EQ(a.at("embed.tokens").data, b.at("embed.tokens").data);
  EXPECT_EQ(a.at("layers.2.attn.q.weight").data, b.at("layers.2.attn.q.weight").data);
  EXPECT_NE(a.at("layers.2.attn.q.weight").data, a.at("layers.2.attn.k.weight").data);
}

TEST(InitWeights, HasTheGpt2Statistics) {
  ModelSpec spec = parseModelFile(test::examplePath("tiny.yaml"));
  Weights weights = initWeights(spec, 42);
  double mean = 0, stddev = 0;
  meanAndStd(weights.at("embed.tokens"), mean, stddev);  // 32768 samples
  EXPECT_NEAR(mean, 0.0, 0.001);
  EXPECT_NEAR(stddev, 0.02, 0.0005);
  meanAndStd(weights.at("layers.1.mlp.up.weight"), mean, stddev);
  EXPECT_NEAR(stddev, 0.02, 0.0005);
  const double residual = 0.02 / std::sqrt(2.0 * 4);
  meanAndStd(weights.at("layers.0.attn.o.weight"), mean, stddev);
  EXPECT_NEAR(stddev, residual, residual * 0.05);
  meanAndStd(weights.at("layers.3.mlp.down.weight"), mean, stddev);
  EXPECT_NEAR(stddev, residual, residual * 0.03);
  for (const char* ones : {"layers.0.ln_1.weight", "final_norm.weight"})
    for (int64_t i = 0; i < 128; ++i) ASSERT_EQ(weights.at(ones).f32()[i], 1.0f) << ones;
  for (const char* zeros : {"layers.0.ln_1.bias", "layers.2.attn.q.bias", "layers.2.mlp.down.bias"})
    for (int64_t i = 0; i < weights.at(zeros).numel(); ++i) ASSERT_EQ(weights.at(zeros).f32()[i], 0.0f) << zeros;
}

TEST(InitWeights, RejectsAnInvalidSpec) {
  ModelSpec spec = parseModelFile(test::examplePath("tiny.yaml"));
  spec.n_heads = 3;
  EXPECT_THROW(initWeights(spec, 0), ModelError);
}

}  // namespace
}  // namespace lathe
