// Kernels that give each workgroup whole rows (norms, embeddings, positions,
// KV-cache copies): the loop shapes they share, and the position kernels that
// both NormKernels.cpp (Rope, AddPositions) and InferenceKernels.cpp (RopeAt,
// AddPositionsAt) plan.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "lathe/codegen/gpu/GpuKernels.h"

namespace lathe::codegen::gpu {

/// Invocations per workgroup of row kernels.
constexpr uint32_t kRowWorkgroup = 256;

/// One workgroup per row, rows = the product of `row_dims`; the grid may be
/// capped, so bodies loop over rows with forEachRow.
inline KernelPlan rowPlan(std::string name, std::vector<int> row_dims, int64_t shared_bytes,
                          std::function<void(KernelBuilder&)> body) {
  KernelPlan plan;
  plan.name = std::move(name);
  plan.workgroup = {kRowWorkgroup, 1, 1};
  plan.grid[0] = {std::move(row_dims), 1, /*stride_loop=*/true};
  plan.shared_bytes = shared_bytes;
  plan.body = std::move(body);
  return plan;
}

/// body(row) for the rows of this workgroup. The bounds are uniform across
/// the workgroup, so bodies may contain barriers.
inline void forEachRow(KernelBuilder& k, V rows, const std::function<void(V)>& body) {
  k.loop(k.blockId(), rows, k.gridDim(), body);
}

/// body(c) for every c in [0, n), spread over the workgroup's invocations.
inline void forEachColumn(KernelBuilder& k, V n, const std::function<void(V)>& body) {
  k.loop(k.threadId(), n, k.index(kRowWorkgroup), body);
}

/// Rope (at = false: positions 0..T-1) or RopeAt (position offsets[b] + t);
/// inverse: the rotation by -angle, RopeGrad (at = false only).
KernelPlan planRopeKernel(bool at, bool inverse = false);
/// AddPositions or AddPositionsAt, with a learned table or sinusoids.
KernelPlan planAddPositionsKernel(bool at, bool sinusoidal);

}  // namespace lathe::codegen::gpu
