// Runs small artifacts on the CPU device and compares with naive references.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "TestUtil.h"
#include "lathe/lathe.hpp"
#include "lathe/support/Float16.h"

namespace lathe::test {
namespace {

void expectNear(const std::vector<float>& actual, const std::vector<float>& expected, float tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], tolerance * (1.0f + std::abs(expected[i]))) << "at " << i;
  }
}

std::vector<int32_t> tokensFor(int64_t B, int64_t T) {
  std::vector<int32_t> tokens(B * T);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 7 + 3) % TinyModel::kVocab);
  return tokens;
}

TEST(Execution, TinyModelMatchesReferenceThroughCApi) {
  const TinyModel model;
  ArtifactHandle artifact = openBytes(pack(model.artifact()));
  ASSERT_NE(artifact, nullptr) << lathe_last_error();
  SessionHandle session = makeSession(artifact.get());
  for (auto [B, T] : {std::pair<int64_t, int64_t>{1, 1}, {2, 3}, {3, 4}, {1, 4}}) {
    const std::vector<int32_t> tokens = tokensFor(B, T);
    const int64_t shape[] = {B, T};
    ASSERT_EQ(lathe_session_set_input(session.get(), "forward", "tokens", LATHE_DTYPE_I32, shape, 2, tokens.data()),
              LATHE_OK)
        << lathe_last_error();
    ASSERT_EQ(lathe_session_run(session.get(), "forward"), LATHE_OK) << lathe_last_error();
    int64_t out_shape[4];
    size_t rank = 4;
    ASSERT_EQ(lathe_session_output_shape(session.get(), "forward", "logits", out_shape, &rank), LATHE_OK);
    ASSERT_EQ(rank, 3u);
    EXPECT_EQ(out_shape[0], B);
    EXPECT_EQ(out_shape[1], T);
    EXPECT_EQ(out_shape[2], TinyModel::kOutputs);
    std::vector<float> logits(B * T * TinyModel::kOutputs);
    ASSERT_EQ(lathe_session_read_output(session.get(), "forward", "logits", logits.data(), logits.size() * 4),
              LATHE_OK)
        << lathe_last_error();
    expectNear(logits, model.reference(tokens, B, T), 1e-4f);
  }
}

// `lathe compile --weight-dtype f16`: the cpu widens the weights once, so the
// result is the f32 computation with fp16-rounded weights.
TEST(Execution, F16WeightsRunAsTheirF32Values) {
  TinyModel model;
  for (std::vector<float>* values : {&model.table, &model.ln_w, &model.ln_b, &model.proj_w, &model.proj_b}) {
    for (float& x : *values) x = halfToFloat(floatToHalf(x));
  }
  fb::ArtifactT a = model.artifact();
  for (auto& weight : a.weights) {
    std::vector<float> values(weight->data.size() / sizeof(float));
    std::memcpy(values.data(), weight->data.data(), weight->data.size());
    weight->dtype = fb::DType::F16;
    weight->data.resize(values.size() * sizeof(uint16_t));
    for (size_t i = 0; i < values.size(); ++i) {
      const uint16_t half = floatToHalf(values[i]);
      std::memcpy(weight->data.data() + i * sizeof half, &half, sizeof half);
    }
  }
  const std::vector<uint8_t> bytes = pack(a);
  Artifact artifact = Artifact::fromMemory(bytes.data(), bytes.size());
  Session session(artifact, "cpu");
  const std::vector<int32_t> tokens = tokensFor(3, 4);
  session.setInput<int32_t>("forward", "tokens", {3, 4}, tokens);
  session.run("forward");
  expectNear(session.output<float>("forward", "logits"), model.reference(tokens, 3, 4), 1e-4f);
}

TEST(Execution, MixedModelCoversEveryKernelKind) {
  const MixedModel model;
  const std::vector<uint8_t> bytes = pack(model.artifact());
  Artifact artifact = Artifact::fromMemory(bytes.data(), bytes.size());
  Session session(artifact, "cpu");
  for (auto [B, T] : {std::pair<int64_t, int64_t>{1, 1}, {2, 5}, {1, 3}}) {
    const std::vector<float> x = seededValues(B * T * MixedModel::kChannels, 100 + static_cast<uint32_t>(B * T));
    session.setInput<float>("mixed", "x", {B, T, MixedModel::kChannels}, x);
    session.run("mixed");
    EXPECT_EQ(session.outputShape("mixed", "y"), (std::vector<int64_t>{B, T, MixedModel::kChannels}));
    expectNear(session.output<float>("mixed", "y"), model.reference(x, B, T), 1e-3f);
  }
}

TEST(Execution, OpensFromFileAndDescribesItself) {
  const TinyModel model;
  const std::vector<uint8_t> bytes = pack(model.artifact());
  const std::string path = ::testing::TempDir() + "/tiny_" + std::to_string(getpid()) + ".lathe";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());

  Artifact artifact(path);
  std::remove(path.c_str());  // the mapping stays valid
  EXPECT_EQ(artifact.target(), "cpu");
  EXPECT_EQ(artifact.producer(), "runtime_test");
  EXPECT_EQ(artifact.modelJson(), "{\"name\":\"test\"}");
  EXPECT_EQ(artifact.maxBatch(), TinyModel::kMaxBatch);
  EXPECT_EQ(artifact.maxSeq(), TinyModel::kMaxSeq);
  EXPECT_EQ(artifact.entryPoints(), std::vector<std::string>{"forward"});
  const std::vector<TensorInfo> inputs = artifact.inputs("forward");
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].name, "tokens");
  EXPECT_EQ(inputs[0].dtype, LATHE_DTYPE_I32);
  EXPECT_EQ(inputs[0].shape, "[B, T]");
  const std::vector<TensorInfo> outputs = artifact.outputs("forward");
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].shape, "[B, T, 5]");

  Session session(artifact);
  const std::vector<int32_t> tokens = tokensFor(2, 2);
  session.setInput<int32_t>("forward", "tokens", {2, 2}, tokens);
  session.run();
  expectNear(session.output<float>("forward", "logits"), model.reference(tokens, 2, 2), 1e-4f);
}

TEST(Execution, SessionOutlivesClosedArtifact) {
  const TinyModel model;
  ArtifactHandle artifact = openBytes(pack(model.artifact()));
  ASSERT_NE(artifact, nullptr);
  SessionHandle session = makeSession(artifact.get());
  artifact.reset();
  const std::vector<int32_t> tokens = tokensFor(1, 2);
  const int64_t shape[] = {1, 2};
  ASSERT_EQ(lathe_session_set_input(session.get(), "forward", "tokens", LATHE_DTYPE_I32, shape, 2, tokens.data()),
            LATHE_OK);
  ASSERT_EQ(lathe_session_run(session.get(), "forward"), LATHE_OK) << lathe_last_error();
}

TEST(Execution, CppApiThrowsRuntimeErrorWithStatus) {
  try {
    Artifact artifact("/nonexistent/model.lathe");
    FAIL() << "opening a missing file succeeded";
  } catch (const RuntimeError& error) {
    EXPECT_EQ(error.status(), LATHE_ERROR_IO);
    EXPECT_THAT(error.what(), ::testing::HasSubstr("/nonexistent/model.lathe"));
  }
}

}  // namespace
}  // namespace lathe::test
