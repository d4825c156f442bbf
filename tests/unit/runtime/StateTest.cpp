// Training states: parameters start from their weights, reset keeps them,
// whole-state reads and writes, and the verifier's checks on state kinds.
#include "TestUtil.h"
#include "lathe/lathe.hpp"

namespace lathe::test {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<fb::TensorSpecT> stateSpec(const std::string& name, fb::StateKind kind, std::vector<int64_t> shape,
                                           int64_t initial_weight = -1) {
  auto spec = std::make_unique<fb::TensorSpecT>();
  spec->name = name;
  spec->dtype = fb::DType::F32;
  for (int64_t extent : shape) spec->shape.push_back(dim(extent));
  spec->kind = kind;
  spec->initial_weight = initial_weight;
  return spec;
}

/// TinyModel plus a KV-like cache, a parameter copy of "ln.w" (weight 1) and its moment.
fb::ArtifactT trainingArtifact() {
  fb::ArtifactT a = TinyModel().artifact();
  a.states.push_back(stateSpec("cache", fb::StateKind::Cache, {2, 3}));
  a.states.push_back(stateSpec("param.ln.w", fb::StateKind::Parameter, {TinyModel::kChannels}, 1));
  a.states.push_back(stateSpec("adam.m.ln.w", fb::StateKind::OptimizerMoment, {TinyModel::kChannels}));
  return a;
}

std::vector<float> readState(lathe_session* session, const char* name, size_t count) {
  std::vector<float> values(count, -1.0f);
  EXPECT_EQ(lathe_session_read_state(session, name, values.data(), count * sizeof(float)), LATHE_OK)
      << lathe_last_error();
  return values;
}

TEST(States, ArtifactListsKindsSizesAndShapes) {
  ArtifactHandle artifact = openBytes(pack(trainingArtifact()));
  ASSERT_NE(artifact, nullptr) << lathe_last_error();
  ASSERT_EQ(lathe_artifact_state_count(artifact.get()), 3u);
  const char* name = nullptr;
  lathe_state_kind kind = LATHE_STATE_CACHE;
  size_t bytes = 0;
  int64_t shape[4] = {};
  size_t rank = 4;
  ASSERT_EQ(lathe_artifact_state_info(artifact.get(), 1, &name, &kind, &bytes, shape, &rank), LATHE_OK);
  EXPECT_STREQ(name, "param.ln.w");
  EXPECT_EQ(kind, LATHE_STATE_PARAMETER);
  EXPECT_EQ(bytes, TinyModel::kChannels * sizeof(float));
  EXPECT_EQ(rank, 1u);
  EXPECT_EQ(shape[0], TinyModel::kChannels);
  EXPECT_EQ(lathe_artifact_state_info(artifact.get(), 3, &name, &kind, &bytes, nullptr, nullptr), LATHE_ERROR_NOT_FOUND);
  EXPECT_THAT(lathe_last_error(), HasSubstr("state 3 is out of range; the artifact has 3"));
}

TEST(States, ParametersStartFromWeightsAndSurviveReset) {
  ArtifactHandle artifact = openBytes(pack(trainingArtifact()));
  ASSERT_NE(artifact, nullptr) << lathe_last_error();
  SessionHandle session = makeSession(artifact.get());
  const TinyModel model;
  EXPECT_EQ(readState(session.get(), "param.ln.w", TinyModel::kChannels), model.ln_w);
  EXPECT_EQ(readState(session.get(), "adam.m.ln.w", TinyModel::kChannels), std::vector<float>(TinyModel::kChannels, 0.0f));
  EXPECT_EQ(readState(session.get(), "cache", 6), std::vector<float>(6, 0.0f));

  const std::vector<float> trained(TinyModel::kChannels, 0.5f), cache{1, 2, 3, 4, 5, 6};
  ASSERT_EQ(lathe_session_write_state(session.get(), "param.ln.w", trained.data(), trained.size() * sizeof(float)), LATHE_OK);
  ASSERT_EQ(lathe_session_write_state(session.get(), "cache", cache.data(), cache.size() * sizeof(float)), LATHE_OK);
  EXPECT_EQ(readState(session.get(), "cache", 6), cache);
  ASSERT_EQ(lathe_session_reset(session.get()), LATHE_OK);
  EXPECT_EQ(readState(session.get(), "param.ln.w", TinyModel::kChannels), trained);
  EXPECT_EQ(readState(session.get(), "cache", 6), std::vector<float>(6, 0.0f));
}

TEST(States, WrongNameOrSizeIsRefused) {
  ArtifactHandle artifact = openBytes(pack(trainingArtifact()));
  SessionHandle session = makeSession(artifact.get());
  std::vector<float> buffer(TinyModel::kChannels + 1);
  EXPECT_EQ(lathe_session_read_state(session.get(), "param.nope", buffer.data(), 4), LATHE_ERROR_NOT_FOUND);
  EXPECT_STREQ(lathe_last_error(), "the artifact has no state 'param.nope'");
  EXPECT_EQ(lathe_session_write_state(session.get(), "param.ln.w", buffer.data(), buffer.size() * sizeof(float)),
            LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(lathe_last_error(), "state 'param.ln.w' has 32 bytes, got a buffer of 36");
  EXPECT_EQ(lathe_session_read_state(session.get(), "cache", nullptr, 24), LATHE_ERROR_INVALID_ARGUMENT);
}

TEST(States, VerifierChecksParameterInitialWeights) {
  fb::ArtifactT out_of_range = trainingArtifact();
  out_of_range.states[1]->initial_weight = 9;
  EXPECT_EQ(openBytes(pack(out_of_range)), nullptr);
  EXPECT_THAT(lathe_last_error(), HasSubstr("initial weight 9 is out of range (the artifact has 5 weights)"));

  fb::ArtifactT wrong_size = trainingArtifact();
  wrong_size.states[1]->initial_weight = 0;  // wte is (11, 8)
  EXPECT_EQ(openBytes(pack(wrong_size)), nullptr);
  EXPECT_THAT(lathe_last_error(), HasSubstr("has 32 bytes of f32, but its initial weight 'wte' has 352 bytes"));

  fb::ArtifactT cache_with_weight = trainingArtifact();
  cache_with_weight.states[0]->initial_weight = 1;
  EXPECT_EQ(openBytes(pack(cache_with_weight)), nullptr);
  EXPECT_THAT(lathe_last_error(), HasSubstr("is not a parameter but names initial weight 1"));
}

TEST(States, CppWrappersListAndCopyStates) {
  const std::vector<uint8_t> bytes = pack(trainingArtifact());
  const lathe::Artifact artifact = lathe::Artifact::fromMemory(bytes.data(), bytes.size());
  const std::vector<lathe::StateInfo> states = artifact.states();
  ASSERT_EQ(states.size(), 3u);
  EXPECT_EQ(states[2].name, "adam.m.ln.w");
  EXPECT_EQ(states[2].kind, LATHE_STATE_OPTIMIZER_MOMENT);
  EXPECT_EQ(states[0].shape, (std::vector<int64_t>{2, 3}));
  lathe::Session session(artifact);
  const std::vector<float> moment(TinyModel::kChannels, 0.25f);
  session.writeState("adam.m.ln.w", moment.data(), moment.size() * sizeof(float));
  std::vector<float> back(TinyModel::kChannels);
  session.readState("adam.m.ln.w", back.data(), back.size() * sizeof(float));
  EXPECT_EQ(back, moment);
  EXPECT_THROW(session.readState("adam.m.ln.w", back.data(), 4), lathe::RuntimeError);
}

}  // namespace
}  // namespace lathe::test
