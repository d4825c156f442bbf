// The CPU backend of the runtime's device abstraction (runtime/src/Device.h).
#pragma once

#include <memory>

#include "Device.h"

namespace lathe::runtime {

/// num_threads 0: one per hardware thread. The device owns one ThreadPool
/// that all its runs share.
std::unique_ptr<Device> makeCpuDevice(int num_threads = 0);

}  // namespace lathe::runtime
