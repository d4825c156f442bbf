// Argument checks shared by the public kernel entry points: a bad argument is
// a std::invalid_argument naming the kernel and the parameter.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "Kernels.h"

namespace lathe::cpu::detail {

[[noreturn]] inline void fail(const char* kernel, const std::string& what) {
  throw std::invalid_argument(std::string("lathe::cpu::") + kernel + ": " + what);
}

inline void requireNonNegative(const char* kernel, const char* name, int64_t value) {
  if (value < 0) fail(kernel, std::string(name) + " must be >= 0, got " + std::to_string(value));
}

inline void requirePointer(const char* kernel, const char* name, const void* p) {
  if (p == nullptr) fail(kernel, std::string(name) + " is null");
}

inline void requireAtLeast(const char* kernel, const char* name, int64_t value, const char* bound_name,
                           int64_t bound) {
  if (value < bound)
    fail(kernel, std::string(name) + " (" + std::to_string(value) + ") must be >= " + bound_name + " (" +
                     std::to_string(bound) + ")");
}

inline void requireAct(const char* kernel, Act act) {
  int32_t value = static_cast<int32_t>(act);
  if (value < static_cast<int32_t>(Act::None) || value > static_cast<int32_t>(Act::Silu))
    fail(kernel, "unknown activation " + std::to_string(value));
}

/// Checks rope's (and its backward's) arguments; false when there is nothing to rotate.
inline bool checkRopeArgs(const char* kernel, const char* name, const float* x, int64_t B, int64_t T, int64_t H,
                          int64_t D, float theta, int64_t pos_offset) {
  requireNonNegative(kernel, "B", B);
  requireNonNegative(kernel, "T", T);
  requireNonNegative(kernel, "H", H);
  requireNonNegative(kernel, "D", D);
  requireNonNegative(kernel, "pos_offset", pos_offset);
  if (D % 2 != 0) fail(kernel, "head dim D must be even, got " + std::to_string(D));
  if (!(theta > 0)) fail(kernel, "theta must be > 0, got " + std::to_string(theta));
  if (B == 0 || T == 0 || H == 0 || D == 0) return false;
  requirePointer(kernel, name, x);
  return true;
}

}  // namespace lathe::cpu::detail
