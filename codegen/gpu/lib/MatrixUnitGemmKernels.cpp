// Gemm and GemmWeightGrad on subgroup matrix units (tensor cores on CUDA;
// SubgroupMatrix.h), the same products as GemmKernels.cpp's tiled kernels.
//
// A workgroup of 256 invocations (8 subgroups of 32) computes a 128x128 tile
// of C. Subgroup w owns the 64x32 block at rows 64 (w / 4), columns 32 (w % 4):
// 4x2 C tiles of 16x16 kept in matrix registers. K is consumed in 8-deep slabs
// staged in workgroup memory; the next slab is fetched into registers while the
// current one is multiplied, 16 bytes per load when both operands' rows are
// 16-byte aligned (row strides multiples of 4; one uniform branch picks).
//
// Precision. Matrix units multiply TF32 operands (10-bit mantissa). For fp32
// results (MatmulPrecision::Fp32) each operand is split, x = big + small, with
// big = x with its low 13 mantissa bits cleared and small = TF32(x - big), and
// C += a_small b_big + a_big b_small + a_big b_big: the dropped a_small b_small
// is below 2^-20 relative, so the result is close to an fp32 product's, at a
// third of the TF32 rate (still several times the scalar fp32 rate). fp16
// operands (weights stored as fp16) are exact in TF32 and have no small part.
// MatmulPrecision::Tf32 rounds x to TF32 and takes one product.
//
// Workgroup memory: one slab per operand part, (128, 8) with pitch 12 when K
// is contiguous in the operand, (8, 128) with pitch 132 when K is outermost.
// The pitches keep every tile's start 32 bytes aligned and its lead a multiple
// of 16 bytes (wmma's rules) and move successive rows to other banks. The
// epilogue stages each C tile through the first slab, 256 floats per subgroup.
#include <algorithm>

#include "GemmTiling.h"
#include "KernelMath.h"
#include "SubgroupMatrix.h"
#include "lathe/codegen/gpu/GpuKernels.h"

namespace lathe::codegen::gpu {

namespace {

constexpr int64_t kTile = 128;                                   // BM = BN
constexpr int64_t kDepth = SubgroupMatrix::kDepth;               // BK = 8
constexpr int64_t kThreads = 256;
constexpr int64_t kSubgroups = kThreads / SubgroupMatrix::kSubgroup;  // 8, as 2 x 4
constexpr int64_t kSubgroupColumns = 4;
constexpr int64_t kBlockRows = 64, kBlockColumns = 32;           // one subgroup's block of C
constexpr int64_t kTileRows = kBlockRows / SubgroupMatrix::kRows;      // 4
constexpr int64_t kTileColumns = kBlockColumns / SubgroupMatrix::kRows;  // 2
constexpr int64_t kContiguousPitch = kDepth + 4;                 // (128, 8) slabs
constexpr int64_t kOutermostPitch = kTile + 4;                   // (8, 128) slabs
constexpr int64_t kSlabFloats = std::max(kTile * kContiguousPitch, kDepth * kOutermostPitch);
constexpr int64_t kCTileFloats = SubgroupMatrix::kRows * SubgroupMatrix::kRows;
constexpr int64_t kStagingFloats = kSubgroups * kCTileFloats;   // the epilogue's, in the first slab
constexpr int64_t kSlabAlignment = SubgroupMatrix::kOffsetAlignment * sizeof(float);  // bytes

static_assert(kContiguousPitch % SubgroupMatrix::kLeadAlignment == 0 &&
                  kOutermostPitch % SubgroupMatrix::kLeadAlignment == 0,
              "leads must be 16-byte multiples");
static_assert((SubgroupMatrix::kRows * kContiguousPitch) % SubgroupMatrix::kOffsetAlignment == 0 &&
                  SubgroupMatrix::kRows % SubgroupMatrix::kOffsetAlignment == 0,
              "every tile of a slab must start 32 bytes aligned");

/// TF32 keeps the top 19 bits of an f32: sign, exponent, 10 mantissa bits.
constexpr int64_t kTf32Mask = -8192;       // 0xFFFFE000 as an i32
constexpr int64_t kTf32HalfUlp = 0x1000;

V truncateToTf32(KernelBuilder& k, V x) { return k.bitsToFloat(k.bitAnd(k.floatToBits(x), k.i32(kTf32Mask))); }

/// Round to nearest, ties away from zero (as cvt.rna.tf32.f32): adding half a
/// TF32 ulp to the magnitude bits carries into the kept bits.
V roundToTf32(KernelBuilder& k, V x) {
  return k.bitsToFloat(k.bitAnd(k.floatToBits(x) + k.i32(kTf32HalfUlp), k.i32(kTf32Mask)));
}

/// A staged operand: its slabs in workgroup memory (`small` is null when the
/// operand is taken in one part) and how its tiles are read from them.
struct StagedOperand {
  ProductOperand source;
  SlabShape slab;
  mlir::Value big, small;

