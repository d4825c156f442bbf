// The parameterized parity test: each *Parity.cpp instantiates it with the
// cases of one kernel family.
#pragma once

#include <gtest/gtest.h>

#include "ParityHarness.h"

namespace lathe::test {

class KernelParity : public ::testing::TestWithParam<KernelCase> {};

/// gtest prints a parameter with this (not as raw bytes in test listings).
inline void PrintTo(const KernelCase& c, std::ostream* os) { *os << c.label; }

inline std::string caseName(const ::testing::TestParamInfo<KernelCase>& info) { return info.param.label; }

}  // namespace lathe::test
