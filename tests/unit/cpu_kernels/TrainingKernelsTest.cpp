// The training kernels (TrainingKernels.h and gemm's trans_a/accumulate forms)
// against naive double-precision references and central differences of
// double-precision forwards, for both the AVX-512 and the portable build.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "Internal.h"
#include "KernelBuildTest.h"
#include "RandomData.h"
#include "ThreadPool.h"
#include "TrainingInternal.h"
#include "TrainingKernels.h"

namespace lathe::cpu {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::vector<double> toDouble(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// d/dp of sum(weights * f(p)) at p by central differences, for every element of p.
std::vector<double> centralDifference(std::vector<double>& p, const std::function<double()>& loss, double h = 1e-6) {
  std::vector<double> grad(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    const double saved = p[i];
    p[i] = saved + h;
    const double up = loss();
    p[i] = saved - h;
    const double down = loss();
    p[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

void expectClose(const std::vector<float>& got, const std::vector<double>& want, double rel, double abs,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], abs + rel * std::fabs(want[i])) << what << " at " << i;
}

class TrainingKernels : public KernelBuildTest {};

// ------------------------------------------------------------------ gemm (backward forms)

struct BackwardGemmCase {
  int64_t M, N, K;
  bool trans_a, trans_b, accumulate, bias;
  int64_t pad;
};

void checkBackwardGemm(ThreadPool& pool, const BackwardGemmCase& c, uint32_t seed) {
  const int64_t lda = (c.trans_a ? c.M : c.K) + c.pad, ldb = (c.trans_b ? c.K : c.N) + c.pad, ldc = c.N + c.pad;
  auto A = randomVector(std::max<int64_t>(1, (c.trans_a ? c.K : c.M) * lda), seed);
  auto B = randomVector(std::max<int64_t>(1, (c.trans_b ? c.N : c.K) * ldb), seed + 1);
  auto bias = randomVector(c.N, seed + 2);
  auto C = randomVector(c.M * ldc, seed + 3);
  const auto C_before = C;
  GemmArgs g;
  g.M = c.M, g.N = c.N, g.K = c.K;
  g.A = A.data(), g.lda = lda, g.trans_a = c.trans_a;
  g.B = B.data(), g.ldb = ldb, g.trans_b = c.trans_b;
  g.C = C.data(), g.ldc = ldc;
  g.bias = c.bias ? bias.data() : nullptr;
  g.accumulate = c.accumulate;
  gemm(pool, g);
  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = 0; j < c.N; ++j) {
      double acc = 0, mag = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double a = c.trans_a ? A[k * lda + i] : A[i * lda + k];
        const double b = c.trans_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
        mag += std::fabs(a * b);
      }
      if (c.bias) acc += bias[j];
      if (c.accumulate) acc += C_before[i * ldc + j];
      ASSERT_NEAR(C[i * ldc + j], acc, 2e-6 * (mag + 1.0) + 1e-6 * std::fabs(acc))
          << "M=" << c.M << " N=" << c.N << " K=" << c.K << " trans_a=" << c.trans_a << " trans_b=" << c.trans_b
          << " accumulate=" << c.accumulate << " at (" << i << "," << j << ")";
    }
    for (int64_t j = c.N; j < ldc; ++j) ASSERT_EQ(C[i * ldc + j], C_before[i * ldc + j]);
  }
}

TEST_P(TrainingKernels, GemmTransposedAAndAccumulate) {
  const int64_t shapes[][3] = {{1, 1, 1},     {3, 5, 1},      {14, 32, 256},  {15, 33, 257},  {29, 70, 300},
                               {100, 17, 513}, {37, 300, 520}, {130, 600, 300}, {300, 100, 200}, {13, 1100, 31},
                               {200, 2100, 17}, {7, 9, 0}};
  uint32_t seed = 1;
  for (auto& s : shapes)
    for (bool trans_a : {true, false})
      for (bool trans_b : {true, false})
        for (bool accumulate : {true, false})
          checkBackwardGemm(pool, {s[0], s[1], s[2], trans_a, trans_b, accumulate, s[0] % 2 == 1, s[1] % 3}, seed++);
}

