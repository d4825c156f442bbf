// The GEMM family: Gemm (C = act(A . op(B) + bias) + residual), GemmWeightGrad
// (dW += dY^T . X) and BiasGrad (db += column sums of dY).
//
// Gemm and GemmWeightGrad share one shared-memory tiled product: a workgroup
// of 16x16 invocations computes a 64x64 tile of C; each invocation holds a 4x4
// micro-tile in registers, at rows ty + 16i and columns tx + 16j, so that a
// subgroup reads consecutive shared columns and stores consecutive C columns.
// K is consumed in 16-deep slabs staged in workgroup memory (2 x 16 x 65
// floats = 8.3 KiB): every element of a staged slab is used 64 times, and the
// small footprint leaves room for several resident workgroups per core. The
// next slab is fetched into registers while the current one is multiplied.
//
// When the dispatch's bound on M is small (decode: M = batch), Gemm is a GEMV
// instead (gemvPlan): the tile would waste most of its rows.
#include <utility>

#include "GemmTiling.h"
#include "KernelMath.h"
#include "lathe/codegen/gpu/GpuKernels.h"

namespace lathe::codegen::gpu {

namespace {

constexpr int64_t kTile = 64;                         // BM = BN
constexpr int64_t kSlab = 16;                         // BK
constexpr int64_t kSide = 16;                         // invocations along each side of the tile
constexpr int64_t kMicro = kTile / kSide;             // 4x4 outputs per invocation
constexpr int64_t kTileThreads = kSide * kSide;       // 256
constexpr int64_t kPitch = kTile + 1;                 // +1: transposed slab stores fall in distinct banks
constexpr int64_t kSlabFloats = kSlab * kPitch;       // one staged operand slab, (BK, BM + 1)
constexpr int64_t kSlabLoads = kTile * kSlab / kTileThreads;

// GEMV (Gemm whose M is bounded by kGemvMaxRows at compile time): 256
// invocations; each invocation keeps one partial sum per row of A. With
// trans_b, teams of 32 read one column's K contiguous values (8 columns per
// workgroup); with B stored (K,N), 64 adjacent columns are read by adjacent
// invocations and 4 invocations share each column's K.
constexpr int64_t kGemvMaxRows = 8;
constexpr int64_t kGemvThreads = 256;
constexpr int64_t kGemvTeamKContiguous = 32;
constexpr int64_t kGemvTeamKOutermost = 4;

// BiasGrad: 8 adjacent columns (one 32-byte segment per row) by 32 row groups.
constexpr int64_t kBiasColumns = 8;
constexpr int64_t kBiasRowGroups = 32;

constexpr SlabShape kSlabShape{kTile, kSlab, kTileThreads};

/// Writes fetchSlab's values into `slab`, laid out (BK, 64) with pitch kPitch.
void storeSlab(KernelBuilder& k, const ProductOperand& operand, const std::vector<V>& values, V tid,
               mlir::Value slab) {
  for (int64_t l = 0; l < kSlabLoads; ++l) {
    auto [kk, r] = slabElement(operand, kSlabShape, tid, l);
    k.store(values[l], slab, kk * kPitch + r);
  }
}

/// This invocation's micro-tile of A(m0 : m0+64, :) . B(:, n0 : n0+64), as
/// acc[i * kMicro + j] for row m0 + ty + 16i, column n0 + tx + 16j. The next
/// slab is fetched into registers before the current one is multiplied, so
/// global-memory latency overlaps the arithmetic.
std::vector<V> multiplyTile(KernelBuilder& k, const ProductOperand& a, const ProductOperand& b, V K, V m0, V n0) {
  mlir::Value a_slab = k.shared(kSlabFloats), b_slab = k.shared(kSlabFloats);
  V tid = k.threadId();
  V tx = tid % kSide, ty = tid / kSide;
  constexpr size_t kAccs = kMicro * kMicro;
  std::vector<V> carried(kAccs, k.f32(0.0));  // accumulators, then the fetched A and B slabs
  for (const V& v : fetchSlab(k, a, kSlabShape, m0, k.index(0), K, tid)) carried.push_back(v);
  for (const V& v : fetchSlab(k, b, kSlabShape, n0, k.index(0), K, tid)) carried.push_back(v);
  std::vector<V> result = k.loop(k.index(0), K, k.index(kSlab), carried, [&](V k0, const std::vector<V>& in) {
    storeSlab(k, a, {in.begin() + kAccs, in.begin() + kAccs + kSlabLoads}, tid, a_slab);
    storeSlab(k, b, {in.begin() + kAccs + kSlabLoads, in.end()}, tid, b_slab);
    k.barrier();
    V next_k0 = k0 + kSlab;
    std::vector<V> next_a = fetchSlab(k, a, kSlabShape, m0, next_k0, K, tid),
                   next_b = fetchSlab(k, b, kSlabShape, n0, next_k0, K, tid);
    std::vector<V> out(in.begin(), in.begin() + kAccs);
    for (int64_t kk = 0; kk < kSlab; ++kk) {
      std::vector<V> a_column, b_row;
      for (int64_t i = 0; i < kMicro; ++i) a_column.push_back(k.load(a_slab, ty + (kk * kPitch + i * kSide)));
      for (int64_t j = 0; j < kMicro; ++j) b_row.push_back(k.load(b_slab, tx + (kk * kPitch + j * kSide)));
      for (int64_t i = 0; i < kMicro; ++i)
        for (int64_t j = 0; j < kMicro; ++j) out[i * kMicro + j] = out[i * kMicro + j] + a_column[i] * b_row[j];
    }
    k.barrier();  // the slabs are overwritten by the next iteration
    out.insert(out.end(), next_a.begin(), next_a.end());
    out.insert(out.end(), next_b.begin(), next_b.end());
    return out;
  });
  result.resize(kAccs);
  return result;
}

/// body(row, col, value) for each element of the micro-tile inside (M, N).
void forEachOutput(KernelBuilder& k, V m0, V n0, V M, V N, const std::vector<V>& acc,
                   const std::function<void(V, V, V)>& body) {
  V tid = k.threadId();
  V tx = tid % kSide, ty = tid / kSide;
  for (int64_t i = 0; i < kMicro; ++i) {
    V row = m0 + ty + i * kSide;
    for (int64_t j = 0; j < kMicro; ++j) {
      V col = n0 + tx + j * kSide;
      k.when(row < M && col < N, [&] { body(row, col, acc[i * kMicro + j]); });
    }
  }
}

/// A tiled plan: grid x over the columns of C (dispatch dim `cols_dim`), y over its rows.
KernelPlan tiledPlan(std::string name, int rows_dim, int cols_dim, std::function<void(KernelBuilder&)> body) {
  KernelPlan plan;
  plan.name = std::move(name);
  plan.workgroup = {static_cast<uint32_t>(kTileThreads), 1, 1};
  plan.grid[0] = {{cols_dim}, static_cast<uint32_t>(kTile), false};
  plan.grid[1] = {{rows_dim}, static_cast<uint32_t>(kTile), false};
  plan.shared_bytes = 2 * kSlabFloats * static_cast<int64_t>(sizeof(float));
  plan.body = std::move(body);
  return plan;
}

// Gemm, dims (M, N, K): A(M,K), B (N,K) when trans_b else (K,N), C(M,N),
// then bias(N) and residual(M,N) when present (GemmVariant::store).
KernelPlan gemmPlan(const GemmVariant& variant) {
  return tiledPlan("gemm_64x64x16_" + variant.name(), 0, 1, [=](KernelBuilder& k) {
    V M = k.dim(0), N = k.dim(1), K = k.dim(2);
    V m0 = k.blockId(1) * kTile, n0 = k.blockId(0) * kTile;
    ProductOperand a{k.operand(0), true, M, K};
    ProductOperand b{k.operand(1), variant.trans_b, N, variant.trans_b ? K : N};
    std::vector<V> acc = multiplyTile(k, a, b, K, m0, n0);
    forEachOutput(k, m0, n0, M, N, acc, [&](V row, V col, V value) { variant.store(k, N, row, col, value); });
  });
}

/// How the GEMV workgroup's invocations split into (column, team lane).
struct GemvTeams {
  bool k_contiguous;  // B stored (N,K): a team's lanes are adjacent invocations
  int64_t team;       // invocations sharing one column, striding over K
  int64_t columns;    // columns of C per workgroup