  int64_t pitch() const { return source.k_contiguous ? kContiguousPitch : kOutermostPitch; }
  /// Element of the slab holding (kk, r): row r of the C tile's rows (or columns), depth kk.
  V slabIndex(V kk, V r) const { return source.k_contiguous ? r * kContiguousPitch + kk : kk * kOutermostPitch + r; }
  /// Where the matrix tile starting at row (or column) `first` of the C tile begins.
  V tileOffset(V first) const { return source.k_contiguous ? first * kContiguousPitch : first; }

  /// Writes fetchSlab's values, split or rounded for the matrix units.
  void store(KernelBuilder& k, const std::vector<V>& values, V tid, MatmulPrecision precision) const {
    for (int64_t l = 0; l < slab.loadsPerInvocation(); ++l) {
      auto [kk, r] = slabElement(source, slab, tid, l);
      V at = slabIndex(kk, r);
      if (!small) {
        k.store(precision == MatmulPrecision::Tf32 ? roundToTf32(k, values[l]) : values[l], big, at);
        continue;
      }
      V high = truncateToTf32(k, values[l]);
      k.store(high, big, at);
      k.store(roundToTf32(k, values[l] - high), small, at);
    }
  }
};

/// The matrix tiles a subgroup reads from one staged slab: A's are column-major
/// when K is outermost in A, B's when K is contiguous in B.
struct OperandTiles {
  std::vector<Matrix> big, small;
};

OperandTiles loadTiles(SubgroupMatrix& mma, const StagedOperand& operand, MatrixRole role, V block_start,
                       int64_t count) {
  const bool transposed = role == MatrixRole::A ? !operand.source.k_contiguous : operand.source.k_contiguous;
  OperandTiles tiles;
  for (int64_t t = 0; t < count; ++t) {
    V offset = operand.tileOffset(block_start + t * SubgroupMatrix::kRows);
    tiles.big.push_back(mma.load(role, operand.big, offset, operand.pitch(), transposed));
    if (operand.small) tiles.small.push_back(mma.load(role, operand.small, offset, operand.pitch(), transposed));
  }
  return tiles;
}

/// The product's parameters fixed when the kernel is planned.
struct MatrixProduct {
  bool emulated;
  MatmulPrecision precision;
  bool a_exact, b_exact;  // fp16 operands: exact in TF32, taken in one part