// The two products of a linear layer's backward pass, Y(M,N) = X(M,K) . W(N,K)^T.
TEST_P(TrainingKernels, GemmLinearLayerBackward) {
  const int64_t M = 67, N = 300, K = 129;
  auto dY = randomVector(M * N, 5), X = randomVector(M * K, 6), W = randomVector(N * K, 7);
  auto dW = randomVector(N * K, 8);
  const auto dW_before = dW;
  std::vector<float> dX(M * K, 123.0f);
  GemmArgs dx_args;  // dX(M,K) = dY(M,N) . W(N,K)
  dx_args.M = M, dx_args.N = K, dx_args.K = N;
  dx_args.A = dY.data(), dx_args.lda = N;
  dx_args.B = W.data(), dx_args.ldb = K, dx_args.trans_b = false;
  dx_args.C = dX.data(), dx_args.ldc = K;
  gemm(pool, dx_args);
  GemmArgs dw_args;  // dW(N,K) += dY(M,N)^T . X(M,K)
  dw_args.M = N, dw_args.N = K, dw_args.K = M;
  dw_args.A = dY.data(), dw_args.lda = N, dw_args.trans_a = true;
  dw_args.B = X.data(), dw_args.ldb = K, dw_args.trans_b = false;
  dw_args.C = dW.data(), dw_args.ldc = K;
  dw_args.accumulate = true;
  gemm(pool, dw_args);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      double ref = 0;
      for (int64_t n = 0; n < N; ++n) ref += double(dY[m * N + n]) * W[n * K + k];
      ASSERT_NEAR(dX[m * K + k], ref, 1e-4);
    }
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      double ref = dW_before[n * K + k];
      for (int64_t m = 0; m < M; ++m) ref += double(dY[m * N + n]) * X[m * K + k];
      ASSERT_NEAR(dW[n * K + k], ref, 1e-4);
    }
}

TEST_P(TrainingKernels, GemmRejectsBadBackwardArguments) {
  std::vector<float> buf(64);
  GemmArgs g;
  g.M = 8, g.N = 4, g.K = 2;
  g.A = buf.data(), g.lda = 2, g.trans_a = true;  // lda < M
  g.B = buf.data(), g.ldb = 2;
  g.C = buf.data(), g.ldc = 4;
  EXPECT_THAT([&] { gemm(pool, g); }, ThrowsMessage<std::invalid_argument>(HasSubstr("lda")));
  g.lda = 8;
  g.accumulate = true;
  g.act = Act::Gelu;
  EXPECT_THROW(gemm(pool, g), std::invalid_argument);
  g.act = Act::None;
  g.residual = buf.data(), g.ldr = 4;
  EXPECT_THROW(gemm(pool, g), std::invalid_argument);
}

TEST_P(TrainingKernels, BiasBackwardAccumulatesDeterministically) {
  ThreadPool single(1);
  for (auto shape : {std::vector<int64_t>{1, 1}, {3, 17}, {200, 65}, {1000, 768}, {37, 3001}}) {
    const int64_t rows = shape[0], N = shape[1], ld = N + 2;
    auto dout = randomVector(rows * ld, 9);
    auto db = randomVector(N, 10);
    auto db_single = db;
    std::vector<double> ref(db.begin(), db.end());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < N; ++j) ref[j] += dout[r * ld + j];
    biasBackward(pool, dout.data(), ld, db.data(), rows, N);
    biasBackward(single, dout.data(), ld, db_single.data(), rows, N);
    expectClose(db, ref, 1e-6, 2e-6 * std::sqrt(double(rows)), "biasBackward");
    EXPECT_EQ(db, db_single) << "result depends on the pool size";
  }
}

// ------------------------------------------------------------------ normalization

struct NormRef {
  int64_t rows, C;
  double eps;
  bool rms;
  // sum(dy * norm(x) * w + b)
  double loss(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
              const std::vector<double>& dy) const {
    double total = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < C; ++i) mean += x[r * C + i];
      mean = rms ? 0.0 : mean / C;
      for (int64_t i = 0; i < C; ++i) var += (x[r * C + i] - mean) * (x[r * C + i] - mean);
      const double rstd = 1.0 / std::sqrt(var / C + eps);
      for (int64_t i = 0; i < C; ++i)
        total += dy[r * C + i] * ((x[r * C + i] - mean) * rstd * w[i] + (rms ? 0.0 : b[i]));
    }
    return total;
  }
};

// The kernel's dx, dw, db (added onto random initial values) against central
// differences of the double-precision forward.
void checkNormBackward(ThreadPool& pool, int64_t rows, int64_t C, bool rms, uint32_t seed) {
  const float eps = 1e-5f;
  auto x = randomVector(rows * C, seed, -2, 3), w = randomVector(C, seed + 1, 0.5f, 1.5f);
  auto b = randomVector(C, seed + 2), dy = randomVector(rows * C, seed + 3);
  auto dx = randomVector(rows * C, seed + 4), dw = randomVector(C, seed + 5), db = randomVector(C, seed + 6);
  const auto dx0 = dx, dw0 = dw, db0 = db;
  std::vector<float> y(rows * C), mean(rows), rstd(rows);
  if (rms) {
    rmsNormForward(pool, x.data(), w.data(), y.data(), rstd.data(), rows, C, eps);
    rmsNormBackward(pool, dy.data(), x.data(), w.data(), rstd.data(), dx.data(), dw.data(), rows, C);
  } else {
    layerNormForward(pool, x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, C, eps);
    layerNormBackward(pool, dy.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(), dw.data(), db.data(),
                      rows, C);
  }
  NormRef ref{rows, C, eps, rms};
  auto xd = toDouble(x), wd = toDouble(w), bd = toDouble(b), dyd = toDouble(dy);
  auto loss = [&] { return ref.loss(xd, wd, bd, dyd); };
  auto gx = centralDifference(xd, loss), gw = centralDifference(wd, loss), gb = centralDifference(bd, loss);
  for (size_t i = 0; i < gx.size(); ++i) gx[i] += dx0[i];
  for (size_t i = 0; i < gw.size(); ++i) gw[i] += dw0[i], gb[i] += db0[i];
  const std::string what = std::string(rms ? "rmsNorm" : "layerNorm") + " rows=" + std::to_string(rows) +
                           " C=" + std::to_string(C);
  expectClose(dx, gx, 1e-4, 1e-4, what + " dx");
  expectClose(dw, gw, 1e-4, 1e-4, what + " dw");
  if (!rms) expectClose(db, gb, 1e-4, 1e-4, what + " db");
}

