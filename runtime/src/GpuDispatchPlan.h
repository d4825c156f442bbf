// The kernel launches a GPU backend makes for one call of an entry point: the
// dispatches of a "vulkan" or "cuda" GpuProgram copied out of the artifact and
// evaluated at the call's B and T into operand extents, parameter blocks and
// grids (binding convention: runtime/schema/artifact.fbs, "GPU targets").
// Shared by targets/vulkan and targets/cuda so both read the artifact alike.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "Device.h"
#include "KernelLayout.h"
#include "artifact_generated.h"

namespace lathe::runtime {

/// A dispatch copied out of the FlatBuffer, with the kernel that runs it.
struct GpuDispatch {
  std::string name;
  fb::KernelKind kind;
  std::vector<fb::BufferRef> operands;
  std::vector<OperandLayout> layouts;
  std::vector<fb::Dim> dims;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  /// The kernels that run it, in order: the first and its next_phase chain.
  std::vector<uint32_t> kernel_indices;
  std::vector<const fb::GpuKernel*> kernels;
};

/// The dispatches of entry point `entry` with their kernels in `program`
/// (a program of `artifact`, verified with it).
std::vector<GpuDispatch> planGpuDispatches(const Artifact& artifact, const fb::GpuProgram& program, size_t entry);

/// Where one operand of a launch lies in the buffer bound to it.
struct GpuOperand {
  size_t index;     // the dispatch's operand
  Buffer* buffer;   // as bound by the call
  uint64_t offset;  // the arena offset; 0 in the other spaces
  /// Bytes the operand spans at the call's dims; nullopt for embedding and
  /// position tables, which span the rest of their buffer.
  std::optional<uint64_t> bytes;
};

/// One kernel launch: a dispatch, or one gradient of a GradNorm, or one
/// phase of either when its kernel chains more (GpuKernel.next_phase).
struct GpuLaunch {
  size_t dispatch;
  uint32_t kernel_index;             // in the program's kernels
  std::vector<GpuOperand> operands;  // in binding order
  std::vector<uint32_t> params;      // the parameter block's 32-bit words
  std::array<uint32_t, 3> groups;    // workgroups (CUDA: blocks) per axis
};

/// The launches of one call at (B, T), in the order they must run, each after
/// a full memory barrier on the one before. max_groups: the device's limit per
/// axis; stride-loop kernels are clamped to it, others that exceed it throw
/// LATHE_ERROR_UNSUPPORTED naming the dispatch. So does a parameter that does
/// not fit 32 bits.
std::vector<GpuLaunch> planGpuLaunches(const std::vector<GpuDispatch>& dispatches, const Bindings& bindings,
                                       int64_t B, int64_t T, const std::array<uint64_t, 3>& max_groups);

/// "dispatch 'sum' operand 2 (y)", for error messages.
std::string operandWhere(const GpuDispatch& dispatch, size_t index);

}  // namespace lathe::runtime
