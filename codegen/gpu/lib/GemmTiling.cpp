#include "GemmTiling.h"

#include "KernelMath.h"

namespace lathe::codegen::gpu {

std::pair<V, V> slabElement(const ProductOperand& operand, const SlabShape& slab, V tid, int64_t l) {
  V group = tid + (l / slab.width) * slab.threads;  // which run of `width` adjacent elements
  const int64_t lane = l % slab.width;
  if (operand.k_contiguous) {
    const int64_t per_row = slab.depth / slab.width;
    return {group % per_row * slab.width + lane, group / per_row};
  }
  const int64_t per_column = slab.tile / slab.width;
  return {group / per_column, group % per_column * slab.width + lane};
}

std::vector<V> fetchSlab(KernelBuilder& k, const ProductOperand& operand, const SlabShape& slab, V start, V k0, V K,
                         V tid) {
  std::vector<V> values;
  for (int64_t l = 0; l < slab.loadsPerInvocation(); l += slab.width) {
    auto [kk, r] = slabElement(operand, slab, tid, l);
    V row = start + r, col = k0 + kk;
    V inside = row < operand.extent && col < K;
    V address = k.select(inside, operand.k_contiguous ? row * operand.row_stride + col : col * operand.row_stride + row,
                         k.index(0));
    if (slab.width == 1) {
      values.push_back(k.select(inside, k.load(operand.buffer, address), k.f32(0.0)));
      continue;
    }
    for (const V& value : k.load4(operand.buffer, address)) values.push_back(k.select(inside, value, k.f32(0.0)));
  }
  return values;
}

namespace {

const char* const kActNames[] = {"none", "gelu", "gelu_tanh", "relu", "silu"};
constexpr int64_t kActCount = sizeof(kActNames) / sizeof(kActNames[0]);

}  // namespace

bool GemmVariant::read(const std::vector<int64_t>& ints) {
  if (ints.size() != 4 || ints[1] < 0 || ints[1] >= kActCount) return false;
  trans_b = ints[0] == 1;
  act = ints[1];
  has_bias = ints[2] == 1;
  has_residual = ints[3] == 1;
  return true;
}

std::string GemmVariant::name() const {
  std::string name = std::string(trans_b ? "nt_" : "nn_") + kActNames[act];
  if (has_bias) name += "_bias";
  if (has_residual) name += "_residual";
  return name;
}

void GemmVariant::store(KernelBuilder& k, V N, V row, V col, V value) const {
  if (has_bias) value = value + k.load(k.operand(3), col);
  value = activate(k, act, value);
  V at = row * N + col;
  if (has_residual) value = value + k.load(k.operand(has_bias ? 4 : 3), at);
  k.store(value, k.operand(2), at);
}

}  // namespace lathe::codegen::gpu