TEST_P(TrainingKernels, LayerNormBackwardMatchesCentralDifferences) {
  uint32_t seed = 20;
  for (auto shape : {std::vector<int64_t>{1, 1}, {1, 3}, {4, 17}, {3, 40}, {70, 33}})
    checkNormBackward(pool, shape[0], shape[1], false, seed += 10);
}

TEST_P(TrainingKernels, RmsNormBackwardMatchesCentralDifferences) {
  uint32_t seed = 30;
  for (auto shape : {std::vector<int64_t>{1, 1}, {1, 3}, {4, 17}, {3, 40}, {70, 33}})
    checkNormBackward(pool, shape[0], shape[1], true, seed += 10);
}

TEST_P(TrainingKernels, NormForwardsSaveStatsAndMatchTheForwardKernels) {
  const int64_t rows = 9, C = 131;
  auto x = randomVector(rows * C, 40, -3, 5), w = randomVector(C, 41), b = randomVector(C, 42);
  std::vector<float> y(rows * C), y_plain(rows * C), mean(rows), rstd(rows);
  layerNormForward(pool, x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, C, 1e-5f);
  layerNorm(pool, x.data(), w.data(), b.data(), y_plain.data(), rows, C, 1e-5f);
  EXPECT_EQ(y, y_plain);
  for (int64_t r = 0; r < rows; ++r) {
    double m = 0, var = 0;
    for (int64_t i = 0; i < C; ++i) m += x[r * C + i];
    m /= C;
    for (int64_t i = 0; i < C; ++i) var += (x[r * C + i] - m) * (x[r * C + i] - m);
    EXPECT_NEAR(mean[r], m, 1e-6);
    EXPECT_NEAR(rstd[r], 1.0 / std::sqrt(var / C + 1e-5), 1e-5 * rstd[r]);
  }
  rmsNormForward(pool, x.data(), w.data(), y.data(), rstd.data(), rows, C, 1e-6f);
  rmsNorm(pool, x.data(), w.data(), y_plain.data(), rows, C, 1e-6f);
  EXPECT_EQ(y, y_plain);
}

TEST_P(TrainingKernels, NormBackwardIsIndependentOfPoolSize) {
  ThreadPool single(1);
  const int64_t rows = 300, C = 200;
  auto x = randomVector(rows * C, 43), w = randomVector(C, 44), dy = randomVector(rows * C, 45);
  std::vector<float> y(rows * C), mean(rows), rstd(rows);
  layerNormForward(pool, x.data(), w.data(), nullptr, y.data(), mean.data(), rstd.data(), rows, C, 1e-5f);
  std::vector<float> dx1(rows * C), dw1(C), dx2(rows * C), dw2(C);
  layerNormBackward(pool, dy.data(), x.data(), w.data(), mean.data(), rstd.data(), dx1.data(), dw1.data(), nullptr,
                    rows, C);
  layerNormBackward(single, dy.data(), x.data(), w.data(), mean.data(), rstd.data(), dx2.data(), dw2.data(), nullptr,
                    rows, C);
  EXPECT_EQ(dx1, dx2);
  EXPECT_EQ(dw1, dw2);
}

// ------------------------------------------------------------------ attention

struct AttentionShape {
  int64_t B, T, H, Hkv, D;
  bool causal = true;
};

// q, k, v in one fused (B, T, (H + 2 Hkv) D) buffer, as the compiler lays them out.
struct AttentionProblem {
  AttentionShape s;
  int64_t row, out_row;
  std::vector<double> qkv, dout;  // dout rows are out_row apart

  AttentionProblem(const AttentionShape& shape, uint32_t seed) : s(shape) {
    row = (s.H + 2 * s.Hkv) * s.D, out_row = s.H * s.D + 2;
    qkv = toDouble(randomVector(s.B * s.T * row, seed, -2, 2));
    dout = toDouble(randomVector(s.B * s.T * out_row, seed + 1));
  }
  double scale() const { return 1.0 / std::sqrt(double(s.D)); }
  size_t qIndex(int64_t b, int64_t t, int64_t h, int64_t i) const { return (b * s.T + t) * row + h * s.D + i; }
  size_t kIndex(int64_t b, int64_t t, int64_t g, int64_t i) const { return qIndex(b, t, s.H + g, i); }
  size_t vIndex(int64_t b, int64_t t, int64_t g, int64_t i) const { return qIndex(b, t, s.H + s.Hkv + g, i); }
  int64_t keys(int64_t t) const { return s.causal ? t + 1 : s.T; }

