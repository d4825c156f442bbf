// The CUDA device through the public C API. Device strings and the errors for
// a missing driver or GPU run everywhere; the rest runs kernels built from
// kernels/*.cu against the cpu device on the same artifact, and skips with
// the reason where there is no CUDA GPU (or no nvcc at build time).
#include <dlfcn.h>

#include <cstdlib>

#include "CudaArtifacts.h"

namespace lathe::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t C = AddActModel::kChannels;

ArtifactHandle cpuOnlyArtifact() {
  fb::ArtifactT artifact = handWrittenModel().artifact();
  artifact.target = "cpu";
  artifact.gpu_programs.clear();
  return openArtifact(artifact);
}

// Empty when a CUDA GPU can be opened, else why not.
std::string cudaUnavailable() {
  ArtifactHandle artifact = cpuOnlyArtifact();
  lathe_session* session = nullptr;
  if (lathe_session_create(artifact.get(), "cuda", &session) == LATHE_OK) {
    lathe_session_destroy(session);
    return "";
  }
  const std::string error = lathe_last_error();
  return error.rfind("no CUDA", 0) == 0 ? error : "";
}

#define SKIP_WITHOUT_CUDA_GPU()                                                    \
  if (const std::string reason = cudaUnavailable(); !reason.empty()) {            \
    GTEST_SKIP() << "no CUDA GPU: " << reason;                                   \
  }

#define SKIP_WITHOUT_KERNELS(model)                                                            \
  if (!(model)) GTEST_SKIP() << "no nvcc when the tests were built: no CUDA kernels to run";

bool driverPresent() {
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver != nullptr) dlclose(driver);
  return driver != nullptr;
}

lathe_status tryCreate(const lathe_artifact* artifact, const char* device) {
  lathe_session* session = nullptr;
  const lathe_status status = lathe_session_create(artifact, device, &session);
  lathe_session_destroy(session);
  return status;
}

// The unary kernel's PTX with an instruction no assembler knows.
std::vector<uint8_t> brokenPtx(const std::vector<uint8_t>& ptx) {
  std::string text(ptx.begin(), ptx.end());
  const size_t ret = text.rfind("ret;");
  EXPECT_NE(ret, std::string::npos);
  text.replace(ret, 4, "bogus_instruction;");
  return {text.begin(), text.end()};
}

// ---- Without a GPU ---------------------------------------------------------

