// The canonical JSON description: explicit, round-trips, validated like YAML.
#include "TestUtil.h"

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>

namespace lathe {
namespace {

using test::errorOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

void expectSameSpec(const ModelSpec& a, const ModelSpec& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.context_length, b.context_length);
  EXPECT_EQ(a.d_model, b.d_model);
  EXPECT_EQ(a.n_layers, b.n_layers);
  EXPECT_EQ(a.n_heads, b.n_heads);
  EXPECT_EQ(a.n_kv_heads, b.n_kv_heads);
  EXPECT_EQ(a.d_ff, b.d_ff);
  EXPECT_EQ(a.norm, b.norm);
  EXPECT_EQ(a.norm_eps, b.norm_eps);  // exact: JSON numbers round-trip
  EXPECT_EQ(a.norm_placement, b.norm_placement);
  EXPECT_EQ(a.final_norm, b.final_norm);
  EXPECT_EQ(a.positions, b.positions);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.activation, b.activation);
  EXPECT_EQ(a.bias, b.bias);
  EXPECT_EQ(a.tied_embeddings, b.tied_embeddings);
  EXPECT_EQ(a.dropout, b.dropout);
  ASSERT_EQ(a.block.size(), b.block.size());
  for (size_t i = 0; i < a.block.size(); ++i) {
    EXPECT_EQ(a.block[i].name, b.block[i].name);
    EXPECT_EQ(a.block[i].kind, b.block[i].kind);
    EXPECT_EQ(a.block[i].inputs, b.block[i].inputs);
  }
}

TEST(SpecJson, RoundTripsEveryExample) {
  for (const char* file : {"gpt2.yaml", "llama.yaml", "tiny.yaml", "parallel_block.yaml"}) {
    SCOPED_TRACE(file);
    ModelSpec spec = parseModelFile(test::examplePath(file));
    std::string json = specToJson(spec);
    expectSameSpec(specFromJson(json, "model.json"), spec);
    EXPECT_EQ(specToJson(specFromJson(json, "model.json")), json);
  }
}

TEST(SpecJson, RoundTripsDropout) {
  ModelSpec spec = parseModelFile(test::examplePath("tiny.yaml"));
  spec.dropout = 0.1;
  const std::string json = specToJson(spec);
  EXPECT_EQ(nlohmann::json::parse(json)["dropout"], 0.1);
  expectSameSpec(specFromJson(json, "model.json"), spec);
}

TEST(SpecJson, IsFullyExplicit) {
  nlohmann::json json = nlohmann::json::parse(specToJson(parseModelFile(test::examplePath("tiny.yaml"))));
  EXPECT_EQ(json["kv_heads"], 4);
  EXPECT_EQ(json["d_ff"], 512);
  EXPECT_EQ(json["norm_eps"], 1e-5);
  EXPECT_EQ(json["norm_placement"], "pre");
  EXPECT_EQ(json["final_norm"], true);
  EXPECT_FALSE(json.contains("rope_theta"));  // only meaningful with rope
  EXPECT_EQ(json["dropout"], 0.0);
  EXPECT_EQ(json["block"][0], "ln_1 = norm(x)");
  EXPECT_EQ(json["block"][5], "out = add(h, mlp)");
  nlohmann::json llama = nlohmann::json::parse(specToJson(parseModelFile(test::examplePath("llama.yaml"))));
  EXPECT_EQ(llama["rope_theta"], 10000.0);
  EXPECT_EQ(llama["activation"], "swiglu");
}

TEST(SpecJson, ErrorsNameTheFileAndKey) {
  std::string json = specToJson(parseModelFile(test::examplePath("tiny.yaml")));
  std::string bad_heads = json;
  bad_heads.replace(bad_heads.find("\"heads\": 4"), 10, "\"heads\": 3");
  EXPECT_THAT(errorOf([&] { specFromJson(bad_heads, "model.json"); }),
              StartsWith("model.json:7:12: error: heads (3) must divide d_model (128)"));
  std::string unknown = json;
  unknown.replace(unknown.find("\"bias\""), 6, "\"biass\"");
  EXPECT_THAT(errorOf([&] { specFromJson(unknown, "model.json"); }),
              StartsWith("model.json:16:3: error: unknown key 'biass' (did you mean 'bias'?)"));
  EXPECT_THAT(errorOf([&] { specFromJson("{\"name\": \"t\",\n  \"heads\": }", "model.json"); }),
              StartsWith("model.json:2:12: error: invalid JSON"));
  EXPECT_THAT(errorOf([&] { specFromJson("[1, 2]", "model.json"); }),
              StartsWith("model.json: error: expected a JSON object"));
  EXPECT_THAT(errorOf([&] { specFromJson("{}", "model.json"); }), HasSubstr("missing required key 'vocab_size'"));
}

}  // namespace
}  // namespace lathe
