// Every artifact check: a broken artifact gets a clear error naming what is
// wrong and where, never a crash.
#include <algorithm>
#include <random>

#include "TestUtil.h"

namespace lathe::test {
namespace {

using ::testing::HasSubstr;

fb::DispatchT& dispatch(fb::ArtifactT& a, size_t index) { return *a.entry_points[0]->dispatches[index]; }

TEST(Verification, AcceptsTheTestModels) {
  EXPECT_NE(openBytes(pack(TinyModel().artifact())), nullptr) << lathe_last_error();
  EXPECT_NE(openBytes(pack(MixedModel().artifact())), nullptr) << lathe_last_error();
}

TEST(Verification, RejectsWrongFileIdentifier) {
  std::vector<uint8_t> bytes = pack(TinyModel().artifact());
  std::copy_n("NOPE", 4, bytes.begin() + 4);
  lathe_status status;
  std::string error;
  EXPECT_EQ(openBytes(bytes, &status, &error), nullptr);
  EXPECT_EQ(status, LATHE_ERROR_INVALID_ARTIFACT);
  EXPECT_THAT(error, HasSubstr("not a valid Lathe artifact: file identifier is 'NOPE', expected 'LTHE'"));
}

TEST(Verification, RejectsTruncationAtEveryOffset) {
  const std::vector<uint8_t> bytes = pack(TinyModel().artifact());
  for (size_t size = 1; size < bytes.size(); ++size) {
    const std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + size);
    lathe_status status;
    std::string error;
    ArtifactHandle artifact = openBytes(truncated, &status, &error);
    // Cutting only the builder's trailing zero padding loses nothing.
    const bool cut_padding_only = std::all_of(bytes.begin() + size, bytes.end(), [](uint8_t b) { return b == 0; });
    if (artifact != nullptr && cut_padding_only) continue;
    EXPECT_EQ(artifact, nullptr) << "size " << size;
    EXPECT_EQ(status, LATHE_ERROR_INVALID_ARTIFACT) << "size " << size << ": " << error;
    EXPECT_THAT(error, HasSubstr("not a valid Lathe artifact")) << "size " << size;
  }
}

TEST(Verification, RejectsEmptyMemory) {
  lathe_artifact* artifact = nullptr;
  EXPECT_EQ(lathe_artifact_open_memory(nullptr, 0, &artifact), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(artifact, nullptr);
}

// Corrupt bytes must give a clean error or a usable artifact that runs.
TEST(Verification, FlippedBytesNeverCrash) {
  const TinyModel model;
  const std::vector<uint8_t> bytes = pack(model.artifact());
  std::mt19937 rng(1234);
  int rejected = 0, ran = 0;
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6};
  const int64_t shape[] = {2, 3};
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<uint8_t> mutated = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) mutated[rng() % mutated.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    lathe_status status;
    std::string error;
    ArtifactHandle artifact = openBytes(mutated, &status, &error);
    if (artifact == nullptr) {
      EXPECT_NE(status, LATHE_OK);
      EXPECT_FALSE(error.empty());
      ++rejected;
      continue;
    }
    lathe_session* raw = nullptr;
    if (lathe_session_create(artifact.get(), "cpu", &raw) != LATHE_OK) {
      EXPECT_FALSE(std::string(lathe_last_error()).empty());
      continue;
    }
    SessionHandle session(raw);
    size_t count = 0;
    const char* entry = lathe_artifact_entry_point_name(artifact.get(), 0);
    ASSERT_NE(entry, nullptr);
    if (lathe_artifact_input_count(artifact.get(), entry, &count) != LATHE_OK || count == 0) continue;
    const char* input = nullptr;
    lathe_dtype dtype;
    ASSERT_EQ(lathe_artifact_input_info(artifact.get(), entry, 0, &input, &dtype, nullptr), LATHE_OK);
    if (lathe_session_set_input(session.get(), entry, input, dtype, shape, 2, tokens.data()) != LATHE_OK) continue;
    if (lathe_session_run(session.get(), entry) == LATHE_OK) ++ran;
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(ran, 0);
}

TEST(Verification, RejectsNewerSchema) {
  fb::ArtifactT a = TinyModel().artifact();
  a.schema_version = lathe_schema_version() + 1;
  expectRejected(a, LATHE_ERROR_UNSUPPORTED,
                 "artifact schema version 6 is newer than this runtime supports (5); rebuild the runtime");
}

TEST(Verification, RejectsMissingSchemaVersionAndUnknownTarget) {
  fb::ArtifactT a = TinyModel().artifact();
  a.schema_version = 0;
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "schema_version is missing");
  a = TinyModel().artifact();
  a.target = "tpu";
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "unknown target 'tpu'");
}

