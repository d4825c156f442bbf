// The artifact schema version the compiler writes and the runtime accepts.
// Bump on every incompatible change to artifact.fbs; the runtime refuses newer artifacts.
#pragma once

#include <cstdint>

namespace lathe::fb {

// 2: states and KV-cache kernels; 3: training kernels and state kinds; 4: GPU programs;
// 5: GPU dispatches as chains of kernels (GpuKernel.next_phase), which a version-4 runtime would cut short.
constexpr uint32_t kSchemaVersion = 5;

}  // namespace lathe::fb
