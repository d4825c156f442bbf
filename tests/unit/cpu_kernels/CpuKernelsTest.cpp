// Every kernel against a naive double-precision reference, for both the
// AVX-512 and the portable build of the kernels.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "Internal.h"
#include "KernelBuildTest.h"
#include "Kernels.h"
#include "RandomData.h"
#include "ThreadPool.h"

namespace lathe::cpu {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

double actRef(Act act, double x) {
  switch (act) {
    case Act::None: return x;
    case Act::Gelu: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    case Act::GeluTanh: {
      // 0.5 x (1 + tanh(u)) written as x / (1 + exp(-2u)): no cancellation for x << 0.
      double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
      return x / (1.0 + std::exp(-2.0 * u));
    }
    case Act::Relu: return x > 0 ? x : 0.0;
    case Act::Silu: return x / (1.0 + std::exp(-x));
  }
  return x;
}

const char* actName(Act act) {
  static const char* names[] = {"None", "Gelu", "GeluTanh", "Relu", "Silu"};
  return names[static_cast<int>(act)];
}

class CpuKernels : public KernelBuildTest {};

// ------------------------------------------------------------------ gemm

struct GemmCase {
  int64_t M, N, K;
  bool trans_b;
  Act act = Act::None;
  bool bias = false;
  bool residual = false;
  bool residual_aliases_c = false;
  int64_t pad = 0;  // extra leading-dimension padding of every matrix
  bool packed = false;  // B passed only as a PackedWeight (trans_b)
};

void checkGemm(ThreadPool& pool, const GemmCase& c, uint32_t seed) {
  const int64_t lda = c.K + c.pad, ldb = (c.trans_b ? c.K : c.N) + c.pad, ldc = c.N + c.pad;
  auto A = randomVector(std::max<int64_t>(1, c.M * lda), seed);
  auto B = randomVector(std::max<int64_t>(1, (c.trans_b ? c.N : c.K) * ldb), seed + 1);
  auto bias = randomVector(c.N, seed + 2);
  auto res = randomVector(c.M * ldc, seed + 3);
  std::vector<float> C = c.residual_aliases_c ? res : randomVector(c.M * ldc, seed + 4);
  const std::vector<float> C_before = C;

  GemmArgs g;
  g.M = c.M, g.N = c.N, g.K = c.K;
  g.A = A.data(), g.lda = lda, g.B = B.data(), g.ldb = ldb, g.trans_b = c.trans_b;
  std::unique_ptr<PackedWeight> packed;
  if (c.packed) {
    packed = std::make_unique<PackedWeight>(pool, B.data(), ldb, c.N, c.K);
    g.packed_b = packed.get();
    g.B = nullptr;  // the packed copy alone must do
  }
  g.C = C.data(), g.ldc = ldc;
  g.bias = c.bias ? bias.data() : nullptr;
  g.act = c.act;
  if (c.residual) {
    g.residual = c.residual_aliases_c ? C.data() : res.data();
    g.ldr = ldc;
  }
  gemm(pool, g);

  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double acc = 0, mag = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        double b = c.trans_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += double(A[i * lda + k]) * b;
        mag += std::fabs(double(A[i * lda + k]) * b);
      }
      if (c.bias) acc += bias[j];
      double ref = actRef(c.act, acc);
      if (c.residual) ref += res[i * ldc + j];
      const double tol = 2e-6 * (mag + 1.0) + 1e-5 * std::fabs(ref);
      ASSERT_NEAR(C[i * ldc + j], ref, tol) << "M=" << c.M << " N=" << c.N << " K=" << c.K << " trans_b=" << c.trans_b
                                            << " act=" << actName(c.act) << " at (" << i << "," << j << ")";
    }
  // Padding between rows is never written.
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = c.N; j < ldc; ++j) ASSERT_EQ(C[i * ldc + j], C_before[i * ldc + j]);
}