  // Softmax probabilities of query row (b, h, t).
  std::vector<double> probabilities(int64_t b, int64_t h, int64_t t) const {
    const int64_t g = h / (s.H / s.Hkv);
    std::vector<double> p(keys(t));
    double mx = -1e300, sum = 0;
    for (int64_t j = 0; j < keys(t); ++j) {
      double d = 0;
      for (int64_t i = 0; i < s.D; ++i) d += qkv[qIndex(b, t, h, i)] * qkv[kIndex(b, j, g, i)];
      p[j] = d * scale();
      mx = std::max(mx, p[j]);
    }
    for (auto& v : p) sum += v = std::exp(v - mx);
    for (auto& v : p) v /= sum;
    return p;
  }
  double outValue(int64_t b, int64_t h, int64_t t, int64_t i, const std::vector<double>& p) const {
    double o = 0;
    for (int64_t j = 0; j < keys(t); ++j) o += p[j] * qkv[vIndex(b, j, h / (s.H / s.Hkv), i)];
    return o;
  }
  // sum(dout * attention(q, k, v))
  double loss() const {
    double total = 0;
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t h = 0; h < s.H; ++h)
        for (int64_t t = 0; t < s.T; ++t) {
          auto p = probabilities(b, h, t);
          for (int64_t i = 0; i < s.D; ++i)
            total += dout[(b * s.T + t) * out_row + h * s.D + i] * outValue(b, h, t, i, p);
        }
    return total;
  }
  // d loss / d qkv, analytically: dS = P (dP - rowsum(P dP)).
  std::vector<double> gradient() const {
    std::vector<double> grad(qkv.size(), 0.0);
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t h = 0; h < s.H; ++h)
        for (int64_t t = 0; t < s.T; ++t) {
          const int64_t g = h / (s.H / s.Hkv);
          const double* dO = &dout[(b * s.T + t) * out_row + h * s.D];
          auto p = probabilities(b, h, t);
          std::vector<double> dp(keys(t));
          double delta = 0;
          for (int64_t j = 0; j < keys(t); ++j) {
            dp[j] = 0;
            for (int64_t i = 0; i < s.D; ++i) dp[j] += dO[i] * qkv[vIndex(b, j, g, i)];
            delta += p[j] * dp[j];
          }
          for (int64_t j = 0; j < keys(t); ++j) {
            const double ds = p[j] * (dp[j] - delta) * scale();
            for (int64_t i = 0; i < s.D; ++i) {
              grad[qIndex(b, t, h, i)] += ds * qkv[kIndex(b, j, g, i)];
              grad[kIndex(b, j, g, i)] += ds * qkv[qIndex(b, t, h, i)];
              grad[vIndex(b, j, g, i)] += p[j] * dO[i];
            }
          }
        }
    return grad;
  }
};

// Runs attentionForward + attentionBackward; returns the gradient in the fused
// qkv layout (dq, dk, dv written into one buffer of the same shape as qkv).
std::vector<float> kernelAttentionGradient(ThreadPool& pool, const AttentionProblem& pr, std::vector<float>* out_lse) {
  const auto& s = pr.s;
  std::vector<float> qkv(pr.qkv.begin(), pr.qkv.end()), dout(pr.dout.begin(), pr.dout.end());
  std::vector<float> out(s.B * s.T * pr.out_row), lse(s.B * s.H * s.T);
  std::vector<float> dqkv(qkv.size(), 99.0f);
  AttentionBackwardArgs g;
  AttentionArgs& a = g.forward;
  a.B = s.B, a.T = s.T, a.H = s.H, a.Hkv = s.Hkv, a.D = s.D, a.causal = s.causal;
  a.q = qkv.data(), a.k = qkv.data() + s.H * s.D, a.v = qkv.data() + (s.H + s.Hkv) * s.D;
  a.q_row_stride = a.k_row_stride = a.v_row_stride = pr.row;
  a.out = out.data(), a.out_row_stride = pr.out_row;
  a.scale = static_cast<float>(pr.scale());
  attentionForward(pool, a, lse.data());
  g.lse = lse.data();
  g.dout = dout.data(), g.dout_row_stride = pr.out_row;
  g.dq = dqkv.data(), g.dk = dqkv.data() + s.H * s.D, g.dv = dqkv.data() + (s.H + s.Hkv) * s.D;
  g.dq_row_stride = g.dk_row_stride = g.dv_row_stride = pr.row;
  attentionBackward(pool, g);
  if (out_lse != nullptr) *out_lse = lse;
  return dqkv;
}

