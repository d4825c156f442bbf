// Row kernels: LayerNorm, RMSNorm (and their Stats forms for training),
// Embedding, AddPositions, Rope. Norms give each row one workgroup and reduce
// with workgroupSum, in the CPU's order of operations (targets/cpu/kernels/
// KernelsImpl.inc): mean, then the variance of (x - mean), rstd = 1/sqrt(var + eps).
// Their last pass, which writes the row, moves 16 bytes per access when C is
// a multiple of 4; the sums keep their one-element-per-step order.
//
// Position angles p * base^(-k/n) reach thousands of radians, where an fp32
// error of one ulp in the frequency already costs 1e-4 in the angle. The CPU
// computes them in double, so they are computed here in double-float
// arithmetic (pairs of f32) and reduced to [-pi/4, pi/4] before sin/cos.
#include <cmath>

#include "KernelMath.h"
#include "RowKernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace lathe::codegen::gpu {

namespace {

// ---------------------------------------------------------------- norms

/// The sum over a row of C values term(c), across the workgroup.
V rowSum(KernelBuilder& k, V C, mlir::Value scratch, const std::function<V(V)>& term) {
  V partial = k.loop(k.threadId(), C, k.index(kRowWorkgroup), {k.f32(0.0)},
                     [&](V c, const std::vector<V>& acc) { return std::vector<V>{acc[0] + term(c)}; })[0];
  return k.workgroupSum(partial, scratch);
}

constexpr int64_t kScratchBytes = KernelBuilder::kMaxSubgroups * 4;

/// body(span) for spans covering the C columns of a row, spread over the
/// workgroup's invocations (forEachColumn, a span at a time).
void forEachColumnSpan(KernelBuilder& k, V C, const std::function<void(const ElementSpan&)>& body) {
  forEachSpan(k, C, k.threadId(), k.index(kRowWorkgroup), body);
}

/// x, w, [b], y, [mean, rstd] with dims (rows, C).
struct LayerNormOperands {
  bool has_bias;
  bool stats;
  int y() const { return has_bias ? 3 : 2; }
};

KernelPlan layerNormPlan(LayerNormOperands ops) {
  std::string name = ops.stats ? "layernorm_stats" : ops.has_bias ? "layernorm_bias" : "layernorm";
  return rowPlan(name, {0}, kScratchBytes, [ops](KernelBuilder& k) {
    mlir::Value x = k.operand(0), w = k.operand(1), y = k.operand(ops.y());
    V rows = k.dim(0), C = k.dim(1), eps = k.floatParam(0), count = k.toFloat(C);
    mlir::Value scratch = k.shared(KernelBuilder::kMaxSubgroups);
    forEachRow(k, rows, [&](V r) {
      V row = r * C;  // x, y: (rows, C)
      V mean = rowSum(k, C, scratch, [&](V c) { return k.load(x, row + c); }) / count;
      V var = rowSum(k, C, scratch, [&](V c) {
                V d = k.load(x, row + c) - mean;
                return d * d;
              }) / count;
      V rstd = k.f32(1.0) / k.sqrt(var + eps);
      forEachColumnSpan(k, C, [&](const ElementSpan& span) {
        std::vector<V> xs = span.load(k, x, row), ws = span.load(k, w), out;
        std::vector<V> bs = ops.has_bias ? span.load(k, k.operand(2)) : std::vector<V>{};
        for (int64_t lane = 0; lane < span.width; ++lane) {
          out.push_back((xs[lane] - mean) * rstd * ws[lane]);
          if (ops.has_bias) out.back() = out.back() + bs[lane];
        }
        span.store(k, out, y, row);
      });
      if (ops.stats) {
        k.when(k.threadId() == k.index(0), [&] {
          k.store(mean, k.operand(4), r);
          k.store(rstd, k.operand(5), r);
        });
      }
    });
  });
}

/// x, w, y, [rstd] with dims (rows, C).
KernelPlan rmsNormPlan(bool stats) {
  return rowPlan(stats ? "rmsnorm_stats" : "rmsnorm", {0}, kScratchBytes, [stats](KernelBuilder& k) {
    mlir::Value x = k.operand(0), w = k.operand(1), y = k.operand(2);
    V rows = k.dim(0), C = k.dim(1), eps = k.floatParam(0), count = k.toFloat(C);
    mlir::Value scratch = k.shared(KernelBuilder::kMaxSubgroups);
    forEachRow(k, rows, [&](V r) {
      V row = r * C;  // x, y: (rows, C)
      V mean_sq = rowSum(k, C, scratch, [&](V c) {
                    V v = k.load(x, row + c);
                    return v * v;
                  }) / count;
      V rstd = k.f32(1.0) / k.sqrt(mean_sq + eps);
      forEachColumnSpan(k, C, [&](const ElementSpan& span) {
        std::vector<V> xs = span.load(k, x, row), ws = span.load(k, w), out;
        for (int64_t lane = 0; lane < span.width; ++lane) out.push_back(xs[lane] * rstd * ws[lane]);
        span.store(k, out, y, row);
      });
      if (stats) k.when(k.threadId() == k.index(0), [&] { k.store(rstd, k.operand(3), r); });
    });
  });
}

/// out(rows, C) = table[ids[r]] for ids (rows), table (V, C).
KernelPlan embeddingPlan() {
  return rowPlan("embedding", {0}, 0, [](KernelBuilder& k) {
    mlir::Value ids = k.operand(0), table = k.operand(1), out = k.operand(2);
    V rows = k.dim(0), C = k.dim(1);
    forEachRow(k, rows, [&](V r) {
      V source = k.toIndex(k.load(ids, r)) * C;
      forEachColumn(k, C, [&](V c) { k.store(k.load(table, source + c), out, r * C + c); });
    });
  });
}

// ---------------------------------------------------------------- double-float

/// hi + lo, |lo| <= ulp(hi) / 2: about 48 significant bits.
struct FF {
  V hi, lo;
};

FF constantFF(KernelBuilder& k, double value) {
  const float hi = static_cast<float>(value);
  return {k.f32(hi), k.f32(static_cast<float>(value - static_cast<double>(hi)))};
}

V floorOf(KernelBuilder& k, V x) { return k.wrap(mlir::math::FloorOp::create(k.builder(), k.loc(), x)); }
V roundOf(KernelBuilder& k, V x) { return floorOf(k, x + 0.5); }

/// x * 1 that the shader compiler cannot fold: Vulkan compilers may rewrite
/// (a + b) - a to b in operations not marked exact (Mesa's NIR does), which
/// erases the rounding errors that twoSum recovers. The 1 is min(dim 0, 1),
/// and dim 0 (B or rows) is at least 1 whenever a row is processed.
V opaque(KernelBuilder& k, V x) { return x * k.toFloat(k.min(k.dim(0), k.index(1))); }

/// a + b exactly as s + e (Knuth).
FF twoSum(KernelBuilder& k, V a, V b) {
  V s = a + b;
  V bb = s - opaque(k, a);
  return {s, (a - (s - bb)) + (b - opaque(k, bb))};
}

/// a + b exactly as s + e when |a| >= |b|.
FF fastTwoSum(KernelBuilder& k, V a, V b) {
  V s = a + b;
  return {s, b - (s - opaque(k, a))};
}

/// The top 12 significant bits of x by masking (not Veltkamp's a*4097, whose
/// result a fused multiply-add would change), and the exact rest.
FF split(KernelBuilder& k, V x) {
  V hi = k.bitsToFloat(k.bitAnd(k.floatToBits(x), k.i32(-4096)));
  return {hi, x - hi};
}

/// a * b exactly as p + e (Dekker); every partial product is exact, so
/// contraction into fma cannot change the result.
FF twoProd(KernelBuilder& k, V a, V b) {
  V p = a * b;
  FF as = split(k, a), bs = split(k, b);
  V e = ((as.hi * bs.hi - p) + as.hi * bs.lo + as.lo * bs.hi) + as.lo * bs.lo;
  return {p, e};
}

FF add(KernelBuilder& k, FF x, FF y) {
  FF s = twoSum(k, x.hi, y.hi);
  return fastTwoSum(k, s.hi, s.lo + (x.lo + y.lo));
}

FF negate(FF x) { return {-x.hi, -x.lo}; }

FF mul(KernelBuilder& k, FF x, FF y) {
  FF p = twoProd(k, x.hi, y.hi);
  return fastTwoSum(k, p.hi, p.lo + (x.hi * y.lo + x.lo * y.hi));
}

FF mul(KernelBuilder& k, FF x, V f) {
  FF p = twoProd(k, x.hi, f);
  return fastTwoSum(k, p.hi, p.lo + x.lo * f);
}

/// a / b for a, b exact in f32.
FF divide(KernelBuilder& k, V a, V b) {
  V q = a / b;
  FF qb = twoProd(k, q, b);
  return fastTwoSum(k, q, ((a - qb.hi) - qb.lo) / b);
}

/// 2^n for an integer-valued n in [-126, 127], exactly.
V powerOfTwo(KernelBuilder& k, V n) {
  V integer = k.wrap(mlir::arith::FPToSIOp::create(k.builder(), k.loc(), k.builder().getI32Type(), n));
  return k.bitsToFloat(k.shiftLeft(integer + k.i32(127), 23));
}

/// e^x for x in [-80, 80]: x = n ln2 + r, |r| <= ln2/2, e^r by its Taylor series.
FF exp(KernelBuilder& k, FF x) {
  V n = roundOf(k, x.hi * (1.0 / M_LN2));
  FF r = add(k, x, negate(mul(k, constantFF(k, M_LN2), n)));
  constexpr int kTerms = 11;  // r^12 / 12! < 1e-14
  double coefficient = 1.0;
  for (int i = 2; i <= kTerms; ++i) coefficient /= i;
  FF sum = constantFF(k, coefficient);
  for (int i = kTerms - 1; i >= 0; --i) {
    coefficient *= (i + 1);  // 1 / i!
    sum = add(k, mul(k, sum, r), constantFF(k, coefficient));
  }
  V scale = powerOfTwo(k, n);
  return {sum.hi * scale, sum.lo * scale};
}

/// ln(x) for x > 0: one Newton step from the f32 log, y + (x e^-y - 1).
FF log(KernelBuilder& k, V x) {
  V y = k.log(x);
  FF residual = add(k, mul(k, exp(k, {-y, k.f32(0.0)}), x), constantFF(k, -1.0));
  return add(k, {y, k.f32(0.0)}, residual);
}

/// sin and cos of a double-float angle: reduced by multiples of pi/2 to
/// |r| <= pi/4, then Taylor polynomials (error < 1e-9 there).
std::pair<V, V> sinCos(KernelBuilder& k, FF angle) {
  V quarter_turns = roundOf(k, angle.hi * M_2_PI);
  FF reduced = add(k, angle, negate(mul(k, constantFF(k, M_PI_2), quarter_turns)));
  V r = reduced.hi + reduced.lo, r2 = r * r;
  V sin_r = r + r * r2 * (k.f32(-1.0 / 6) + r2 * (k.f32(1.0 / 120) + r2 * (k.f32(-1.0 / 5040) + r2 * (1.0 / 362880))));
  V cos_r = k.f32(1.0) +
            r2 * (k.f32(-0.5) + r2 * (k.f32(1.0 / 24) +
                                      r2 * (k.f32(-1.0 / 720) + r2 * (k.f32(1.0 / 40320) + r2 * (-1.0 / 3628800)))));
  V quadrant = quarter_turns - floorOf(k, quarter_turns * 0.25) * 4.0;  // 0..3
  V q1 = quadrant == k.f32(1.0), q2 = quadrant == k.f32(2.0), q3 = quadrant == k.f32(3.0);
  V sin = k.select(q1, cos_r, k.select(q2, -sin_r, k.select(q3, -cos_r, sin_r)));
  V cos = k.select(q1, -sin_r, k.select(q2, -cos_r, k.select(q3, sin_r, cos_r)));
  return {sin, cos};
}

/// The angle position * base^(-numerator / denominator), with ln(base) given;
/// position, numerator and denominator are integers exact in f32.
FF positionAngle(KernelBuilder& k, V position, V numerator, V denominator, FF log_base) {
  FF exponent = negate(mul(k, divide(k, numerator, denominator), log_base));
  return mul(k, exp(k, exponent), position);
}

// ---------------------------------------------------------------- positions

/// What one workgroup row of a positions kernel covers: time step t of the
/// sequences [b_begin, b_end), all at `position`.
struct PositionRow {
  V t, b_begin, b_end, position;
};

/// Rope, AddPositions: a row per time step t (position t) covering every
/// sequence. RopeAt, AddPositionsAt: a row per (b, t), at offsets[b] + t.
void forEachPositionRow(KernelBuilder& k, bool at, int offsets_operand, const std::function<void(const PositionRow&)>& body) {
  V B = k.dim(0), T = k.dim(1);
  if (!at) {
    forEachRow(k, T, [&](V t) { body({t, k.index(0), B, t}); });
    return;
  }
  forEachRow(k, B * T, [&](V r) {
    V b = r / T, t = r % T;
    body({t, b, b + int64_t{1}, k.toIndex(k.load(k.operand(offsets_operand), b)) + t});
  });
}

std::vector<int> positionRowDims(bool at) { return at ? std::vector<int>{0, 1} : std::vector<int>{1}; }

constexpr double kSinusoidBase = 10000.0;

}  // namespace