const int64_t kGemmShapes[][3] = {
    {1, 1, 1},     {1, 17, 13},    {3, 5, 1},      {14, 32, 256},  {15, 33, 257},  {29, 70, 300},
    {100, 17, 513}, {1, 768, 768}, {2, 50, 1000},  {37, 300, 520}, {130, 600, 300}, {300, 100, 200},
    {13, 1100, 31}, {200, 2100, 17},
};

TEST_P(CpuKernels, GemmShapesBothLayouts) {
  uint32_t seed = 1;
  for (auto& s : kGemmShapes)
    for (bool trans_b : {true, false})
      for (int64_t pad : {0, 3}) checkGemm(pool, {s[0], s[1], s[2], trans_b, Act::None, false, false, false, pad}, seed++);
}

TEST_P(CpuKernels, GemmEpilogues) {
  uint32_t seed = 100;
  for (Act act : {Act::None, Act::Gelu, Act::GeluTanh, Act::Relu, Act::Silu})
    for (bool bias : {false, true})
      for (bool residual : {false, true})
        for (auto shape : {std::vector<int64_t>{1, 19, 7}, {45, 77, 260}, {64, 640, 96}}) {
          checkGemm(pool, {shape[0], shape[1], shape[2], true, act, bias, residual, false, 1}, seed++);
          checkGemm(pool, {shape[0], shape[1], shape[2], false, act, bias, residual, false, 0}, seed++);
        }
}

TEST_P(CpuKernels, GemmResidualAliasingC) {
  uint32_t seed = 300;
  for (Act act : {Act::None, Act::Gelu})
    for (auto shape : {std::vector<int64_t>{1, 5, 3}, {33, 70, 600}, {100, 700, 50}, {7, 9, 0}})
      for (bool trans_b : {true, false})
        checkGemm(pool, {shape[0], shape[1], shape[2], trans_b, act, true, true, true, 2}, seed++);
}

TEST_P(CpuKernels, GemmKZeroGivesEpilogueOfZero) {
  checkGemm(pool, {5, 6, 0, true, Act::Silu, true, true, false, 0}, 7);
  checkGemm(pool, {5, 6, 0, false, Act::None, false, false, false, 0}, 8);
}

TEST_P(CpuKernels, GemmSingleThreadPoolMatchesReference) {
  ThreadPool single(1);
  checkGemm(single, {50, 90, 70, true, Act::Gelu, true, true, false, 0}, 9);
}

TEST_P(CpuKernels, GemmWithPackedWeight) {
  uint32_t seed = 400;
  for (auto& s : kGemmShapes)
    for (int64_t pad : {0, 3}) checkGemm(pool, {s[0], s[1], s[2], true, Act::None, false, false, false, pad, true}, seed++);
  for (Act act : {Act::None, Act::GeluTanh})
    for (auto shape : {std::vector<int64_t>{1, 19, 7}, {45, 77, 800}, {256, 1100, 400}, {8, 300, 0}})
      checkGemm(pool, {shape[0], shape[1], shape[2], true, act, true, true, act == Act::None, 1, true}, seed++);
  ThreadPool single(1);
  checkGemm(single, {50, 90, 70, true, Act::Gelu, true, true, false, 0, true}, seed++);
}

TEST_P(CpuKernels, GemmPackedWeightOfAnotherBuildFallsBackToB) {
  if (!detail::cpuHasAvx512()) GTEST_SKIP() << "needs both kernel builds";
  const int64_t M = 20, N = 70, K = 50;
  auto A = randomVector(M * K, 1), B = randomVector(N * K, 2);
  detail::forcePortableKernels(GetParam() != "portable");  // pack with the other build
  PackedWeight packed(pool, B.data(), K, N, K);
  detail::forcePortableKernels(GetParam() == "portable");
  std::vector<float> with_packed(M * N), plain(M * N);
  GemmArgs g;
  g.M = M, g.N = N, g.K = K, g.A = A.data(), g.lda = K, g.B = B.data(), g.ldb = K, g.ldc = N;
  g.C = plain.data();
  gemm(pool, g);
  g.C = with_packed.data();
  g.packed_b = &packed;
  gemm(pool, g);
  EXPECT_EQ(with_packed, plain);
  g.B = nullptr;
  EXPECT_THROW(gemm(pool, g), std::invalid_argument);
}

