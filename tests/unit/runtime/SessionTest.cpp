// Sessions: device selection, input validation and call-order errors.
#include "TestUtil.h"

namespace lathe::test {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class TinySession : public ::testing::Test {
protected:
  void SetUp() override {
    artifact_ = openBytes(pack(TinyModel().artifact()));
    ASSERT_NE(artifact_, nullptr) << lathe_last_error();
    session_ = makeSession(artifact_.get());
    ASSERT_NE(session_, nullptr);
  }

  lathe_status setTokens(const std::vector<int64_t>& shape, const std::vector<int32_t>& ids,
                         lathe_dtype dtype = LATHE_DTYPE_I32, const char* name = "tokens") {
    return lathe_session_set_input(session_.get(), "forward", name, dtype, shape.data(), shape.size(), ids.data());
  }

  ArtifactHandle artifact_;
  SessionHandle session_;
};

TEST(SessionCreate, RejectsUnavailableAndUnknownDevices) {
  ArtifactHandle artifact = openBytes(pack(TinyModel().artifact()));
  lathe_session* session = nullptr;
  // Without a CUDA driver or GPU the device says so; with one, this cpu-only artifact is refused.
  EXPECT_EQ(lathe_session_create(artifact.get(), "cuda", &session), LATHE_ERROR_UNSUPPORTED);
  EXPECT_THAT(lathe_last_error(), AnyOf(StartsWith("no CUDA driver"), StartsWith("no CUDA GPU"),
                                        HasSubstr("(compile with --target cuda)")));
  EXPECT_EQ(lathe_session_create(artifact.get(), "abacus", &session), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(lathe_last_error(), HasSubstr("unknown device 'abacus'"));
  EXPECT_EQ(session, nullptr);
}

// One placeholder kernel per dispatch: PTX that declares the entry, which is
// all the verifier reads of a cuda kernel's code.
void addCudaProgram(fb::ArtifactT& a) {
  auto program = std::make_unique<fb::GpuProgramT>();
  program->target = "cuda";
  for (const auto& entry : a.entry_points) {
    auto gpu_entry = std::make_unique<fb::GpuEntryT>();
    for (const auto& dispatch : entry->dispatches) {
      auto kernel = std::make_unique<fb::GpuKernelT>();
      kernel->name = "kernel_" + std::to_string(program->kernels.size());
      const std::string ptx = ".version 7.8\n.target sm_80\n.visible .entry main()\n{\n\tret;\n}\n";
      kernel->code.assign(ptx.begin(), ptx.end());
      kernel->entry = "main";
      kernel->workgroup_size = {64, 1, 1};
      kernel->grid = {fb::GridAxis(1, 64, false), fb::GridAxis(0, 1, false), fb::GridAxis(0, 1, false)};
      kernel->bindings = static_cast<uint32_t>(dispatch->buffers.size() + 1);
      gpu_entry->kernel_of_dispatch.push_back(static_cast<uint32_t>(program->kernels.size()));
      program->kernels.push_back(std::move(kernel));
    }
    program->entries.push_back(std::move(gpu_entry));
  }
  a.gpu_programs.push_back(std::move(program));
}

TEST(SessionCreate, RejectsArtifactForAnotherTarget) {
  fb::ArtifactT a = TinyModel().artifact();
  a.target = "cuda";
  addCudaProgram(a);
  ArtifactHandle artifact = openBytes(pack(a));
  ASSERT_NE(artifact, nullptr) << lathe_last_error();
  lathe_session* session = nullptr;
  EXPECT_EQ(lathe_session_create(artifact.get(), "cpu", &session), LATHE_ERROR_UNSUPPORTED);
  EXPECT_STREQ(lathe_last_error(), "the artifact was compiled for target 'cuda', but the session's device is 'cpu' (compile with --target cpu)");
}

TEST_F(TinySession, RejectsOutOfRangeTokenIdNamingItsPosition) {
  EXPECT_EQ(setTokens({2, 3}, {0, 1, 2, 3, 4, 5}), LATHE_OK);
  EXPECT_EQ(setTokens({2, 3}, {0, 1, 2, 3, 4, 11}), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(lathe_last_error(),
               "input 'tokens' of entry point 'forward' at [1, 2]: token id 11 is out of range [0, 11)");
  EXPECT_EQ(setTokens({1, 2}, {-1, 0}), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(lathe_last_error(), HasSubstr("at [0, 0]: token id -1"));
}

TEST_F(TinySession, RejectsBatchAndSequenceBeyondTheLimits) {
  EXPECT_EQ(setTokens({4, 1}, {0, 0, 0, 0}), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(lathe_last_error(), HasSubstr("dim 0 is 4, so B = 4, which exceeds max_batch 3"));
  EXPECT_EQ(setTokens({1, 5}, {0, 0, 0, 0, 0}), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(lathe_last_error(), HasSubstr("dim 1 is 5, so T = 5, which exceeds max_seq 4"));
  EXPECT_EQ(setTokens({0, 2}, {}), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(lathe_last_error(), HasSubstr("dim 0 is 0, expected B"));
}

TEST_F(TinySession, RejectsWrongRankDtypeAndName) {
  EXPECT_EQ(setTokens({2}, {0, 1}), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(lathe_last_error(), "input 'tokens' of entry point 'forward' has rank 2 [B, T], got rank 1 [2]");
  EXPECT_EQ(setTokens({1, 2}, {0, 1}, LATHE_DTYPE_F32), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(lathe_last_error(), "input 'tokens' of entry point 'forward' has dtype i32, got f32");
  EXPECT_EQ(setTokens({1, 2}, {0, 1}, LATHE_DTYPE_I32, "ids"), LATHE_ERROR_NOT_FOUND);
  EXPECT_STREQ(lathe_last_error(), "entry point 'forward' has no input named 'ids' (it has: tokens)");
  EXPECT_EQ(lathe_session_run(session_.get(), "backward"), LATHE_ERROR_NOT_FOUND);
  EXPECT_STREQ(lathe_last_error(), "no entry point 'backward' in the artifact (it has: forward)");
}

TEST_F(TinySession, ReportsCallOrderErrors) {
  EXPECT_EQ(lathe_session_run(session_.get(), "forward"), LATHE_ERROR_INVALID_STATE);
  EXPECT_STREQ(lathe_last_error(), "input 'tokens' of entry point 'forward' was not set");
  float logits[5];
  EXPECT_EQ(lathe_session_read_output(session_.get(), "forward", "logits", logits, sizeof logits),
            LATHE_ERROR_INVALID_STATE);
  EXPECT_STREQ(lathe_last_error(), "entry point 'forward' has not been run in this session");

  ASSERT_EQ(setTokens({1, 2}, {3, 4}), LATHE_OK);
  ASSERT_EQ(lathe_session_run(session_.get(), "forward"), LATHE_OK) << lathe_last_error();
  EXPECT_EQ(lathe_session_read_output(session_.get(), "forward", "logits", logits, sizeof logits),
            LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(lathe_last_error(),
               "output 'logits' of entry point 'forward' has 40 bytes; the destination holds only 20");
  int64_t shape[2];
  size_t rank = 2;
  EXPECT_EQ(lathe_session_output_shape(session_.get(), "forward", "logits", shape, &rank),
            LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(rank, 3u);
}

TEST(CApi, NullArgumentsAreErrorsNotCrashes) {
  lathe_artifact* artifact = nullptr;
  EXPECT_EQ(lathe_artifact_open(nullptr, &artifact), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(lathe_last_error(), "path is null");
  EXPECT_EQ(lathe_session_run(nullptr, "forward"), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lathe_artifact_target(nullptr), nullptr);
  EXPECT_EQ(lathe_artifact_entry_point_count(nullptr), 0u);
  lathe_artifact_close(nullptr);
  lathe_session_destroy(nullptr);
  EXPECT_STREQ(lathe_status_name(LATHE_ERROR_NOT_FOUND), "LATHE_ERROR_NOT_FOUND");
  EXPECT_EQ(lathe_schema_version(), 5u);
}

TEST(CApi, ReportsMissingFile) {
  lathe_artifact* artifact = nullptr;
  EXPECT_EQ(lathe_artifact_open("/nonexistent/x.lathe", &artifact), LATHE_ERROR_IO);
  EXPECT_THAT(lathe_last_error(), HasSubstr("cannot open '/nonexistent/x.lathe'"));
}

}  // namespace
}  // namespace lathe::test
