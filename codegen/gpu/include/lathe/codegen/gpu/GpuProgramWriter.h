// The GpuProgram table of an artifact (runtime/schema/artifact.fbs) for one
// GPU target: one kernel per distinct dispatch variant, lowered for the target.
#pragma once

#include <string>
#include <vector>

#include "flatbuffers/flatbuffers.h"
#include "lathe/codegen/gpu/GpuKernels.h"

namespace lathe::codegen::gpu {

struct EntryDispatches {
  std::string entry;
  std::vector<DispatchShape> shapes;
  std::vector<std::string> names;  // Dispatch.name, for errors
};

/// Writes the program for `target` ("vulkan"). On failure returns a null
/// offset and sets `error` to a message naming the entry point and dispatch.
flatbuffers::Offset<fb::GpuProgram> writeGpuProgram(flatbuffers::FlatBufferBuilder& fbb, const std::string& target,
                                                    const std::vector<EntryDispatches>& entries, std::string& error);

}  // namespace lathe::codegen::gpu