TEST_P(CpuKernels, GemmRejectsMismatchedPackedWeight) {
  std::vector<float> buf(64);
  PackedWeight packed(pool, buf.data(), 8, 4, 8);
  GemmArgs g;
  g.M = 2, g.N = 4, g.K = 8;
  g.A = buf.data(), g.lda = 8, g.C = buf.data(), g.ldc = 4;
  g.packed_b = &packed;
  g.K = 7, g.lda = 7;
  EXPECT_THAT([&] { gemm(pool, g); }, ThrowsMessage<std::invalid_argument>(HasSubstr("packed B is 4x8")));
  g.K = 8, g.lda = 8;
  g.trans_b = false;
  EXPECT_THROW(gemm(pool, g), std::invalid_argument);
}

TEST_P(CpuKernels, GemmRejectsBadArguments) {
  std::vector<float> buf(64);
  GemmArgs g;
  g.M = 2, g.N = 4, g.K = 8;
  g.A = buf.data(), g.lda = 4;  // lda < K
  g.B = buf.data(), g.ldb = 8;
  g.C = buf.data(), g.ldc = 4;
  EXPECT_THAT([&] { gemm(pool, g); }, ThrowsMessage<std::invalid_argument>(HasSubstr("lda")));
  g.lda = 8;
  g.M = -1;
  EXPECT_THROW(gemm(pool, g), std::invalid_argument);
  g.M = 2;
  g.C = nullptr;
  EXPECT_THROW(gemm(pool, g), std::invalid_argument);
  g.C = buf.data();
  g.act = static_cast<Act>(42);
  EXPECT_THROW(gemm(pool, g), std::invalid_argument);
}

// ------------------------------------------------------------------ elementwise

std::vector<float> activationInputs(int64_t n) {
  auto x = randomVector(n, 11, -20.0f, 20.0f);
  const float specials[] = {0.0f, -0.0f, 1e-6f, -1e-6f, 0.5f, -0.5f, 3.0f, -3.0f, -9.0f, -12.0f, 15.0f, 40.0f, -40.0f};
  for (size_t i = 0; i < std::size(specials) && i < x.size(); ++i) x[i] = specials[i];
  return x;
}

TEST_P(CpuKernels, UnaryActivationsMatchDouble) {
  for (Act act : {Act::None, Act::Gelu, Act::GeluTanh, Act::Relu, Act::Silu})
    for (int64_t n : {1, 17, 1000, 100003}) {
      auto x = activationInputs(n);
      std::vector<float> y(n);
      unary(pool, act, x.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        double ref = actRef(act, x[i]);
        ASSERT_NEAR(y[i], ref, 1e-5 * std::fabs(ref) + 1e-30) << actName(act) << " x=" << x[i];
      }
    }
}

TEST_P(CpuKernels, ActivationsAreAccurateOnADenseGrid) {
  const int64_t n = 200001;
  std::vector<float> x(n), y(n);
  for (int64_t i = 0; i < n; ++i) x[i] = -15.0f + 30.0f * float(i) / float(n - 1);
  for (Act act : {Act::Gelu, Act::GeluTanh, Act::Silu}) {
    unary(pool, act, x.data(), y.data(), n);
    // Relative accuracy where the result is a normal-sized float; the deep
    // negative tails (|y| < 1e-20) are only required to be tiny.
    double worst_rel = 0, worst_tail = 0;
    for (int64_t i = 0; i < n; ++i) {
      double ref = actRef(act, x[i]), err = std::fabs(y[i] - ref);
      if (std::fabs(ref) > 1e-20) worst_rel = std::max(worst_rel, err / std::fabs(ref));
      else worst_tail = std::max(worst_tail, err);
    }
    EXPECT_LT(worst_rel, 1e-5) << actName(act);
    EXPECT_LT(worst_tail, 1e-25) << actName(act);
  }
}

