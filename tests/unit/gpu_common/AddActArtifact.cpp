#include "AddActArtifact.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "SchemaVersion.h"

namespace lathe::test {
namespace {

fb::Dim dim(int64_t coefficient, int b_pow, int t_pow) {
  return fb::Dim(coefficient, static_cast<int8_t>(b_pow), static_cast<int8_t>(t_pow));
}

std::unique_ptr<fb::TensorSpecT> makeSpec(const std::string& name) {
  auto spec = std::make_unique<fb::TensorSpecT>();
  spec->name = name;
  spec->dtype = fb::DType::F32;
  spec->shape = {dim(1, 1, 0), dim(1, 0, 1), dim(AddActShape::kChannels, 0, 0)};
  return spec;
}

std::unique_ptr<fb::DispatchT> makeDispatch(const std::string& name, fb::KernelKind kind,
                                            std::vector<fb::BufferRef> buffers, int64_t param) {
  auto dispatch = std::make_unique<fb::DispatchT>();
  dispatch->name = name;
  dispatch->kind = kind;
  dispatch->buffers = std::move(buffers);
  dispatch->dims = {dim(AddActShape::kChannels, 1, 1)};  // n = B * T * C
  dispatch->int_params = {param};
  return dispatch;
}

}  // namespace

fb::ArtifactT addActArtifact(int act, const std::string& producer, std::unique_ptr<fb::GpuProgramT> program) {
  fb::ArtifactT a;
  a.schema_version = fb::kSchemaVersion;
  a.producer = producer;
  a.target = "cpu," + program->target;
  a.model_json = "{\"name\":\"add_act\"}";
  a.max_batch = AddActShape::kMaxBatch;
  a.max_seq = AddActShape::kMaxSeq;
  auto entry = std::make_unique<fb::EntryPointT>();
  entry->name = "forward";
  entry->inputs.push_back(makeSpec("x"));
  entry->inputs.push_back(makeSpec("y"));
  entry->outputs.push_back(makeSpec("out"));
  entry->arena_bytes = AddActShape::kMaxBatch * AddActShape::kMaxSeq * AddActShape::kChannels * sizeof(float);
  using fb::BufferRef;
  using fb::BufferSpace;
  entry->dispatches.push_back(makeDispatch("sum", fb::KernelKind::Binary,
                                           {BufferRef(BufferSpace::Input, 0), BufferRef(BufferSpace::Input, 1),
                                            BufferRef(BufferSpace::Arena, 0)},
                                           0));
  entry->dispatches.push_back(makeDispatch(
      "act", fb::KernelKind::Unary, {BufferRef(BufferSpace::Arena, 0), BufferRef(BufferSpace::Output, 0)}, act));
  a.entry_points.push_back(std::move(entry));
  auto gpu_entry = std::make_unique<fb::GpuEntryT>();
  gpu_entry->kernel_of_dispatch = {0, 1};
  program->entries.push_back(std::move(gpu_entry));
  a.gpu_programs.push_back(std::move(program));
  return a;
}

std::vector<float> addActReference(int act, const std::vector<float>& x, const std::vector<float>& y) {
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float v = x[i] + y[i];
    out[i] = act == 3 ? std::max(v, 0.0f) : act == 4 ? v / (1.0f + std::exp(-v)) : v;
  }
  return out;
}

std::vector<uint8_t> pack(const fb::ArtifactT& artifact) {
  flatbuffers::FlatBufferBuilder builder;
  builder.Finish(fb::Artifact::Pack(builder, &artifact), fb::ArtifactIdentifier());
  return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

std::vector<float> seededValues(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& value : values) value = uniform(rng);
  return values;
}

ArtifactHandle openArtifact(const fb::ArtifactT& artifact, lathe_status* status) {
  const std::vector<uint8_t> bytes = pack(artifact);
  lathe_artifact* handle = nullptr;
  const lathe_status result = lathe_artifact_open_memory(bytes.data(), bytes.size(), &handle);
  if (status != nullptr) *status = result;
  return ArtifactHandle(handle);
}

void expectInvalidArtifact(const fb::ArtifactT& artifact, const std::string& problem) {
  lathe_status status = LATHE_OK;
  ArtifactHandle handle = openArtifact(artifact, &status);
  EXPECT_EQ(handle, nullptr);
  EXPECT_EQ(status, LATHE_ERROR_INVALID_ARTIFACT);
  EXPECT_THAT(lathe_last_error(), ::testing::HasSubstr(problem));
}

SessionHandle createSession(const lathe_artifact* artifact, const char* device) {
  lathe_session* session = nullptr;
  EXPECT_EQ(lathe_session_create(artifact, device, &session), LATHE_OK) << device << ": " << lathe_last_error();
  return SessionHandle(session);
}

std::vector<float> runAddAct(lathe_session* session, int64_t B, int64_t T, const std::vector<float>& x,
                             const std::vector<float>& y) {
  const std::vector<int64_t> shape{B, T, AddActShape::kChannels};
  EXPECT_EQ(lathe_session_set_input(session, "forward", "x", LATHE_DTYPE_F32, shape.data(), 3, x.data()), LATHE_OK);
  EXPECT_EQ(lathe_session_set_input(session, "forward", "y", LATHE_DTYPE_F32, shape.data(), 3, y.data()), LATHE_OK);
  EXPECT_EQ(lathe_session_run(session, "forward"), LATHE_OK) << lathe_last_error();
  std::vector<float> out(x.size());
  EXPECT_EQ(lathe_session_read_output(session, "forward", "out", out.data(), out.size() * sizeof(float)), LATHE_OK)
      << lathe_last_error();
  return out;
}

void expectNear(const std::vector<float>& actual, const std::vector<float>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-5f) << "at " << i;
}

}  // namespace lathe::test