// x(B,T,C) += pe(position, j): the learned table pos(P,C), or the CPU's
// sinusoids sin(p / 10000^(2*(j/2)/C)) for even j, cos for odd j.
KernelPlan planAddPositionsKernel(bool at, bool sinusoidal) {
  std::string name = std::string(at ? "add_positions_at_" : "add_positions_") + (sinusoidal ? "sinusoidal" : "learned");
  return rowPlan(name, positionRowDims(at), 0, [at, sinusoidal](KernelBuilder& k) {
    mlir::Value x = k.operand(0);
    V T = k.dim(1), C = k.dim(2);
    FF log_base = constantFF(k, std::log(kSinusoidBase));
    forEachPositionRow(k, at, 1, [&](const PositionRow& row) {
      forEachColumn(k, C, [&](V j) {
        V pe;
        if (sinusoidal) {
          V even_j = (j / int64_t{2}) * int64_t{2};
          auto [sin, cos] = sinCos(k, positionAngle(k, k.toFloat(row.position), k.toFloat(even_j), k.toFloat(C), log_base));
          pe = k.select(even_j == j, sin, cos);
        } else {
          pe = k.load(k.operand(at ? 2 : 1), row.position * C + j);
        }
        k.loop(row.b_begin, row.b_end, k.index(1), [&](V b) {
          V i = (b * T + row.t) * C + j;  // x: (B,T,C)
          k.store(k.load(x, i) + pe, x, i);
        });
      });
    });
  });
}