std::string describe(const AttentionShape& s) {
  return "B=" + std::to_string(s.B) + " T=" + std::to_string(s.T) + " H=" + std::to_string(s.H) +
         " Hkv=" + std::to_string(s.Hkv) + " D=" + std::to_string(s.D) + (s.causal ? " causal" : " full");
}

TEST_P(TrainingKernels, AttentionBackwardMatchesCentralDifferences) {
  uint32_t seed = 50;
  for (AttentionShape s : {AttentionShape{1, 1, 1, 1, 3}, {1, 3, 2, 1, 3}, {2, 4, 2, 2, 5}, {1, 5, 4, 2, 2, false}}) {
    AttentionProblem pr(s, seed += 2);
    auto fd = centralDifference(pr.qkv, [&] { return pr.loss(); });
    expectClose(kernelAttentionGradient(pool, pr, nullptr), fd, 1e-4, 1e-4, describe(s));
  }
}

TEST_P(TrainingKernels, AttentionBackwardMatchesDoubleReference) {
  uint32_t seed = 60;
  for (AttentionShape s : {AttentionShape{1, 1, 4, 2, 7}, {2, 33, 4, 2, 13}, {1, 70, 3, 1, 16}, {1, 100, 6, 2, 33},
                           {2, 65, 2, 2, 64}, {1, 40, 4, 1, 9, false}}) {
    AttentionProblem pr(s, seed += 2);
    std::vector<float> lse;
    auto got = kernelAttentionGradient(pool, pr, &lse);
    expectClose(got, pr.gradient(), 1e-4, 2e-5, describe(s));
    // lse is the log of the softmax denominator of the scaled scores.
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t h = 0; h < s.H; ++h)
        for (int64_t t = 0; t < s.T; ++t) {
          const int64_t g = h / (s.H / s.Hkv);
          double sum = 0;
          for (int64_t j = 0; j < pr.keys(t); ++j) {
            double d = 0;
            for (int64_t i = 0; i < s.D; ++i) d += pr.qkv[pr.qIndex(b, t, h, i)] * pr.qkv[pr.kIndex(b, j, g, i)];
            sum += std::exp(d * pr.scale());
          }
          ASSERT_NEAR(lse[(b * s.H + h) * s.T + t], std::log(sum), 1e-5 * (1 + std::fabs(std::log(sum))))
              << describe(s);
        }
  }
}

TEST_P(TrainingKernels, AttentionBackwardIsIndependentOfPoolSize) {
  ThreadPool single(1), four(4);
  AttentionProblem pr({2, 70, 4, 2, 24}, 65);
  const auto reference = kernelAttentionGradient(single, pr, nullptr);
  EXPECT_EQ(kernelAttentionGradient(pool, pr, nullptr), reference);
  EXPECT_EQ(kernelAttentionGradient(four, pr, nullptr), reference);
}

TEST_P(TrainingKernels, AttentionForwardMatchesAttention) {
  AttentionProblem pr({2, 45, 4, 2, 11}, 70);
  const auto& s = pr.s;
  std::vector<float> qkv(pr.qkv.begin(), pr.qkv.end()), out1(s.B * s.T * pr.out_row), out2 = out1;
  std::vector<float> lse(s.B * s.H * s.T);
  AttentionArgs a;
  a.B = s.B, a.T = s.T, a.H = s.H, a.Hkv = s.Hkv, a.D = s.D;
  a.q = qkv.data(), a.k = qkv.data() + s.H * s.D, a.v = qkv.data() + (s.H + s.Hkv) * s.D;
  a.q_row_stride = a.k_row_stride = a.v_row_stride = pr.row;
  a.out = out1.data(), a.out_row_stride = pr.out_row;
  a.scale = static_cast<float>(pr.scale());
  attentionForward(pool, a, lse.data());
  a.out = out2.data();
  attention(pool, a);
  EXPECT_EQ(out1, out2);
}

TEST_P(TrainingKernels, AttentionBackwardRejectsBadArguments) {
  std::vector<float> buf(64);
  AttentionBackwardArgs g;
  AttentionArgs& a = g.forward;
  a.B = 1, a.T = 1, a.H = 2, a.Hkv = 1, a.D = 4;
  a.q = a.k = a.v = buf.data();
  a.out = buf.data();
  a.q_row_stride = a.out_row_stride = 8, a.k_row_stride = a.v_row_stride = 4;
  g.lse = buf.data(), g.dout = buf.data(), g.dout_row_stride = 8;
  g.dq = g.dk = g.dv = buf.data();
  g.dq_row_stride = 8, g.dk_row_stride = 4, g.dv_row_stride = 3;  // < Hkv*D
  EXPECT_THAT([&] { attentionBackward(pool, g); }, ThrowsMessage<std::invalid_argument>(HasSubstr("dv_row_stride")));
  g.dv_row_stride = 4;
  g.lse = nullptr;
  EXPECT_THROW(attentionBackward(pool, g), std::invalid_argument);
}

