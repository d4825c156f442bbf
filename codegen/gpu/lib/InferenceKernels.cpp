// Inference with a KV cache: KVCacheWrite, GatherLast, RopeAt, AddPositionsAt
// (the last two share their code with Rope and AddPositions: NormKernels.cpp).
// CachedAttention is in AttentionKernels.cpp.
//
// Positions and lengths come from per-sequence inputs that the runtime checks
// before a run; KVCacheWrite and GatherLast still skip a row whose value is
// out of range rather than touch memory outside their buffers.
#include "RowKernels.h"

namespace lathe::codegen::gpu {

namespace {

/// cache(Bmax,S,Hkv,D)[b, offsets[b] + t] = x(B,T,Hkv,D)[b, t]; without
/// offsets, position t.
KernelPlan kvCacheWritePlan(bool has_offsets) {
  return rowPlan(has_offsets ? "kv_cache_write_offsets" : "kv_cache_write", {0, 1}, 0, [has_offsets](KernelBuilder& k) {
    mlir::Value cache = k.operand(0), x = k.operand(1);
    V B = k.dim(0), T = k.dim(1), row = k.dim(2) * k.dim(3), S = k.dim(5);
    forEachRow(k, B * T, [&](V r) {
      V b = r / T, t = r % T;
      V position = t;
      if (has_offsets) position = k.toIndex(k.load(k.operand(2), b)) + t;
      k.when(position >= k.index(0) && position < S, [&] {
        V target = (b * S + position) * row;
        forEachColumn(k, row, [&](V c) { k.store(k.load(x, r * row + c), cache, target + c); });
      });
    });
  });
}

/// y(B,C)[b] = x(B,T,C)[b, lengths[b] - 1]; without lengths, row T - 1.
KernelPlan gatherLastPlan(bool has_lengths) {
  return rowPlan(has_lengths ? "gather_last_lengths" : "gather_last", {0}, 0, [has_lengths](KernelBuilder& k) {
    mlir::Value x = k.operand(0), y = k.operand(has_lengths ? 2 : 1);
    V B = k.dim(0), T = k.dim(1), C = k.dim(2);
    forEachRow(k, B, [&](V b) {
      V length = T;
      if (has_lengths) length = k.toIndex(k.load(k.operand(1), b));
      k.when(length >= k.index(1) && length <= T, [&] {
        V source = (b * T + length - int64_t{1}) * C;
        forEachColumn(k, C, [&](V c) { k.store(k.load(x, source + c), y, b * C + c); });
      });
    });
  });
}

}  // namespace

KernelPlan planInferenceKernel(const DispatchShape& shape, const GpuLimits&) {
  using fb::KernelKind;
  switch (shape.kind) {
    case KernelKind::KVCacheWrite: return kvCacheWritePlan(shape.ints[0] == 1);
    case KernelKind::GatherLast: return gatherLastPlan(shape.ints[0] == 1);
    case KernelKind::RopeAt: return planRopeKernel(true);
    case KernelKind::AddPositionsAt: return planAddPositionsKernel(true, shape.ints[0] == 1);
    default: return {};
  }
}

}  // namespace lathe::codegen::gpu