TEST(Verification, RejectsBadLimits) {
  fb::ArtifactT a = TinyModel().artifact();
  a.max_seq = 0;
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "max_seq is 0; must be >= 1");
}

TEST(Verification, RejectsArenaOverflow) {
  fb::ArtifactT a = TinyModel().artifact();
  a.entry_points[0]->arena_bytes -= 4;
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT,
                 "entry point 'forward', dispatch 1 'ln' (LayerNorm), operand 3 (y): arena range [384, 768) at "
                 "max_batch/max_seq exceeds arena_bytes 764");
}

TEST(Verification, RejectsMisalignedArenaOffset) {
  fb::ArtifactT a = TinyModel().artifact();
  dispatch(a, 0).buffers[2] = fb::BufferRef(fb::BufferSpace::Arena, 2);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "arena offset 2 is not aligned to 4 bytes");
}

TEST(Verification, RejectsBadWeightIndex) {
  fb::ArtifactT a = TinyModel().artifact();
  dispatch(a, 2).buffers[1] = fb::BufferRef(fb::BufferSpace::Weight, 99);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT,
                 "dispatch 2 'proj' (Gemm), operand 1 (B) refers to weight 99, but the artifact has 5 weights");
}

TEST(Verification, RejectsBadInputAndOutputIndex) {
  fb::ArtifactT a = TinyModel().artifact();
  dispatch(a, 0).buffers[0] = fb::BufferRef(fb::BufferSpace::Input, 1);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "operand 0 (ids) refers to input 1, but entry point 'forward' has 1 inputs");
  a = TinyModel().artifact();
  dispatch(a, 2).buffers[2] = fb::BufferRef(fb::BufferSpace::Output, 3);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "operand 2 (C) refers to output 3");
}

TEST(Verification, RejectsWeightSizeMismatch) {
  fb::ArtifactT a = TinyModel().artifact();
  a.weights[1]->data.pop_back();
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT,
                 "weight 1 'ln.w' has 31 data bytes; its shape [8] of f32 needs 32");
}

TEST(Verification, RejectsWeightShapeTheKernelDoesNotExpect) {
  fb::ArtifactT a = TinyModel().artifact();
  a.weights[3]->shape = {TinyModel::kChannels, TinyModel::kOutputs};  // (K, N) but trans_b expects (N, K)
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT,
                 "dispatch 2 'proj' (Gemm), operand 1 (B): weight 3 'proj.w' has shape [8, 5], expected [5, 8]");
  a = TinyModel().artifact();
  a.weights[0]->shape = {TinyModel::kChannels, TinyModel::kVocab};
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "weight 0 'wte' has shape [8, 11], expected [vocab, 8]");
}

TEST(Verification, RejectsUnsupportedDtypes) {
  fb::ArtifactT a = TinyModel().artifact();
  a.weights[1]->dtype = fb::DType::BF16;
  a.weights[1]->data.resize(16);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "weight 1 'ln.w' has dtype bf16; weights are f32 or f16");
  a = TinyModel().artifact();
  a.weights[1]->dtype = fb::DType::F16;  // keeps the f32 byte count
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "weight 1 'ln.w' has 32 data bytes; its shape [8] of f16 needs 16");
  a = TinyModel().artifact();
  a.entry_points[0]->inputs[0]->dtype = fb::DType::F32;
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "operand 0 (ids): input 'tokens' has dtype f32, expected i32");
}