TEST(CudaDeviceString, RefusesMalformedIndices) {
  ArtifactHandle artifact = cpuOnlyArtifact();
  ASSERT_NE(artifact, nullptr) << lathe_last_error();
  for (const char* spec : {"cuda:", "cuda:x", "cuda:-1", "cuda:1:2"}) {
    EXPECT_EQ(tryCreate(artifact.get(), spec), LATHE_ERROR_INVALID_ARGUMENT) << spec;
    EXPECT_THAT(lathe_last_error(), HasSubstr(std::string("bad device '") + spec + "'")) << spec;
  }
  EXPECT_EQ(tryCreate(artifact.get(), "cudaa"), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(lathe_last_error(), HasSubstr("unknown device 'cudaa' (known: cpu, vulkan[:N], cuda[:N])"));
}

TEST(CudaDeviceString, SaysClearlyWhenThereIsNoDriverOrGpu) {
  ArtifactHandle artifact = cpuOnlyArtifact();
  ASSERT_NE(artifact, nullptr) << lathe_last_error();
  if (!driverPresent()) {
    for (const char* spec : {"cuda", "cuda:0", "cuda:3", "cuda:99999999999"}) {
      EXPECT_EQ(tryCreate(artifact.get(), spec), LATHE_ERROR_UNSUPPORTED) << spec;
      EXPECT_THAT(lathe_last_error(), StartsWith("no CUDA driver (libcuda.so.1 not found): ")) << spec;
    }
    return;
  }
  const std::string reason = cudaUnavailable();
  if (reason.empty()) GTEST_SKIP() << "this machine has a CUDA GPU";
  EXPECT_THAT(reason, StartsWith("no CUDA GPU (")) << "the driver is present, so only the GPU can be missing";
}

TEST(CudaStubDriver, ReportsNoGpu) {
  if (std::getenv("LATHE_TEST_CUDA_STUB_DRIVER") == nullptr) {
    GTEST_SKIP() << "runs as the ctest cuda_stub_driver, with the CUDA toolkit's stub libcuda.so.1";
  }
  ArtifactHandle artifact = cpuOnlyArtifact();
  ASSERT_NE(artifact, nullptr) << lathe_last_error();
  EXPECT_EQ(tryCreate(artifact.get(), "cuda:1"), LATHE_ERROR_UNSUPPORTED);
  EXPECT_THAT(lathe_last_error(), StartsWith("no CUDA GPU (cuInit: "));
}

// ---- With a GPU ----------------------------------------------------------------

class CudaDevice : public ::testing::Test {
protected:
  void SetUp() override {
    SKIP_WITHOUT_CUDA_GPU();
    std::optional<AddActModel> built = builtModel();
    SKIP_WITHOUT_KERNELS(built);
    model_ = *built;
    open();
  }
  void open() {
    artifact_ = openArtifact(model_.artifact());
    ASSERT_NE(artifact_, nullptr) << lathe_last_error();
  }

  AddActModel model_;
  ArtifactHandle artifact_;
};

TEST_F(CudaDevice, MatchesTheCpuWithCubins) {
  SessionHandle cpu = createSession(artifact_.get(), "cpu");
  SessionHandle gpu = createSession(artifact_.get(), "cuda");
  ASSERT_NE(gpu, nullptr);
  const int64_t B = 3, T = 5;
  const std::vector<float> x = seededValues(B * T * C, 1), y = seededValues(B * T * C, 2);
  const std::vector<float> expected = runAddAct(cpu.get(), B, T, x, y);
  expectNear(expected, model_.reference(x, y));
  expectNear(runAddAct(gpu.get(), B, T, x, y), expected);
}

TEST_F(CudaDevice, MatchesTheCpuWithJitCompiledPtx) {
  model_.binary_cubins.clear();
  model_.unary_cubins.clear();
  model_.act = 4;  // silu
  open();
  SessionHandle cpu = createSession(artifact_.get(), "cpu");
  SessionHandle gpu = createSession(artifact_.get(), "cuda:0");
  ASSERT_NE(gpu, nullptr);
  const std::vector<float> x = seededValues(2 * 4 * C, 3), y = seededValues(2 * 4 * C, 4);
  expectNear(runAddAct(gpu.get(), 2, 4, x, y), runAddAct(cpu.get(), 2, 4, x, y));
}

TEST_F(CudaDevice, PrefersTheCubinForTheGpusArchitecture) {
  model_.unary_ptx = brokenPtx(model_.unary_ptx);  // only a cubin can make this run
  open();
  lathe_session* session = nullptr;
  if (lathe_session_create(artifact_.get(), "cuda", &session) != LATHE_OK) {
    const std::string error = lathe_last_error();
    if (error.find("(no cubin for it)") != std::string::npos) GTEST_SKIP() << "the tests built no cubin for this GPU";
    FAIL() << error;
  }
  SessionHandle gpu(session);
  const std::vector<float> x = seededValues(C, 5), y = seededValues(C, 6);
  expectNear(runAddAct(gpu.get(), 1, 1, x, y), model_.reference(x, y));
}

TEST_F(CudaDevice, ReportsTheJitLogOfPtxThatDoesNotCompile) {
  model_.unary_ptx = brokenPtx(model_.unary_ptx);
  model_.unary_cubins.clear();
  open();
  EXPECT_EQ(tryCreate(artifact_.get(), "cuda"), LATHE_ERROR_UNSUPPORTED);
  EXPECT_THAT(lathe_last_error(), HasSubstr("gpu program 'cuda' kernel 1 'unary_f32': the driver cannot compile its "
                                            "PTX for sm_"));
  EXPECT_THAT(lathe_last_error(), HasSubstr("bogus_instruction"));
}

TEST_F(CudaDevice, ReplaysGraphsAndRecordsNewShapes) {
  SessionHandle gpu = createSession(artifact_.get(), "cuda");
  ASSERT_NE(gpu, nullptr);
  // Same (B, T) three times with new inputs: launched, captured, replayed; each reads the new data.
  for (uint32_t seed : {10u, 11u, 12u}) {
    const std::vector<float> x = seededValues(2 * 3 * C, seed), y = seededValues(2 * 3 * C, seed + 100);
    expectNear(runAddAct(gpu.get(), 2, 3, x, y), model_.reference(x, y));
  }
  const std::vector<float> x1 = seededValues(1 * 5 * C, 13), y1 = seededValues(1 * 5 * C, 14);
  expectNear(runAddAct(gpu.get(), 1, 5, x1, y1), model_.reference(x1, y1));
  const std::vector<float> x2 = seededValues(2 * 3 * C, 15), y2 = seededValues(2 * 3 * C, 16);
  expectNear(runAddAct(gpu.get(), 2, 3, x2, y2), model_.reference(x2, y2));
}

TEST_F(CudaDevice, ProfilesEachDispatch) {
  SessionHandle gpu = createSession(artifact_.get(), "cuda");
  ASSERT_NE(gpu, nullptr);
  ASSERT_EQ(lathe_session_set_profiling(gpu.get(), 1), LATHE_OK) << lathe_last_error();
  for (int call = 0; call < 2; ++call) {  // the second call has a recording to replay: still profiled
    const std::vector<float> x = seededValues(3 * 5 * C, 7), y = seededValues(3 * 5 * C, 8);
    expectNear(runAddAct(gpu.get(), 3, 5, x, y), model_.reference(x, y));
    size_t count = 0;
    ASSERT_EQ(lathe_session_profile_count(gpu.get(), &count), LATHE_OK);
    ASSERT_EQ(count, 2u);
    const char* expected[2][2] = {{"sum", "Binary"}, {"act", "Unary"}};
    for (size_t i = 0; i < 2; ++i) {
      const char* name = nullptr;
      const char* kind = nullptr;
      double microseconds = -1;
      ASSERT_EQ(lathe_session_profile(gpu.get(), i, &name, &kind, &microseconds), LATHE_OK);
      EXPECT_STREQ(name, expected[i][0]);
      EXPECT_STREQ(kind, expected[i][1]);
      EXPECT_GT(microseconds, 0.0);
    }
  }
}

TEST_F(CudaDevice, NamesTheDevicesWhenTheIndexIsOutOfRange) {
  EXPECT_EQ(tryCreate(artifact_.get(), "cuda:99"), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(lathe_last_error(), StartsWith("cuda:99 out of range ("));
  EXPECT_THAT(lathe_last_error(), HasSubstr("0 '"));
}

TEST_F(CudaDevice, RefusesArtifactsWithoutCudaCode) {
  ArtifactHandle artifact = cpuOnlyArtifact();
  EXPECT_EQ(tryCreate(artifact.get(), "cuda"), LATHE_ERROR_UNSUPPORTED);
  EXPECT_THAT(lathe_last_error(), HasSubstr("--target cuda"));
}

}  // namespace
}  // namespace lathe::test