TEST_P(CpuKernels, BinaryAndSwiglu) {
  for (int64_t n : {1, 15, 16, 4099, 70001}) {
    auto a = randomVector(n, 21, -8, 8), b = randomVector(n, 22);
    std::vector<float> y(n);
    binary(pool, Binary::Add, a.data(), b.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], a[i] + b[i]);
    binary(pool, Binary::Mul, a.data(), b.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], a[i] * b[i]);
    swiglu(pool, a.data(), b.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      double ref = actRef(Act::Silu, a[i]) * b[i];
      ASSERT_NEAR(y[i], ref, 1e-5 * std::fabs(ref) + 1e-30);
    }
  }
  // In place: y aliases a.
  auto a = randomVector(100, 23), b = randomVector(100, 24);
  auto expect = a;
  for (int i = 0; i < 100; ++i) expect[i] += b[i];
  binary(pool, Binary::Add, a.data(), b.data(), a.data(), 100);
  EXPECT_EQ(a, expect);
}

// ------------------------------------------------------------------ rows

TEST_P(CpuKernels, LayerNormAndRmsNorm) {
  for (int64_t rows : {1, 5, 64})
    for (int64_t C : {3, 16, 100, 768}) {
      auto x = randomVector(rows * C, 31, -3, 5), w = randomVector(C, 32), b = randomVector(C, 33);
      std::vector<float> y(rows * C), y_nobias(rows * C), y_rms(rows * C);
      layerNorm(pool, x.data(), w.data(), b.data(), y.data(), rows, C, 1e-5f);
      layerNorm(pool, x.data(), w.data(), nullptr, y_nobias.data(), rows, C, 1e-5f);
      rmsNorm(pool, x.data(), w.data(), y_rms.data(), rows, C, 1e-6f);
      for (int64_t r = 0; r < rows; ++r) {
        double mean = 0, var = 0, ms = 0;
        for (int64_t i = 0; i < C; ++i) mean += x[r * C + i], ms += double(x[r * C + i]) * x[r * C + i];
        mean /= C, ms /= C;
        for (int64_t i = 0; i < C; ++i) var += (x[r * C + i] - mean) * (x[r * C + i] - mean);
        var /= C;
        for (int64_t i = 0; i < C; ++i) {
          double norm = (x[r * C + i] - mean) / std::sqrt(var + 1e-5);
          ASSERT_NEAR(y[r * C + i], norm * w[i] + b[i], 2e-5) << "rows=" << rows << " C=" << C;
          ASSERT_NEAR(y_nobias[r * C + i], norm * w[i], 2e-5);
          ASSERT_NEAR(y_rms[r * C + i], x[r * C + i] / std::sqrt(ms + 1e-6) * w[i], 2e-5);
        }
      }
    }
}

TEST_P(CpuKernels, EmbeddingAndPositions) {
  const int64_t vocab = 50, C = 37, B = 2, T = 5, P = 16, offset = 3;
  auto table = randomVector(vocab * C, 41), pos = randomVector(P * C, 42);
  std::vector<int32_t> ids = {0, 49, 7, 7, 13, 1, 2, 3, 4, 5};
  std::vector<float> x(B * T * C);
  embedding(pool, ids.data(), table.data(), x.data(), B * T, C);
  for (int64_t r = 0; r < B * T; ++r)
    for (int64_t i = 0; i < C; ++i) ASSERT_EQ(x[r * C + i], table[ids[r] * C + i]);

  auto learned = x;
  addLearnedPositions(pool, learned.data(), pos.data(), B, T, C, offset);
  for (int64_t r = 0; r < B * T; ++r)
    for (int64_t i = 0; i < C; ++i) ASSERT_EQ(learned[r * C + i], x[r * C + i] + pos[(offset + r % T) * C + i]);

  auto sinusoidal = x;
  addSinusoidalPositions(pool, sinusoidal.data(), B, T, C, offset);
  for (int64_t r = 0; r < B * T; ++r)
    for (int64_t j = 0; j < C; ++j) {
      double p = double(offset + r % T), angle = p / std::pow(10000.0, double(2 * (j / 2)) / double(C));
      double pe = j % 2 == 0 ? std::sin(angle) : std::cos(angle);
      ASSERT_NEAR(sinusoidal[r * C + j], x[r * C + j] + pe, 1e-6);
    }
}

