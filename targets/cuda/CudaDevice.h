// The CUDA backend of the runtime's device abstraction (runtime/src/Device.h):
// runs each dispatch through the kernel the artifact's "cuda" GpuProgram holds
// for it (the cubin for the GPU's architecture, else its PTX, JIT-compiled by
// the driver), through the driver API opened at run time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "Device.h"

namespace lathe::runtime {

/// The GPU with ordinal `index`; `spec` ("cuda", "cuda:1") names it in errors.
std::unique_ptr<Device> makeCudaDevice(int64_t index, const std::string& spec);

}  // namespace lathe::runtime
