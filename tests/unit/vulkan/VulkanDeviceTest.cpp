// The Vulkan device through the public C and C++ APIs: results against the
// cpu device on the same artifact, device selection, refusals, command-buffer
// replay and profiling. ctest runs these with LATHE_VULKAN_VALIDATION=1, so
// any validation error fails the run that caused it.
#include <cstring>

#include "VulkanArtifacts.h"
#include "lathe/lathe.hpp"

namespace lathe::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t C = AddActModel::kChannels;

class VulkanDevice : public ::testing::Test {
protected:
  void SetUp() override {
    artifact_ = openArtifact(model_.artifact());
    ASSERT_NE(artifact_, nullptr) << lathe_last_error();
  }

  AddActModel model_;
  ArtifactHandle artifact_;
};

TEST_F(VulkanDevice, MatchesTheCpuOnTheSameArtifact) {
  SessionHandle cpu = createSession(artifact_.get(), "cpu");
  SessionHandle gpu = createSession(artifact_.get(), "vulkan");
  ASSERT_NE(gpu, nullptr);
  const int64_t B = 3, T = 5;
  const std::vector<float> x = seededValues(B * T * C, 1), y = seededValues(B * T * C, 2);
  const std::vector<float> expected = runAddAct(cpu.get(), B, T, x, y);
  expectNear(expected, model_.reference(x, y));
  expectNear(runAddAct(gpu.get(), B, T, x, y), expected);
}

TEST_F(VulkanDevice, RunsSiluLikeTheCpu) {
  model_.act = 4;
  artifact_ = openArtifact(model_.artifact());
  SessionHandle cpu = createSession(artifact_.get(), "cpu");
  SessionHandle gpu = createSession(artifact_.get(), "vulkan:0");
  ASSERT_NE(gpu, nullptr);
  const std::vector<float> x = seededValues(2 * 4 * C, 3), y = seededValues(2 * 4 * C, 4);
  expectNear(runAddAct(gpu.get(), 2, 4, x, y), runAddAct(cpu.get(), 2, 4, x, y));
}

TEST_F(VulkanDevice, ReplaysRecordedCallsAndRecordsNewShapes) {
  SessionHandle gpu = createSession(artifact_.get(), "vulkan");
  ASSERT_NE(gpu, nullptr);
  // Same (B, T) twice with new inputs: the replayed commands read the new data.
  for (uint32_t seed : {10u, 11u}) {
    const std::vector<float> x = seededValues(2 * 3 * C, seed), y = seededValues(2 * 3 * C, seed + 100);
    expectNear(runAddAct(gpu.get(), 2, 3, x, y), model_.reference(x, y));
  }
  // A new shape is recorded anew, and the old one still replays correctly.
  const std::vector<float> x1 = seededValues(1 * 5 * C, 12), y1 = seededValues(1 * 5 * C, 13);
  expectNear(runAddAct(gpu.get(), 1, 5, x1, y1), model_.reference(x1, y1));
  const std::vector<float> x2 = seededValues(2 * 3 * C, 14), y2 = seededValues(2 * 3 * C, 15);
  expectNear(runAddAct(gpu.get(), 2, 3, x2, y2), model_.reference(x2, y2));
}

