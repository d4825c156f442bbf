// Which cubin a GPU loads (targets/cuda/CubinChoice.h): CUDA's binary
// compatibility within a major version, never across majors or into "a" archs.
#include <gtest/gtest.h>

#include "CubinChoice.h"

namespace lathe::runtime::cu {
namespace {

const std::vector<std::string> kBuilt = {"sm_80", "sm_90"};

TEST(CubinChoice, PrefersTheExactArchitecture) {
  EXPECT_EQ(chooseCubin(kBuilt, "sm_80"), 0u);
  EXPECT_EQ(chooseCubin(kBuilt, "sm_90"), 1u);
}

TEST(CubinChoice, RunsAnOlderMinorOfTheSameMajor) {
  EXPECT_EQ(chooseCubin(kBuilt, "sm_86"), 0u);
  EXPECT_EQ(chooseCubin(kBuilt, "sm_89"), 0u);
  EXPECT_EQ(chooseCubin({"sm_80", "sm_86", "sm_90"}, "sm_89"), 1u);  // the newest that runs
}

TEST(CubinChoice, NeverCrossesMajorsOrUsesArchSpecificCubins) {
  EXPECT_EQ(chooseCubin(kBuilt, "sm_75"), std::nullopt);   // older GPU: JIT the PTX
  EXPECT_EQ(chooseCubin(kBuilt, "sm_100"), std::nullopt);  // newer major: JIT the PTX
  EXPECT_EQ(chooseCubin({"sm_90a"}, "sm_90"), std::nullopt);
  EXPECT_EQ(chooseCubin({"sm_90a"}, "sm_90a"), 0u);
  EXPECT_EQ(chooseCubin({"sm_86"}, "sm_80"), std::nullopt);  // a newer minor does not run on an older one
}

TEST(CubinChoice, ParsesOnlyWellFormedNames) {
  EXPECT_EQ(smNumber("sm_120"), 120);
  EXPECT_EQ(smNumber("sm_"), std::nullopt);
  EXPECT_EQ(smNumber("compute_80"), std::nullopt);
  EXPECT_EQ(smNumber("sm_9x"), std::nullopt);
}

}  // namespace
}  // namespace lathe::runtime::cu