TEST(Verification, RejectsWrongOperandDimAndParamCounts) {
  fb::ArtifactT a = TinyModel().artifact();
  dispatch(a, 1).buffers.pop_back();
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT,
                 "dispatch 1 'ln' (LayerNorm) has 3 operands; expected 4 (x, w, b, y)");
  a = TinyModel().artifact();
  dispatch(a, 2).dims.pop_back();
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "dispatch 2 'proj' (Gemm) has 2 dims; expected 3 (M, N, K)");
  a = TinyModel().artifact();
  dispatch(a, 2).int_params.pop_back();
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "has 3 int params; expected 4");
  a = TinyModel().artifact();
  dispatch(a, 1).float_params.clear();
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "has 0 float params; expected 1 (eps)");
  a = TinyModel().artifact();
  dispatch(a, 2).int_params[1] = 9;
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "int param 'act' must be in [0, 4], got 9");
}

TEST(Verification, RejectsBadDims) {
  fb::ArtifactT a = TinyModel().artifact();
  dispatch(a, 0).dims[1] = dim(0);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "dispatch 0 'wte' (Embedding), dim 1 (C) has coefficient 0");
  a = TinyModel().artifact();
  dispatch(a, 0).dims[0] = dim(1, -1, 1);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "has powers B^-1 T^1");
  a = TinyModel().artifact();
  dispatch(a, 0).dims[0] = dim(INT64_MAX / 2, 1, 1);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "overflows at max_batch/max_seq");
}

TEST(Verification, RejectsUnknownKernelKindAndSpace) {
  fb::ArtifactT a = TinyModel().artifact();
  dispatch(a, 1).kind = static_cast<fb::KernelKind>(77);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "dispatch 1 'ln' has unknown kernel kind 77");
  a = TinyModel().artifact();
  dispatch(a, 1).buffers[0] = fb::BufferRef(static_cast<fb::BufferSpace>(9), 0);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "operand 0 (x) has unknown buffer space 9");
}

TEST(Verification, RejectsWritesToWeightsAndInputs) {
  fb::ArtifactT a = TinyModel().artifact();
  dispatch(a, 2).buffers[2] = fb::BufferRef(fb::BufferSpace::Weight, 3);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "operand 2 (C) refers to a weight, but the operand is written");
  a = MixedModel().artifact();
  a.entry_points[0]->dispatches[1]->buffers[0] = fb::BufferRef(fb::BufferSpace::Input, 0);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "operand 0 (x) writes to input 'x'; inputs are read-only");
}

TEST(Verification, RejectsOperandsLargerThanTheirTensor) {
  fb::ArtifactT a = TinyModel().artifact();
  a.entry_points[0]->outputs[0]->shape[2] = dim(4);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT,
                 "operand 2 (C): output 'logits' has 4 elements at B=1, T=1, but the operand spans 5");
}

TEST(Verification, RejectsUnwrittenOutputAndDuplicateNames) {
  fb::ArtifactT a = TinyModel().artifact();
  a.entry_points[0]->outputs.push_back(std::make_unique<fb::TensorSpecT>(*a.entry_points[0]->outputs[0]));
  a.entry_points[0]->outputs[1]->name = "extra";
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "output 'extra' is never written by a dispatch");
  a.entry_points[0]->outputs[1]->name = "tokens";
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "the name 'tokens' is used twice");
}

TEST(Verification, RejectsInconsistentAttentionHeads) {
  fb::ArtifactT a = MixedModel().artifact();
  a.entry_points[0]->dispatches[8]->dims[3] = dim(3);
  expectRejected(a, LATHE_ERROR_INVALID_ARTIFACT, "dispatch 8 'attn' (Attention): H (2) is not a multiple of Hkv (3)");
}

}  // namespace
}  // namespace lathe::test
