#include "SubgroupMatrix.h"

#include <cassert>

namespace lathe::codegen::gpu {

using namespace mlir;

namespace {

constexpr int64_t kPerLane = SubgroupMatrix::kRows * SubgroupMatrix::kRows / SubgroupMatrix::kSubgroup;  // 8

mlir::gpu::MMAMatrixType matrixType(OpBuilder& b, MatrixRole role) {
  switch (role) {
    case MatrixRole::A: return mlir::gpu::MMAMatrixType::get({16, 8}, b.getF32Type(), "AOp");
    case MatrixRole::B: return mlir::gpu::MMAMatrixType::get({8, 16}, b.getF32Type(), "BOp");
    case MatrixRole::C: break;
  }
  return mlir::gpu::MMAMatrixType::get({16, 16}, b.getF32Type(), "COp");
}

UnitAttr flag(OpBuilder& b, bool set) { return set ? b.getUnitAttr() : UnitAttr(); }

}  // namespace

V SubgroupMatrix::lane() { return k_.threadId() % kSubgroup; }

Matrix SubgroupMatrix::load(MatrixRole role, Value memref, V offset, int64_t lead, bool transposed) {
  assert(role != MatrixRole::C && lead % kLeadAlignment == 0);
  Matrix matrix{role, transposed, {}};
  OpBuilder& b = k_.builder();
  if (!emulated_) {
    Value tile = mlir::gpu::SubgroupMmaLoadMatrixOp::create(b, k_.loc(), matrixType(b, role), memref,
                                                            ValueRange{offset.value}, b.getIndexAttr(lead),
                                                            flag(b, transposed));
    matrix.values.push_back(k_.wrap(tile));
    return matrix;
  }
  matrix.memref = memref;
  matrix.offset = offset;
  matrix.lead = lead;
  return matrix;
}

V SubgroupMatrix::element(const Matrix& tile, V row, V column) {
  V at = tile.transposed ? tile.offset + column * tile.lead + row : tile.offset + row * tile.lead + column;
  return k_.load(tile.memref, at);
}

Matrix SubgroupMatrix::zero() {
  OpBuilder& b = k_.builder();
  if (!emulated_) {
    Value tile = mlir::gpu::SubgroupMmaConstantMatrixOp::create(b, k_.loc(), matrixType(b, MatrixRole::C),
                                                                k_.f32(0.0).value);
    return {MatrixRole::C, false, {k_.wrap(tile)}};
  }
  return {MatrixRole::C, false, std::vector<V>(kPerLane, k_.f32(0.0))};
}

Matrix SubgroupMatrix::multiplyAdd(const Matrix& a, const Matrix& b, const Matrix& c) {
  assert(a.role == MatrixRole::A && b.role == MatrixRole::B && c.role == MatrixRole::C);
  OpBuilder& builder = k_.builder();
  if (!emulated_) {
    Value tile = mlir::gpu::SubgroupMmaComputeOp::create(builder, k_.loc(), matrixType(builder, MatrixRole::C),
                                                         a.values[0].value, b.values[0].value, c.values[0].value,
                                                         flag(builder, a.transposed), flag(builder, b.transposed));
    return {MatrixRole::C, false, {k_.wrap(tile)}};
  }
  // C(e / 16, e % 16) += sum over kk of A(e / 16, kk) B(kk, e % 16), e = lane + 32r:
  // this lane's rows of A and column of B, in increasing kk.
  V l = lane();
  std::vector<V> sums = k_.loop(k_.index(0), k_.index(kDepth), k_.index(1), c.values, [&](V kk, const std::vector<V>& in) {
    V b_value = element(b, kk, l % 16);
    std::vector<V> out;
    for (int64_t r = 0; r < kPerLane; ++r) out.push_back(in[r] + element(a, l / 16 + 2 * r, kk) * b_value);
    return out;
  });
  return {MatrixRole::C, false, sums};
}

void SubgroupMatrix::store(const Matrix& c, Value memref, V offset, int64_t lead) {
  assert(c.role == MatrixRole::C && lead % kLeadAlignment == 0);
  OpBuilder& b = k_.builder();
  if (!emulated_) {
    mlir::gpu::SubgroupMmaStoreMatrixOp::create(b, k_.loc(), c.values[0].value, memref, ValueRange{offset.value},
                                                b.getIndexAttr(lead), UnitAttr());
    return;
  }
  V l = lane();
  for (int64_t r = 0; r < kPerLane; ++r) {
    V e = l + r * kSubgroup;
    k_.store(c.values[r], memref, offset + (e / 16) * lead + e % 16);
  }
}

Matrix SubgroupMatrix::carried(const std::vector<V>& values, size_t first) const {
  return {MatrixRole::C, false, {values.begin() + first, values.begin() + first + carriedCount()}};
}

}  // namespace lathe::codegen::gpu