TEST_P(CpuKernels, RopeRotateHalf) {
  for (auto shape : {std::vector<int64_t>{1, 1, 1, 2}, {2, 7, 3, 6}, {1, 20, 4, 64}, {2, 3, 2, 34}}) {
    const int64_t B = shape[0], T = shape[1], H = shape[2], D = shape[3], offset = 5;
    const float theta = 10000.0f;
    auto x = randomVector(B * T * H * D, 51);
    auto y = x;
    rope(pool, y.data(), B, T, H, D, theta, offset);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i = 0; i < D / 2; ++i) {
            const int64_t base = ((b * T + t) * H + h) * D;
            double a = double(offset + t) * std::pow(double(theta), -2.0 * i / double(D));
            double x1 = x[base + i], x2 = x[base + i + D / 2];
            ASSERT_NEAR(y[base + i], x1 * std::cos(a) - x2 * std::sin(a), 1e-6) << "D=" << D;
            ASSERT_NEAR(y[base + i + D / 2], x2 * std::cos(a) + x1 * std::sin(a), 1e-6) << "D=" << D;
          }
  }
  std::vector<float> x(13);
  EXPECT_THROW(rope(pool, x.data(), 1, 1, 1, 13, 10000.0f, 0), std::invalid_argument);
}

// ------------------------------------------------------------------ attention

struct AttentionCase {
  int64_t B, T, H, Hkv, D;
  bool causal = true;
};

// q, k, v are views into one fused (B, T, (H + 2 Hkv) D) buffer.
void checkAttention(ThreadPool& pool, const AttentionCase& c, uint32_t seed) {
  const int64_t row = (c.H + 2 * c.Hkv) * c.D, out_row = c.H * c.D + 3;
  auto qkv = randomVector(c.B * c.T * row, seed, -2, 2);
  std::vector<float> out(c.B * c.T * out_row, 7.0f);
  AttentionArgs a;
  a.B = c.B, a.T = c.T, a.H = c.H, a.Hkv = c.Hkv, a.D = c.D;
  a.q = qkv.data(), a.q_row_stride = row;
  a.k = qkv.data() + c.H * c.D, a.k_row_stride = row;
  a.v = qkv.data() + (c.H + c.Hkv) * c.D, a.v_row_stride = row;
  a.out = out.data(), a.out_row_stride = out_row;
  a.scale = 1.0f / std::sqrt(float(c.D));
  a.causal = c.causal;
  attention(pool, a);

  std::vector<double> p(c.T);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.H; ++h)
      for (int64_t t = 0; t < c.T; ++t) {
        const int64_t g = h / (c.H / c.Hkv), keys = c.causal ? t + 1 : c.T;
        const float* q = a.q + (b * c.T + t) * row + h * c.D;
        double mx = -1e300, sum = 0;
        for (int64_t s = 0; s < keys; ++s) {
          const float* k = a.k + (b * c.T + s) * row + g * c.D;
          double d = 0;
          for (int64_t i = 0; i < c.D; ++i) d += double(q[i]) * k[i];
          p[s] = d * a.scale;
          mx = std::max(mx, p[s]);
        }
        for (int64_t s = 0; s < keys; ++s) sum += p[s] = std::exp(p[s] - mx);
        for (int64_t i = 0; i < c.D; ++i) {
          double ref = 0;
          for (int64_t s = 0; s < keys; ++s) ref += p[s] / sum * a.v[(b * c.T + s) * row + g * c.D + i];
          ASSERT_NEAR(out[(b * c.T + t) * out_row + h * c.D + i], ref, 2e-5)
              << "B=" << c.B << " T=" << c.T << " H=" << c.H << " Hkv=" << c.Hkv << " D=" << c.D << " t=" << t;
        }
        for (int64_t i = c.H * c.D; i < out_row; ++i) ASSERT_EQ(out[(b * c.T + t) * out_row + i], 7.0f);
      }
}

