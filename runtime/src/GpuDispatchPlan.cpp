#include "GpuDispatchPlan.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "Artifact.h"
#include "ArtifactVerifier.h"
#include "Error.h"

namespace lathe::runtime {
namespace {

template <typename T>
std::vector<T> copyVector(const flatbuffers::Vector<T>* values) {
  return values == nullptr ? std::vector<T>() : std::vector<T>(values->begin(), values->end());
}

template <typename T>
std::vector<T> copyStructs(const flatbuffers::Vector<const T*>* values) {
  std::vector<T> copy;
  if (values != nullptr) {
    for (const T* value : *values) copy.push_back(*value);
  }
  return copy;
}

Buffer* boundBuffer(const fb::BufferRef& ref, const Bindings& bindings) {
  const size_t index = static_cast<size_t>(ref.index());
  switch (ref.space()) {
    case fb::BufferSpace::Arena: return bindings.arena;
    case fb::BufferSpace::Weight: return bindings.weights[index];
    case fb::BufferSpace::Input: return bindings.inputs[index];
    case fb::BufferSpace::Output: return bindings.outputs[index];
    case fb::BufferSpace::State: return bindings.states[index];
  }
  throw Error(LATHE_ERROR_INTERNAL, "unknown buffer space in a verified artifact");
}

GpuOperand operandAt(const GpuDispatch& dispatch, size_t index, const std::vector<int64_t>& dims,
                     const Bindings& bindings) {
  const fb::BufferRef& ref = dispatch.operands[index];
  const OperandLayout& layout = dispatch.layouts[index];
  GpuOperand operand{index, boundBuffer(ref, bindings), 0, std::nullopt};
  if (ref.space() == fb::BufferSpace::Arena) operand.offset = ref.index();
  const bool table = layout.weight_shape == WeightShape::EmbeddingTable || layout.weight_shape == WeightShape::PositionTable;
  if (!table) {
    uint64_t elements = layout.fixed_elements > 0 ? static_cast<uint64_t>(layout.fixed_elements) : 1;
    for (int dim : layout.dims) elements *= static_cast<uint64_t>(dims[dim]);
    operand.bytes = elements * dtypeSize(layout.dtype);
  }
  return operand;
}

// Workgroups along each axis of `kernel` for the launch's dims.
std::array<uint32_t, 3> gridOf(const GpuDispatch& dispatch, const fb::GpuKernel& kernel,
                               const std::vector<int64_t>& grid_dims, const std::array<uint64_t, 3>& max_groups) {
  std::array<uint32_t, 3> groups{};
  for (uint32_t axis = 0; axis < 3; ++axis) {
    const fb::GridAxis& grid = *kernel.grid()->Get(axis);
    uint64_t extent = 1;
    for (size_t d = 0; d < grid_dims.size(); ++d) {
      if (grid.dims_mask() & (1u << d)) extent *= static_cast<uint64_t>(grid_dims[d]);
    }
    uint64_t count = (extent + grid.divisor() - 1) / grid.divisor();
    const uint64_t limit = std::min<uint64_t>(max_groups[axis], UINT32_MAX);
    if (count > limit) {
      if (!grid.stride_loop()) {
        throw Error(LATHE_ERROR_UNSUPPORTED, "dispatch '" + dispatch.name + "' (kernel '" + kernel.name()->str() +
                                                 "') needs " + std::to_string(count) + " workgroups along axis " +
                                                 std::to_string(axis) + "; the device allows " + std::to_string(limit));
      }
      count = limit;
    }
    groups[axis] = static_cast<uint32_t>(std::max<uint64_t>(count, 1));
  }
  return groups;
}

uint32_t paramWord(int64_t value, const GpuDispatch& dispatch) {
  if (value < INT32_MIN || value > INT32_MAX) {
    throw Error(LATHE_ERROR_UNSUPPORTED, "dispatch '" + dispatch.name + "': parameter " + std::to_string(value) +
                                             " does not fit the kernel's 32-bit parameter block");
  }
  return static_cast<uint32_t>(static_cast<int32_t>(value));
}

}  // namespace

std::vector<GpuDispatch> planGpuDispatches(const Artifact& artifact, const fb::GpuProgram& program, size_t entry_index) {
  const fb::EntryPoint& entry = artifact.entryPoint(entry_index);
  const auto& kernel_of_dispatch = *program.entries()->Get(static_cast<flatbuffers::uoffset_t>(entry_index))->kernel_of_dispatch();
  std::vector<GpuDispatch> dispatches;
  for (flatbuffers::uoffset_t d = 0; d < entry.dispatches()->size(); ++d) {
    const fb::Dispatch& dispatch = *entry.dispatches()->Get(d);
    std::vector<int64_t> ints = copyVector(dispatch.int_params());
    std::vector<OperandLayout> layouts = operandLayout(dispatch.kind(), ints);
    GpuDispatch planned{dispatch.name() ? dispatch.name()->str() : "dispatch " + std::to_string(d), dispatch.kind(),
                        copyStructs(dispatch.buffers()), std::move(layouts), copyStructs(dispatch.dims()),
                        std::move(ints), copyVector(dispatch.float_params()), {}, {}};
    // The verifier has checked that every chain ends within the program.
    for (int64_t kernel = kernel_of_dispatch.Get(d); kernel >= 0;
         kernel = program.kernels()->Get(static_cast<flatbuffers::uoffset_t>(kernel))->next_phase()) {
      planned.kernel_indices.push_back(static_cast<uint32_t>(kernel));
      planned.kernels.push_back(program.kernels()->Get(static_cast<flatbuffers::uoffset_t>(kernel)));
    }
    dispatches.push_back(std::move(planned));
  }
  return dispatches;
}

std::vector<GpuLaunch> planGpuLaunches(const std::vector<GpuDispatch>& dispatches, const Bindings& bindings,
                                       int64_t B, int64_t T, const std::array<uint64_t, 3>& max_groups) {
  std::vector<GpuLaunch> launches;
  for (size_t d = 0; d < dispatches.size(); ++d) {
    const GpuDispatch& dispatch = dispatches[d];
    std::vector<int64_t> dims;
    for (const fb::Dim& dim : dispatch.dims) dims.push_back(evaluateVerifiedDim(dim, B, T));
    // Each phase of the dispatch's kernel chain: same operands and parameters, its own grid.
    const auto add_phases = [&](const GpuLaunch& call, const std::vector<int64_t>& grid_dims) {
      for (size_t phase = 0; phase < dispatch.kernels.size(); ++phase) {
        GpuLaunch launch = call;
        launch.kernel_index = dispatch.kernel_indices[phase];
        launch.groups = gridOf(dispatch, *dispatch.kernels[phase], grid_dims, max_groups);
        launches.push_back(std::move(launch));
      }
    };
    if (dispatch.kind == fb::KernelKind::GradNorm) {
      // One launch per gradient: (hyper, norm, g_i), params [n_i, i, count].
      const int64_t count = dispatch.ints[0];
      for (int64_t i = 0; i < count; ++i) {
        GpuLaunch launch{d, 0, {}, {}, {}};
        for (size_t operand : {size_t{0}, size_t{1}, static_cast<size_t>(2 + i)}) {
          launch.operands.push_back(operandAt(dispatch, operand, dims, bindings));
        }
        launch.params = {paramWord(dims[i], dispatch), paramWord(i, dispatch), paramWord(count, dispatch)};
        add_phases(launch, {dims[i]});
      }
      continue;
    }
    GpuLaunch launch{d, 0, {}, {}, {}};
    for (size_t operand = 0; operand < dispatch.operands.size(); ++operand) {
      launch.operands.push_back(operandAt(dispatch, operand, dims, bindings));
    }
    for (int64_t value : dims) launch.params.push_back(paramWord(value, dispatch));
    for (int64_t value : dispatch.ints) launch.params.push_back(paramWord(value, dispatch));
    for (float value : dispatch.floats) {
      uint32_t bits;
      std::memcpy(&bits, &value, sizeof bits);
      launch.params.push_back(bits);
    }
    add_phases(launch, dims);
  }
  return launches;
}

std::string operandWhere(const GpuDispatch& dispatch, size_t index) {
  return "dispatch '" + dispatch.name + "' operand " + std::to_string(index) + " (" + dispatch.layouts[index].name + ")";
}

}  // namespace lathe::runtime
