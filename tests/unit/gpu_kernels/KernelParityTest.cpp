// Each GPU kernel variant against the cpu kernel of the same dispatch, on
// random data with ragged sizes. Runs on lavapipe in CI. Cases live per kernel
// family in *Parity.cpp files.
#include <gtest/gtest.h>

#include <cstdlib>

#include "KernelParity.h"

namespace lathe::test {
namespace {

std::string gpuDevice() {
  const char* device = std::getenv("LATHE_PARITY_DEVICE");
  return device ? device : "vulkan";
}

TEST_P(KernelParity, MatchesCpu) {
  const std::string mismatch = runParity(GetParam(), gpuDevice());
  EXPECT_EQ(mismatch, "");
}

}  // namespace
}  // namespace lathe::test