// ------------------------------------------------------------------ rope

// rope is linear, so its backward is its adjoint: <rope(x), y> = <x, ropeBackward(y)>.
TEST_P(TrainingKernels, RopeBackwardIsTheAdjointOfRope) {
  for (auto shape : {std::vector<int64_t>{1, 1, 1, 2}, {2, 7, 3, 6}, {1, 20, 4, 64}, {2, 3, 2, 34}}) {
    const int64_t B = shape[0], T = shape[1], H = shape[2], D = shape[3], n = B * T * H * D, offset = 3;
    auto x = randomVector(n, 80), y = randomVector(n, 81);
    auto rx = x, ry = y;
    rope(pool, rx.data(), B, T, H, D, 10000.0f, offset);
    ropeBackward(pool, ry.data(), B, T, H, D, 10000.0f, offset);
    double lhs = 0, rhs = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
      lhs += double(rx[i]) * y[i], rhs += double(x[i]) * ry[i];
      mag += std::fabs(x[i] * y[i]);
    }
    EXPECT_NEAR(lhs, rhs, 1e-6 * mag) << "D=" << D;
    // A rotation's inverse is its adjoint.
    ropeBackward(pool, rx.data(), B, T, H, D, 10000.0f, offset);
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(rx[i], x[i], 1e-6);
  }
  std::vector<float> x(6);
  EXPECT_THROW(ropeBackward(pool, x.data(), 1, 1, 1, 3, 10000.0f, 0), std::invalid_argument);
}

// ------------------------------------------------------------------ elementwise

double actDerivativeRef(Act act, double x) {
  const double kSqrt2OverPi = std::sqrt(2.0 / M_PI);
  switch (act) {
    case Act::None: return 1.0;
    case Act::Gelu: return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
    case Act::GeluTanh: {
      const double u = kSqrt2OverPi * (x + 0.044715 * x * x * x), th = std::tanh(u);
      return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * kSqrt2OverPi * (1 + 3 * 0.044715 * x * x);
    }
    case Act::Relu: return x > 0 ? 1.0 : 0.0;
    case Act::Silu: {
      const double s = 1.0 / (1.0 + std::exp(-x));
      return s * (1 + x * (1 - s));
    }
  }
  return 0;
}

TEST_P(TrainingKernels, UnaryBackwardMatchesDoubleDerivatives) {
  const int64_t n = 20001;
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = -12.0f + 24.0f * float(i) / float(n - 1);
  x[0] = 0.0f, x[1] = -0.0f, x[2] = 30.0f, x[3] = -30.0f;
  auto dy = randomVector(n, 90, -2, 2);
  for (Act act : {Act::None, Act::Gelu, Act::GeluTanh, Act::Relu, Act::Silu}) {
    std::vector<float> dx(n);
    unaryBackward(pool, act, x.data(), dy.data(), dx.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double ref = dy[i] * actDerivativeRef(act, x[i]);
      // Relative accuracy, except that values far below 1 may carry an absolute error of 1e-7 * |dy|
      // (gelu' crosses zero near x = -0.75, where relative accuracy is meaningless in float).
      ASSERT_NEAR(dx[i], ref, 2e-5 * std::fabs(ref) + 1e-7 * std::fabs(dy[i]))
          << "act=" << int(act) << " x=" << x[i];
    }
    // In place over dy.
    auto inplace = dy;
    unaryBackward(pool, act, x.data(), inplace.data(), inplace.data(), n);
    EXPECT_EQ(inplace, dx);
  }
  EXPECT_THROW(unaryBackward(pool, static_cast<Act>(9), x.data(), dy.data(), dy.data(), n), std::invalid_argument);
}

TEST_P(TrainingKernels, SwigluAndMulBackward) {
  for (int64_t n : {1, 15, 16, 4099, 70001}) {
    auto gate = randomVector(n, 91, -10, 10), up = randomVector(n, 92), dy = randomVector(n, 93);
    std::vector<float> dgate(n), dup(n), da(n), db(n);
    swigluBackward(pool, gate.data(), up.data(), dy.data(), dgate.data(), dup.data(), n);
    mulBackward(pool, gate.data(), up.data(), dy.data(), da.data(), db.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double silu = gate[i] / (1.0 + std::exp(-double(gate[i])));
      const double dg = double(dy[i]) * up[i] * actDerivativeRef(Act::Silu, gate[i]), du = double(dy[i]) * silu;
      ASSERT_NEAR(dgate[i], dg, 2e-5 * std::fabs(dg) + 1e-7 * std::fabs(dy[i] * up[i])) << "gate=" << gate[i];
      ASSERT_NEAR(dup[i], du, 2e-5 * std::fabs(du) + 1e-30);
      ASSERT_EQ(da[i], dy[i] * up[i]);
      ASSERT_EQ(db[i], dy[i] * gate[i]);
    }
  }
}

// ------------------------------------------------------------------ embeddings