  explicit GemvTeams(bool trans_b)
      : k_contiguous(trans_b), team(trans_b ? kGemvTeamKContiguous : kGemvTeamKOutermost),
        columns(kGemvThreads / team) {}
  V invocation(V column, V lane) const { return k_contiguous ? column * team + lane : lane * columns + column; }
  V column(V tid) const { return k_contiguous ? tid / team : tid % columns; }
  V lane(V tid) const { return k_contiguous ? tid % team : tid / columns; }
};

/// The smallest power of two >= rows: one kernel serves every M up to it.
int64_t gemvRows(int64_t m_bound) {
  int64_t rows = 1;
  while (rows < m_bound) rows *= 2;
  return rows;
}

// Gemm as GEMV, dims (M, N, K) with M <= `rows` (runtime M may be smaller).
// A(M,K), B (N,K) when trans_b else (K,N), C(M,N); same epilogue as gemmPlan.
// Each invocation sums A(m, k) * B(k, n) for its column n, every row m, over
// k = lane, lane + team, ...; the team's partial sums meet in workgroup memory,
// (rows, 256), and one invocation per (m, n) adds them in lane order.
KernelPlan gemvPlan(int64_t rows, const GemmVariant& variant) {
  const bool trans_b = variant.trans_b;
  const GemvTeams teams(trans_b);
  KernelPlan plan;
  plan.name = "gemv_m" + std::to_string(rows) + "_" + variant.name();
  plan.workgroup = {static_cast<uint32_t>(kGemvThreads), 1, 1};
  plan.grid[0] = {{1}, static_cast<uint32_t>(teams.columns), false};
  plan.shared_bytes = rows * kGemvThreads * static_cast<int64_t>(sizeof(float));
  plan.body = [=](KernelBuilder& k) {
    V M = k.dim(0), N = k.dim(1), K = k.dim(2);
    mlir::Value a = k.operand(0), b = k.operand(1), c = k.operand(2);
    V tid = k.threadId();
    V n0 = k.blockId(0) * teams.columns;
    V n = n0 + teams.column(tid);
    std::vector<V> a_row_starts;  // rows past M read row 0; their sums are never stored
    for (int64_t m = 0; m < rows; ++m) a_row_starts.push_back(k.select(k.index(m) < M, k.index(m), k.index(0)) * K);
    // Columns past N sum nothing (the loop holds no barrier, so it may be uneven).
    V k_end = k.select(n < N, K, k.index(0));
    std::vector<V> partial = k.loop(teams.lane(tid), k_end, k.index(teams.team), std::vector<V>(rows, k.f32(0.0)),
                                    [&](V kk, const std::vector<V>& sum) {
                                      V b_value = k.load(b, trans_b ? n * K + kk : kk * N + n);
                                      std::vector<V> next;
                                      for (int64_t m = 0; m < rows; ++m)
                                        next.push_back(sum[m] + k.load(a, a_row_starts[m] + kk) * b_value);
                                      return next;
                                    });
    mlir::Value partials = k.shared(rows * kGemvThreads);  // (row, invocation)
    for (int64_t m = 0; m < rows; ++m) k.store(partial[m], partials, tid + m * kGemvThreads);
    k.barrier();
    // Outputs (m, column) of the workgroup, column fastest so that stores to C are adjacent.
    for (int64_t first = 0; first < rows * teams.columns; first += kGemvThreads) {
      V output = tid + first;
      V m = output / teams.columns, column = output % teams.columns;
      V out_n = n0 + column;
      k.when(output < rows * teams.columns && m < M && out_n < N, [&] {
        V value = k.f32(0.0);
        for (int64_t lane = 0; lane < teams.team; ++lane)
          value = value + k.load(partials, m * kGemvThreads + teams.invocation(column, k.index(lane)));
        variant.store(k, N, m, out_n, value);
      });
    }
  };
  return plan;
}

// GemmWeightGrad, dims (M, N, K): dW(N,K) += dY(M,N)^T . X(M,K), i.e. the tiled
// product with C = dW, A = dY^T (stored (M,N): reduction dim outermost) and
// B = X (stored (M,K): reduction dim outermost), reducing over the M rows.
KernelPlan gemmWeightGradPlan() {
  return tiledPlan("gemm_weight_grad_64x64x16", 1, 2, [](KernelBuilder& k) {
    V rows = k.dim(0), N = k.dim(1), K = k.dim(2);
    V n0 = k.blockId(1) * kTile, k_start = k.blockId(0) * kTile;
    ProductOperand dy{k.operand(1), false, N, N};
    ProductOperand x{k.operand(2), false, K, K};
    std::vector<V> acc = multiplyTile(k, dy, x, rows, n0, k_start);
    mlir::Value dw = k.operand(0);
    forEachOutput(k, n0, k_start, N, K, acc, [&](V n, V col, V value) {
      V at = n * K + col;
      k.store(k.load(dw, at) + value, dw, at);
    });
  });
}

// BiasGrad, dims (rows, N): db(N) += sum over rows of dY(rows,N). A workgroup
// owns 8 columns; its 32 row groups sum strided rows, then one fixed-order sum.
KernelPlan biasGradPlan() {
  KernelPlan plan;
  plan.name = "bias_grad_8x32";
  plan.workgroup = {static_cast<uint32_t>(kBiasColumns * kBiasRowGroups), 1, 1};
  plan.grid[0] = {{1}, static_cast<uint32_t>(kBiasColumns), false};
  plan.shared_bytes = kBiasColumns * kBiasRowGroups * static_cast<int64_t>(sizeof(float));
  plan.body = [](KernelBuilder& k) {
    V rows = k.dim(0), N = k.dim(1);
    V tid = k.threadId();
    V lane = tid % kBiasColumns, group = tid / kBiasColumns;
    V col = k.blockId(0) * kBiasColumns + lane;
    mlir::Value dy = k.operand(1), db = k.operand(0);
    // Columns past N sum no rows (the loop holds no barrier, so it may be uneven).
    V row_end = k.select(col < N, rows, k.index(0));
    V partial = k.loop(group, row_end, k.index(kBiasRowGroups), {k.f32(0.0)}, [&](V row, const std::vector<V>& sum) {
      return std::vector<V>{sum[0] + k.load(dy, row * N + col)};
    })[0];
    mlir::Value partials = k.shared(kBiasColumns * kBiasRowGroups);  // (row group, column)
    k.store(partial, partials, tid);
    k.barrier();
    k.when(group == 0 && col < N, [&] {
      V total = k.loop(k.index(0), k.index(kBiasRowGroups), k.index(1), {k.f32(0.0)}, [&](V g, const std::vector<V>& sum) {
        return std::vector<V>{sum[0] + k.load(partials, g * kBiasColumns + lane)};
      })[0];
      k.store(k.load(db, col) + total, db, col);
    });
  };
  return plan;
}

}  // namespace

KernelPlan planGemmKernel(const DispatchShape& shape, const GpuLimits& limits) {
  using fb::KernelKind;
  switch (shape.kind) {
    case KernelKind::Gemm: {
      GemmVariant variant;
      if (!variant.read(shape.ints)) return {};
      const bool few_rows = !shape.dim_bounds.empty() && shape.dim_bounds[0] >= 1 &&
                            shape.dim_bounds[0] <= kGemvMaxRows;
      KernelPlan plan = few_rows                                        ? gemvPlan(gemvRows(shape.dim_bounds[0]), variant)
                        : limits.matrix_units != MatrixUnits::None ? planMatrixUnitGemmKernel(shape, limits)
                                                                        : gemmPlan(variant);
      return plan.shared_bytes <= limits.shared_bytes ? plan : KernelPlan{};
    }
    case KernelKind::GemmWeightGrad: {
      KernelPlan plan = limits.matrix_units != MatrixUnits::None ? planMatrixUnitGemmKernel(shape, limits)
                                                                 : gemmWeightGradPlan();
      return plan.shared_bytes <= limits.shared_bytes ? plan : KernelPlan{};
    }
    case KernelKind::BiasGrad: return biasGradPlan();
    default: return {};
  }
}

}  // namespace lathe::codegen::gpu