  std::string name() const {
    return std::string(emulated ? "tc_emulated_" : "tc_") + "128x128x8_" +
           (precision == MatmulPrecision::Tf32 ? "tf32" : "fp32");
  }
  bool split(bool exact) const { return precision == MatmulPrecision::Fp32 && !exact; }
};

/// The workgroup memory of the staged slabs (the small parts only when split).
struct Slabs {
  mlir::Value a_big, a_small, b_big, b_small;
};

Slabs allocateSlabs(KernelBuilder& k, const MatrixProduct& product) {
  auto slab = [&](int64_t floats) { return k.shared(floats, Element::F32, kSlabAlignment); };
  Slabs slabs;
  slabs.a_big = slab(std::max(kSlabFloats, kStagingFloats));  // also the epilogue's staging area
  if (product.split(product.a_exact)) slabs.a_small = slab(kSlabFloats);
  slabs.b_big = slab(kSlabFloats);
  if (product.split(product.b_exact)) slabs.b_small = slab(kSlabFloats);
  return slabs;
}

/// A(m0 : m0+128, :) . B(:, n0 : n0+128), then body(row, col, value) for each
/// element of the tile inside C's (M, N). Global loads move `width` elements
/// at once (4 needs both operands' row strides to be multiples of 4).
void multiplyTile(KernelBuilder& k, const MatrixProduct& product, const Slabs& slabs, int64_t width,
                  const ProductOperand& a_source, const ProductOperand& b_source, V K, V m0, V n0, V M, V N,
                  const std::function<void(V, V, V)>& body) {
  SubgroupMatrix mma(k, product.emulated);
  const SlabShape slab{kTile, kDepth, kThreads, width};
  StagedOperand a{a_source, slab, slabs.a_big, slabs.a_small};
  StagedOperand b{b_source, slab, slabs.b_big, slabs.b_small};
  V tid = k.threadId();
  V subgroup = tid / SubgroupMatrix::kSubgroup;
  V block_row = subgroup / kSubgroupColumns * kBlockRows, block_col = subgroup % kSubgroupColumns * kBlockColumns;

  const size_t per_tile = mma.carriedCount();
  const size_t accumulators = kTileRows * kTileColumns * per_tile;
  const int64_t loads = slab.loadsPerInvocation();
  std::vector<V> carried;  // C tiles, then the fetched A and B slabs
  for (int64_t t = 0; t < kTileRows * kTileColumns; ++t)
    for (const V& v : mma.zero().values) carried.push_back(v);
  for (const V& v : fetchSlab(k, a.source, slab, m0, k.index(0), K, tid)) carried.push_back(v);
  for (const V& v : fetchSlab(k, b.source, slab, n0, k.index(0), K, tid)) carried.push_back(v);

  std::vector<V> result = k.loop(k.index(0), K, k.index(kDepth), carried, [&](V k0, const std::vector<V>& in) {
    a.store(k, {in.begin() + accumulators, in.begin() + accumulators + loads}, tid, product.precision);
    b.store(k, {in.begin() + accumulators + loads, in.end()}, tid, product.precision);
    k.barrier();
    V next_k0 = k0 + kDepth;
    std::vector<V> next_a = fetchSlab(k, a.source, slab, m0, next_k0, K, tid);
    std::vector<V> next_b = fetchSlab(k, b.source, slab, n0, next_k0, K, tid);
    OperandTiles a_tiles = loadTiles(mma, a, MatrixRole::A, block_row, kTileRows);
    OperandTiles b_tiles = loadTiles(mma, b, MatrixRole::B, block_col, kTileColumns);
    std::vector<V> out;
    for (int64_t i = 0; i < kTileRows; ++i) {
      for (int64_t j = 0; j < kTileColumns; ++j) {
        Matrix c = mma.carried(in, (i * kTileColumns + j) * per_tile);
        // The small products first: they are the least significant.
        if (a.small) c = mma.multiplyAdd(a_tiles.small[i], b_tiles.big[j], c);
        if (b.small) c = mma.multiplyAdd(a_tiles.big[i], b_tiles.small[j], c);
        c = mma.multiplyAdd(a_tiles.big[i], b_tiles.big[j], c);
        out.insert(out.end(), c.values.begin(), c.values.end());
      }
    }
    k.barrier();  // the slabs are overwritten by the next iteration
    out.insert(out.end(), next_a.begin(), next_a.end());
    out.insert(out.end(), next_b.begin(), next_b.end());
    return out;
  });

  // Each C tile goes through the subgroup's 16x16 of the first slab, then its
  // 32 invocations write 8 elements each, 16 adjacent columns per row.
  V staging = tid / SubgroupMatrix::kSubgroup * kCTileFloats;
  V lane = tid % SubgroupMatrix::kSubgroup;
  for (int64_t i = 0; i < kTileRows; ++i) {
    for (int64_t j = 0; j < kTileColumns; ++j) {
      k.barrier();  // the staging area's previous readers (or the last slab's) are done
      mma.store(mma.carried(result, (i * kTileColumns + j) * per_tile), a.big, staging, SubgroupMatrix::kRows);
      k.barrier();
      for (int64_t r = 0; r < kCTileFloats / SubgroupMatrix::kSubgroup; ++r) {
        V e = lane + r * SubgroupMatrix::kSubgroup;
        V row = m0 + block_row + i * SubgroupMatrix::kRows + e / SubgroupMatrix::kRows;
        V col = n0 + block_col + j * SubgroupMatrix::kRows + e % SubgroupMatrix::kRows;
        k.when(row < M && col < N, [&] { body(row, col, k.load(a.big, staging + e)); });
      }
    }
  }
}

/// multiplyTile with 16-byte global loads when both operands' rows start
/// 16-byte aligned (a uniform branch: one path or the other for the whole
/// workgroup), else with single-element loads.
void multiplyAligned(KernelBuilder& k, const MatrixProduct& product, const ProductOperand& a,
                     const ProductOperand& b, V K, V m0, V n0, V M, V N, const std::function<void(V, V, V)>& body) {
  const Slabs slabs = allocateSlabs(k, product);
  V aligned = a.row_stride % kVectorWidth == 0 && b.row_stride % kVectorWidth == 0;
  k.ifElse(
      aligned, [&] { multiplyTile(k, product, slabs, kVectorWidth, a, b, K, m0, n0, M, N, body); },
      [&] { multiplyTile(k, product, slabs, 1, a, b, K, m0, n0, M, N, body); });
}

/// A plan over the 128x128 tiles of C: grid x over its columns (dispatch dim
/// `cols_dim`), y over its rows.
KernelPlan tilePlan(std::string name, int rows_dim, int cols_dim, const MatrixProduct& product,
                    std::function<void(KernelBuilder&)> body) {
  KernelPlan plan;
  plan.name = std::move(name);
  plan.workgroup = {static_cast<uint32_t>(kThreads), 1, 1};
  plan.grid[0] = {{cols_dim}, static_cast<uint32_t>(kTile), false};
  plan.grid[1] = {{rows_dim}, static_cast<uint32_t>(kTile), false};
  const int64_t slabs = 2 + (product.split(product.a_exact) ? 1 : 0) + (product.split(product.b_exact) ? 1 : 0);
  plan.shared_bytes = ((slabs - 1) * kSlabFloats + std::max(kSlabFloats, kStagingFloats)) *
                      static_cast<int64_t>(sizeof(float));
  plan.body = std::move(body);
  return plan;
}

}  // namespace

KernelPlan planMatrixUnitGemmKernel(const DispatchShape& shape, const GpuLimits& limits) {
  if (limits.matrix_units == MatrixUnits::None) return {};
  auto exact = [&](size_t operand) { return operand < shape.operands.size() && shape.operands[operand] == Element::F16; };
  const bool emulated = limits.matrix_units == MatrixUnits::Emulated;
  if (shape.kind == fb::KernelKind::Gemm) {
    GemmVariant variant;
    if (!variant.read(shape.ints)) return {};
    const MatrixProduct product{emulated, limits.matmul_precision, exact(0), exact(1)};
    // Gemm, dims (M, N, K): A(M,K), B (N,K) when trans_b else (K,N), C(M,N); GemmVariant::store.
    return tilePlan("gemm_" + product.name() + "_" + variant.name(), 0, 1, product, [=](KernelBuilder& k) {
      V M = k.dim(0), N = k.dim(1), K = k.dim(2);
      V m0 = k.blockId(1) * kTile, n0 = k.blockId(0) * kTile;
      ProductOperand a{k.operand(0), true, M, K};
      ProductOperand b{k.operand(1), variant.trans_b, N, variant.trans_b ? K : N};
      multiplyAligned(k, product, a, b, K, m0, n0, M, N,
                      [&](V row, V col, V value) { variant.store(k, N, row, col, value); });
    });
  }
  if (shape.kind == fb::KernelKind::GemmWeightGrad) {
    const MatrixProduct product{emulated, limits.matmul_precision, exact(1), exact(2)};
    // GemmWeightGrad, dims (M, N, K): dW(N,K) += dY(M,N)^T . X(M,K): A = dY^T and
    // B = X, both stored with the reduction dim (M) outermost.
    return tilePlan("gemm_weight_grad_" + product.name(), 1, 2, product, [=](KernelBuilder& k) {
      V rows = k.dim(0), N = k.dim(1), K = k.dim(2);
      V n0 = k.blockId(1) * kTile, k_start = k.blockId(0) * kTile;
      ProductOperand dy{k.operand(1), false, N, N};
      ProductOperand x{k.operand(2), false, K, K};
      mlir::Value dw = k.operand(0);
      multiplyAligned(k, product, dy, x, rows, n0, k_start, N, K, [&](V n, V col, V value) {
        V at = n * K + col;
        k.store(k.load(dw, at) + value, dw, at);
      });
    });
  }
  return {};
}

}  // namespace lathe::codegen::gpu