TEST_P(TrainingKernels, EmbeddingBackwardScattersInOrder) {
  ThreadPool single(1);
  const int64_t vocab = 11, C = 37, rows = 500;
  std::vector<int32_t> ids(rows);
  std::mt19937 rng(100);
  for (auto& id : ids) id = static_cast<int32_t>(rng() % 5) * 2;  // repeated ids, some rows never hit
  auto dout = randomVector(rows * C, 101);
  auto dtable = randomVector(vocab * C, 102);
  auto dtable_single = dtable;
  std::vector<float> ref = dtable;  // the same float additions in row order
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) ref[ids[r] * C + c] += dout[r * C + c];
  embeddingBackward(pool, ids.data(), dout.data(), dtable.data(), rows, C, vocab);
  embeddingBackward(single, ids.data(), dout.data(), dtable_single.data(), rows, C, vocab);
  EXPECT_EQ(dtable, ref);
  EXPECT_EQ(dtable_single, ref);

  ids[123] = static_cast<int32_t>(vocab);
  EXPECT_THAT([&] { embeddingBackward(pool, ids.data(), dout.data(), dtable.data(), rows, C, vocab); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("ids[123]")));
}

TEST_P(TrainingKernels, LearnedPositionsBackwardSumsOverBatch) {
  const int64_t B = 3, T = 7, C = 45, P = 16, offset = 4;
  auto dx = randomVector(B * T * C, 110), dpos = randomVector(P * C, 111);
  auto ref = toDouble(dpos);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) ref[(offset + t) * C + c] += dx[(b * T + t) * C + c];
  learnedPositionsBackward(pool, dx.data(), dpos.data(), B, T, C, offset);
  expectClose(dpos, ref, 1e-6, 1e-6, "learnedPositionsBackward");
}

// ------------------------------------------------------------------ cross-entropy

struct CrossEntropyProblem {
  int64_t rows, V, ld;
  std::vector<float> logits;
  std::vector<int32_t> targets;
};

CrossEntropyProblem makeCrossEntropy(int64_t rows, int64_t V, uint32_t seed) {
  CrossEntropyProblem p{rows, V, V + 3, {}, {}};
  p.logits = randomVector(rows * p.ld, seed, -8, 8);
  std::mt19937 rng(seed);
  for (int64_t r = 0; r < rows; ++r) {
    // Row offsets up to +-3000: exp of the raw logits would overflow.
    const float offset = static_cast<float>(int(rng() % 7) - 3) * 1000.0f;
    for (int64_t i = 0; i < V; ++i) p.logits[r * p.ld + i] += offset;
    p.targets.push_back(r % 4 == 3 ? -100 : static_cast<int32_t>(rng() % V));
  }
  return p;
}

// Checks losses, lse, the in-place gradient and the mean against double precision.
// grad_lse_rel: the gradient's relative tolerance per unit of |lse|.
void checkCrossEntropy(const CrossEntropyProblem& p, const std::vector<float>& logits_before,
                       const std::vector<float>& losses, const std::vector<float>& lse, CrossEntropyLoss loss,
                       float grad_scale, double grad_lse_rel) {
  double sum = 0;
  int64_t count = 0;
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* row = &logits_before[r * p.ld];
    double mx = -1e300, z = 0;
    for (int64_t i = 0; i < p.V; ++i) mx = std::max(mx, double(row[i]));
    for (int64_t i = 0; i < p.V; ++i) z += std::exp(row[i] - mx);
    const double row_lse = mx + std::log(z);
    const bool masked = p.targets[r] == -100;
    ASSERT_NEAR(lse[r], row_lse, 2e-7 * std::fabs(row_lse) + 1e-5);
    const double row_loss = masked ? 0.0 : row_lse - row[p.targets[r]];
    ASSERT_NEAR(losses[r], row_loss, 1e-5 * (1 + std::fabs(row_loss))) << "V=" << p.V << " row " << r;
    if (!masked) sum += row_loss, ++count;
    const double rel = 1e-5 + grad_lse_rel * std::fabs(row_lse);
    for (int64_t i = 0; i < p.V; ++i) {
      const double grad = masked ? 0.0 : (std::exp(row[i] - row_lse) - (i == p.targets[r])) * grad_scale;
      ASSERT_NEAR(p.logits[r * p.ld + i], grad, rel * std::fabs(grad) + 1e-9)
          << "V=" << p.V << " (" << r << "," << i << ")";
    }
    for (int64_t i = p.V; i < p.ld; ++i) ASSERT_EQ(p.logits[r * p.ld + i], logits_before[r * p.ld + i]);
  }
  EXPECT_EQ(loss.count, count);
  EXPECT_NEAR(loss.mean, count > 0 ? sum / count : 0.0, 1e-5 * (1 + sum / std::max<int64_t>(count, 1)));
}