TEST_P(CpuKernels, AttentionCausalGqa) {
  uint32_t seed = 60;
  for (AttentionCase c : {AttentionCase{1, 1, 1, 1, 13}, {2, 5, 4, 2, 6}, {1, 70, 3, 1, 16}, {2, 130, 4, 4, 64},
                          {1, 200, 6, 2, 13}, {3, 9, 8, 1, 32}, {1, 65, 2, 2, 80}})
    checkAttention(pool, c, seed++);
}

TEST_P(CpuKernels, AttentionNonCausal) {
  checkAttention(pool, {2, 33, 4, 2, 13, false}, 70);
  checkAttention(pool, {1, 100, 2, 1, 64, false}, 71);
}

// Queries t of sequence b attend to cache rows [0, offsets[b] + t] (decode and prefill with a KV cache).
void checkCachedAttention(ThreadPool& pool, int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t D,
                          const std::vector<int32_t>& offsets, uint32_t seed) {
  const int64_t S = 160;
  auto q = randomVector(B * T * H * D, seed, -2, 2);
  auto k_cache = randomVector(B * S * Hkv * D, seed + 1, -2, 2);
  auto v_cache = randomVector(B * S * Hkv * D, seed + 2, -2, 2);
  std::vector<float> out(B * T * H * D, 7.0f);
  CachedAttentionArgs a;
  a.B = B, a.T = T, a.H = H, a.Hkv = Hkv, a.D = D, a.S = S;
  a.q = q.data(), a.k_cache = k_cache.data(), a.v_cache = v_cache.data(), a.offsets = offsets.data();
  a.out = out.data();
  a.scale = 1.0f / std::sqrt(float(D));
  cachedAttention(pool, a);

  std::vector<double> p(S);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const int64_t g = h / (H / Hkv), keys = offsets[b] + t + 1;
        const float* qr = q.data() + ((b * T + t) * H + h) * D;
        double mx = -1e300, sum = 0;
        for (int64_t s = 0; s < keys; ++s) {
          double d = 0;
          for (int64_t i = 0; i < D; ++i) d += double(qr[i]) * k_cache[((b * S + s) * Hkv + g) * D + i];
          p[s] = d * a.scale;
          mx = std::max(mx, p[s]);
        }
        for (int64_t s = 0; s < keys; ++s) sum += p[s] = std::exp(p[s] - mx);
        for (int64_t i = 0; i < D; ++i) {
          double ref = 0;
          for (int64_t s = 0; s < keys; ++s) ref += p[s] / sum * v_cache[((b * S + s) * Hkv + g) * D + i];
          ASSERT_NEAR(out[((b * T + t) * H + h) * D + i], ref, 2e-5)
              << "B=" << B << " T=" << T << " H=" << H << " Hkv=" << Hkv << " D=" << D << " b=" << b << " t=" << t;
        }
      }
}

TEST_P(CpuKernels, CachedAttentionMatchesDoubleReference) {
  checkCachedAttention(pool, 2, 1, 4, 2, 16, {0, 37}, 80);          // decode
  checkCachedAttention(pool, 2, 3, 2, 1, 7, {5, 0}, 81);            // short prefill, odd D
  checkCachedAttention(pool, 3, 40, 6, 2, 64, {0, 19, 100}, 82);    // prefill across key blocks
  checkCachedAttention(pool, 1, 100, 2, 2, 33, {60}, 83);
}

TEST_P(CpuKernels, AttentionRejectsIndivisibleHeads) {
  std::vector<float> buf(64);
  AttentionArgs a;
  a.B = 1, a.T = 1, a.H = 3, a.Hkv = 2, a.D = 4;
  a.q = a.k = a.v = buf.data();
  a.out = buf.data();
  a.q_row_stride = a.out_row_stride = 12, a.k_row_stride = a.v_row_stride = 8;
  EXPECT_THROW(attention(pool, a), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Builds, CpuKernels, ::testing::Values("avx512", "portable"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace lathe::cpu
