// A fixture that runs each test once per kernel build (INSTANTIATE_TEST_SUITE_P
// with Values("avx512", "portable")); the AVX-512 one is skipped on CPUs without it.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "Internal.h"
#include "ThreadPool.h"
#include "TrainingInternal.h"

namespace lathe::cpu {

class KernelBuildTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    if (GetParam() == "avx512" && !detail::cpuHasAvx512()) GTEST_SKIP() << "CPU has no AVX-512";
    detail::forcePortableKernels(GetParam() == "portable");
    ASSERT_EQ(std::string(detail::activeKernels().name), GetParam());
    ASSERT_EQ(std::string(detail::activeTrainingKernels().name), GetParam());
  }
  void TearDown() override { detail::forcePortableKernels(false); }
  ThreadPool pool{2};
};

}  // namespace lathe::cpu
