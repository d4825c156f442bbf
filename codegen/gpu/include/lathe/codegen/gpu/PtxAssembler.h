// PTX -> cubin with NVIDIA's ptxas (from the CUDA toolkit), run at compile
// time so a kernel that does not assemble fails there, not on the user's GPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lathe::codegen::gpu {

/// ptxas from $CUDA_ROOT/bin when CUDA_ROOT is set, else /usr/local/cuda/bin
/// or PATH; empty with `error` set ("ptxas not found: ...") when there is none.
std::string findPtxas(std::string& error);

/// Assembles `ptx` for `arch` ("sm_90") with `ptxas`. On failure returns false
/// and sets `error` to ptxas's message.
bool assemblePtx(const std::string& ptxas, const std::string& ptx, const std::string& arch,
                 std::vector<uint8_t>& cubin, std::string& error);

}  // namespace lathe::codegen::gpu