TEST_F(VulkanDevice, SelectsDevicesByIndexAndName) {
  lathe_session* session = nullptr;
  EXPECT_EQ(lathe_session_create(artifact_.get(), "vulkan:7", &session), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(lathe_last_error(), StartsWith("vulkan:7 out of range ("));
  EXPECT_THAT(lathe_last_error(), HasSubstr("0 '"));
  EXPECT_EQ(lathe_session_create(artifact_.get(), "vulkan:no such gpu", &session), LATHE_ERROR_NOT_FOUND);
  EXPECT_THAT(lathe_last_error(), HasSubstr("no Vulkan device named like 'no such gpu'"));
  EXPECT_EQ(lathe_session_create(artifact_.get(), "vulkan:", &session), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(lathe_last_error(), HasSubstr("bad device 'vulkan:'"));
  EXPECT_EQ(session, nullptr);
}

TEST_F(VulkanDevice, SelectsLavapipeByName) {
  lathe_session* session = nullptr;
  if (lathe_session_create(artifact_.get(), "vulkan:llvmpipe", &session) == LATHE_ERROR_NOT_FOUND) {
    GTEST_SKIP() << "no lavapipe device: " << lathe_last_error();
  }
  SessionHandle gpu(session);
  ASSERT_NE(gpu, nullptr) << lathe_last_error();
  const std::vector<float> x = seededValues(C, 5), y = seededValues(C, 6);
  expectNear(runAddAct(gpu.get(), 1, 1, x, y), model_.reference(x, y));
}

TEST_F(VulkanDevice, RefusesArtifactsWithoutVulkanCode) {
  fb::ArtifactT cpu_only = model_.artifact();
  cpu_only.target = "cpu";
  cpu_only.gpu_programs.clear();
  ArtifactHandle artifact = openArtifact(cpu_only);
  ASSERT_NE(artifact, nullptr) << lathe_last_error();
  lathe_session* session = nullptr;
  EXPECT_EQ(lathe_session_create(artifact.get(), "vulkan", &session), LATHE_ERROR_UNSUPPORTED);
  EXPECT_THAT(lathe_last_error(), HasSubstr("compile with --target vulkan"));
}

TEST_F(VulkanDevice, RefusesKernelsNeedingCapabilitiesTheDeviceLacks) {
  fb::ArtifactT artifact = model_.artifact();
  artifact.gpu_programs[0]->kernels[1] = makeKernel("unary_clustered", "clustered", 32, false, 3,
                                                    {"Shader", "GroupNonUniform", "GroupNonUniformClustered"});
  ArtifactHandle handle = openArtifact(artifact);
  ASSERT_NE(handle, nullptr) << lathe_last_error();
  lathe_session* session = nullptr;
  const lathe_status status = lathe_session_create(handle.get(), "vulkan:llvmpipe", &session);
  if (status == LATHE_ERROR_NOT_FOUND) GTEST_SKIP() << "lavapipe (which lacks clustered subgroup operations) is absent";
  EXPECT_EQ(status, LATHE_ERROR_UNSUPPORTED);
  EXPECT_THAT(lathe_last_error(),
              HasSubstr("gpu program 'vulkan' kernel 1 'unary_clustered' needs capability GroupNonUniformClustered "
                        "(subgroup clustered operations in compute shaders), which the device lacks"));
  EXPECT_EQ(session, nullptr);
}

TEST_F(VulkanDevice, RefusesCapabilitiesTheRuntimeDoesNotEnable) {
  fb::ArtifactT artifact = model_.artifact();
  artifact.gpu_programs[0]->kernels[1]->capabilities.push_back("CooperativeMatrixKHR");
  ArtifactHandle handle = openArtifact(artifact);
  ASSERT_NE(handle, nullptr) << lathe_last_error();
  lathe_session* session = nullptr;
  EXPECT_EQ(lathe_session_create(handle.get(), "vulkan", &session), LATHE_ERROR_UNSUPPORTED);
  EXPECT_THAT(lathe_last_error(), HasSubstr("kernel 1 'unary_f32' needs capability CooperativeMatrixKHR, which the "
                                            "Lathe Vulkan runtime does not enable"));
}

TEST_F(VulkanDevice, ProfilesEachDispatchThroughTheCApi) {
  SessionHandle gpu = createSession(artifact_.get(), "vulkan");
  ASSERT_NE(gpu, nullptr);
  size_t count = 99;
  ASSERT_EQ(lathe_session_profile_count(gpu.get(), &count), LATHE_OK);
  EXPECT_EQ(count, 0u);
  ASSERT_EQ(lathe_session_set_profiling(gpu.get(), 1), LATHE_OK) << lathe_last_error();
  const std::vector<float> x = seededValues(3 * 5 * C, 7), y = seededValues(3 * 5 * C, 8);
  expectNear(runAddAct(gpu.get(), 3, 5, x, y), model_.reference(x, y));
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
  EXPECT_EQ(lathe_session_profile(gpu.get(), 2, nullptr, nullptr, nullptr), LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(lathe_last_error(), HasSubstr("profile index 2 is out of range (2 dispatches)"));
}

TEST_F(VulkanDevice, ProfilesTheCpuThroughTheCppApi) {
  const std::vector<uint8_t> bytes = pack(model_.artifact());
  lathe::Artifact artifact = lathe::Artifact::fromMemory(bytes.data(), bytes.size());
  lathe::Session session(artifact, "cpu");
  session.setProfiling(true);
  const std::vector<float> x = seededValues(2 * 2 * C, 9), y = seededValues(2 * 2 * C, 10);
  session.setInput<float>("forward", "x", {2, 2, C}, x);
  session.setInput<float>("forward", "y", {2, 2, C}, y);
  session.run();
  const std::vector<lathe::DispatchTime> profile = session.profile();
  ASSERT_EQ(profile.size(), 2u);
  EXPECT_EQ(profile[0].name, "sum");
  EXPECT_EQ(profile[0].kind, "Binary");
  EXPECT_EQ(profile[1].name, "act");
  EXPECT_EQ(profile[1].kind, "Unary");
  for (const lathe::DispatchTime& time : profile) EXPECT_GE(time.microseconds, 0.0);
  expectNear(session.output<float>("forward", "out"), model_.reference(x, y));
}

}  // namespace
}  // namespace lathe::test