TEST_P(TrainingKernels, CrossEntropySeparateAndFusedPasses) {
  for (auto shape : {std::vector<int64_t>{1, 1}, {4, 5}, {9, 1000}, {8, 50257}})
    for (bool fused : {false, true}) {
      auto p = makeCrossEntropy(shape[0], shape[1], 120 + uint32_t(shape[1]));
      const auto logits_before = p.logits;
      std::vector<float> losses(p.rows, -1.0f), lse(p.rows);
      CrossEntropyArgs args;
      args.rows = p.rows, args.V = p.V, args.logits = p.logits.data(), args.ld = p.ld;
      args.targets = p.targets.data(), args.losses = losses.data(), args.lse = lse.data();
      const int64_t count = std::count_if(p.targets.begin(), p.targets.end(), [](int32_t t) { return t != -100; });
      const float grad_scale = count > 0 ? 1.0f / float(count) : 0.0f;
      CrossEntropyLoss loss;
      if (fused) {
        loss = crossEntropyForwardBackward(pool, args, grad_scale);
      } else {
        loss = crossEntropyForward(pool, args);
        EXPECT_EQ(p.logits, logits_before) << "the forward pass must not modify the logits";
        crossEntropyBackward(pool, args, grad_scale);
      }
      // The separate backward starts from the rounded lse: ~|lse| 2^-24 relative (see TrainingKernels.h).
      checkCrossEntropy(p, logits_before, losses, lse, loss, grad_scale, fused ? 0.0 : 1.2e-7);
    }
}

TEST_P(TrainingKernels, CrossEntropyRejectsBadTargets) {
  std::vector<float> logits(12), losses(3), lse(3);
  std::vector<int32_t> targets = {1, -100, 4};
  CrossEntropyArgs args;
  args.rows = 3, args.V = 4, args.ld = 4, args.logits = logits.data(), args.targets = targets.data();
  args.losses = losses.data(), args.lse = lse.data();
  EXPECT_THAT([&] { crossEntropyForward(pool, args); }, ThrowsMessage<std::invalid_argument>(HasSubstr("targets[2]")));
  targets[2] = -100, targets[0] = -100;
  CrossEntropyLoss loss = crossEntropyForward(pool, args);
  EXPECT_EQ(loss.count, 0);
  EXPECT_EQ(loss.mean, 0.0f);
}

// ------------------------------------------------------------------ optimizer

// torch.optim.AdamW's documented update (amsgrad off), in double.
struct AdamWReference {
  std::vector<double> p, m, v;
  void step(const std::vector<float>& grad, double lr, double b1, double b2, double eps, double wd, int t,
            double scale) {
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] * scale;
      p[i] -= lr * wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(b1, t)), v_hat = v[i] / (1 - std::pow(b2, t));
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

TEST_P(TrainingKernels, AdamWFollowsTorchOverSeveralSteps) {
  const int64_t n = 10007;
  auto param = randomVector(n, 130);
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  AdamWReference ref{toDouble(param), std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  AdamWArgs args;
  args.param = param.data(), args.m = m.data(), args.v = v.data(), args.n = n;
  args.lr = 3e-3f, args.beta1 = 0.9f, args.beta2 = 0.95f, args.eps = 1e-8f, args.weight_decay = 0.1f;
  for (int t = 1; t <= 6; ++t) {
    auto grad = randomVector(n, 131 + t, -1e-2f, 1e-2f);
    grad[t] = 0.0f;  // a zero gradient exercises eps
    args.grad = grad.data();
    args.step = t;
    args.grad_scale = t % 2 == 0 ? 0.5f : 1.0f;
    adamw(pool, args);
    ref.step(grad, args.lr, args.beta1, args.beta2, args.eps, args.weight_decay, t, args.grad_scale);
    expectClose(param, ref.p, 2e-6, 2e-6, "param at step " + std::to_string(t));
    expectClose(m, ref.m, 1e-5, 1e-10, "m at step " + std::to_string(t));
    expectClose(v, ref.v, 1e-5, 1e-14, "v at step " + std::to_string(t));
  }
  args.step = 0;
  EXPECT_THROW(adamw(pool, args), std::invalid_argument);
  args.step = 1, args.beta2 = 1.0f;
  EXPECT_THROW(adamw(pool, args), std::invalid_argument);
}

TEST_P(TrainingKernels, SumOfSquaresIsAccurateAndDeterministic) {
  ThreadPool single(1);
  for (int64_t n : {1, 17, 16384, 16385, 1000003}) {
    auto x = randomVector(n, 140, -3, 3);
    double ref = 0;
    for (float f : x) ref += double(f) * f;
    const double got = sumOfSquares(pool, x.data(), n);
    EXPECT_NEAR(got, ref, 1e-12 * ref) << "n=" << n;
    EXPECT_EQ(got, sumOfSquares(single, x.data(), n)) << "n=" << n;
  }
  EXPECT_EQ(sumOfSquares(pool, nullptr, 0), 0.0);
  EXPECT_THROW(sumOfSquares(pool, nullptr, 5), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Builds, TrainingKernels, ::testing::Values("avx512", "portable"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace lathe::cpu