// In place on x(B,T,H,D), rotate-half pairs (i, i + D/2) by position * theta^(-2i/D)
// (inverse: by minus that angle, so the table holds -sin). Each row computes its
// D/2 cos/sin values once, a chunk at a time in workgroup memory, and applies
// them to every head of its sequences.
KernelPlan planRopeKernel(bool at, bool inverse) {
  constexpr int64_t kChunk = kRowWorkgroup;
  const std::string name = inverse ? "rope_grad" : at ? "rope_at" : "rope";
  return rowPlan(name, positionRowDims(at), 2 * kChunk * 4, [at, inverse](KernelBuilder& k) {
    mlir::Value x = k.operand(0);
    V T = k.dim(1), H = k.dim(2), D = k.dim(3), half = D / int64_t{2};
    FF log_theta = log(k, k.floatParam(0));
    mlir::Value cos_table = k.shared(kChunk), sin_table = k.shared(kChunk);
    forEachPositionRow(k, at, 1, [&](const PositionRow& row) {
      k.loop(k.index(0), half, k.index(kChunk), [&](V first) {
        V chunk = k.min(k.index(kChunk), half - first);
        V tid = k.threadId();
        k.when(tid < chunk, [&] {
          V i = first + tid;
          auto [sin, cos] = sinCos(k, positionAngle(k, k.toFloat(row.position), k.toFloat(i * int64_t{2}), k.toFloat(D), log_theta));
          k.store(cos, cos_table, tid);
          k.store(inverse ? -sin : sin, sin_table, tid);
        });
        k.barrier();
        // (sequence, head, i) over the chunk, i fastest.
        forEachColumn(k, (row.b_end - row.b_begin) * H * chunk, [&](V flat) {
          V i = flat % chunk, sequence_head = flat / chunk;
          V b = row.b_begin + sequence_head / H, h = sequence_head % H;
          V lo = ((b * T + row.t) * H + h) * D + first + i;  // x: (B,T,H,D)
          V c = k.load(cos_table, i), s = k.load(sin_table, i);
          V a = k.load(x, lo), bb = k.load(x, lo + half);
          k.store(a * c - bb * s, x, lo);
          k.store(bb * c + a * s, x, lo + half);
        });
        k.barrier();  // the next chunk overwrites the tables
      });
    });
  });
}

KernelPlan planNormKernel(const DispatchShape& shape, const GpuLimits&) {
  using fb::KernelKind;
  switch (shape.kind) {
    case KernelKind::LayerNorm: return layerNormPlan({shape.ints[0] == 1, /*stats=*/false});
    case KernelKind::LayerNormStats: return layerNormPlan({/*has_bias=*/true, /*stats=*/true});
    case KernelKind::RMSNorm: return rmsNormPlan(false);
    case KernelKind::RMSNormStats: return rmsNormPlan(true);
    case KernelKind::Embedding: return embeddingPlan();
    case KernelKind::AddPositions: return planAddPositionsKernel(false, shape.ints[0] == 1);
    case KernelKind::Rope: return planRopeKernel(false);
    default: return {};
  }
}

}  // namespace lathe::codegen::gpu
