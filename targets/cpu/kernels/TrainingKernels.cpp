// Public entry points of TrainingKernels.h: argument checks, then dispatch to
// the training table of the kernel build activeKernels() selects.
#include <cmath>
#include <stdexcept>
#include <string>

#include "ArgumentChecks.h"
#include "ThreadPool.h"
#include "TrainingInternal.h"

namespace lathe::cpu {

const detail::TrainingKernelTable& detail::activeTrainingKernels() {
#if defined(LATHE_CPU_HAVE_AVX512_TU)
  if (&activeKernels() == &avx512Kernels()) return avx512TrainingKernels();
#endif
  return portableTrainingKernels();
}

namespace {

using detail::fail;
using detail::requireAct;
using detail::requireAtLeast;
using detail::requireNonNegative;
using detail::requirePointer;

void requireRowsAndChannels(const char* kernel, int64_t rows, int64_t C) {
  requireNonNegative(kernel, "rows", rows);
  requireNonNegative(kernel, "C", C);
}

const detail::TrainingKernelTable& kernels() { return detail::activeTrainingKernels(); }

}  // namespace

void biasBackward(ThreadPool& pool, const float* dout, int64_t ld, float* dbias, int64_t rows, int64_t N) {
  const char* k = "biasBackward";
  requireNonNegative(k, "rows", rows);
  requireNonNegative(k, "N", N);
  if (rows == 0 || N == 0) return;
  requirePointer(k, "dout", dout);
  requirePointer(k, "dbias", dbias);
  requireAtLeast(k, "ld", ld, "N", N);
  kernels().biasBackward(pool, dout, ld, dbias, rows, N);
}

void layerNormForward(ThreadPool& pool, const float* x, const float* w, const float* b, float* y, float* mean,
                      float* rstd, int64_t rows, int64_t C, float eps) {
  const char* k = "layerNormForward";
  requireRowsAndChannels(k, rows, C);
  if (rows == 0 || C == 0) return;
  requirePointer(k, "x", x);
  requirePointer(k, "w", w);
  requirePointer(k, "y", y);
  requirePointer(k, "mean", mean);
  requirePointer(k, "rstd", rstd);
  kernels().layerNormForward(pool, x, w, b, y, mean, rstd, rows, C, eps);
}

void layerNormBackward(ThreadPool& pool, const float* dy, const float* x, const float* w, const float* mean,
                       const float* rstd, float* dx, float* dw, float* db, int64_t rows, int64_t C) {
  const char* k = "layerNormBackward";
  requireRowsAndChannels(k, rows, C);
  if (rows == 0 || C == 0) return;
  requirePointer(k, "dy", dy);
  requirePointer(k, "x", x);
  requirePointer(k, "w", w);
  requirePointer(k, "mean", mean);
  requirePointer(k, "rstd", rstd);
  requirePointer(k, "dx", dx);
  requirePointer(k, "dw", dw);
  kernels().layerNormBackward(pool, dy, x, w, mean, rstd, dx, dw, db, rows, C);
}

void rmsNormForward(ThreadPool& pool, const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t C,
                    float eps) {
  const char* k = "rmsNormForward";
  requireRowsAndChannels(k, rows, C);
  if (rows == 0 || C == 0) return;
  requirePointer(k, "x", x);
  requirePointer(k, "w", w);
  requirePointer(k, "y", y);
  requirePointer(k, "rstd", rstd);
  kernels().rmsNormForward(pool, x, w, y, rstd, rows, C, eps);
}

void rmsNormBackward(ThreadPool& pool, const float* dy, const float* x, const float* w, const float* rstd, float* dx,
                     float* dw, int64_t rows, int64_t C) {
  const char* k = "rmsNormBackward";
  requireRowsAndChannels(k, rows, C);
  if (rows == 0 || C == 0) return;
  requirePointer(k, "dy", dy);
  requirePointer(k, "x", x);
  requirePointer(k, "w", w);
  requirePointer(k, "rstd", rstd);
  requirePointer(k, "dx", dx);
  requirePointer(k, "dw", dw);
  kernels().rmsNormBackward(pool, dy, x, w, rstd, dx, dw, rows, C);
}

namespace {

// Checks the forward arguments; false when there is nothing to compute.
bool checkAttentionShape(const char* k, const AttentionArgs& a) {
  requireNonNegative(k, "B", a.B);
  requireNonNegative(k, "T", a.T);
  requireNonNegative(k, "H", a.H);
  requireNonNegative(k, "Hkv", a.Hkv);
  requireNonNegative(k, "D", a.D);
  if (a.B == 0 || a.T == 0 || a.H == 0 || a.D == 0) return false;
  if (a.Hkv <= 0 || a.H % a.Hkv != 0)
    fail(k, "H (" + std::to_string(a.H) + ") must be a positive multiple of Hkv (" + std::to_string(a.Hkv) + ")");
  requirePointer(k, "q", a.q);
  requirePointer(k, "k", a.k);
  requirePointer(k, "v", a.v);
  requirePointer(k, "out", a.out);
  requireAtLeast(k, "q_row_stride", a.q_row_stride, "H*D", a.H * a.D);
  requireAtLeast(k, "k_row_stride", a.k_row_stride, "Hkv*D", a.Hkv * a.D);
  requireAtLeast(k, "v_row_stride", a.v_row_stride, "Hkv*D", a.Hkv * a.D);
  requireAtLeast(k, "out_row_stride", a.out_row_stride, "H*D", a.H * a.D);
  return true;
}

}  // namespace

void attentionForward(ThreadPool& pool, const AttentionArgs& args, float* lse) {
  const char* k = "attentionForward";
  if (!checkAttentionShape(k, args)) return;
  requirePointer(k, "lse", lse);
  kernels().attentionForward(pool, args, lse);
}

void attentionBackward(ThreadPool& pool, const AttentionBackwardArgs& g) {
  const char* k = "attentionBackward";
  if (!checkAttentionShape(k, g.forward)) return;
  const AttentionArgs& a = g.forward;
  requirePointer(k, "lse", g.lse);
  requirePointer(k, "dout", g.dout);
  requirePointer(k, "dq", g.dq);
  requirePointer(k, "dk", g.dk);
  requirePointer(k, "dv", g.dv);
  requireAtLeast(k, "dout_row_stride", g.dout_row_stride, "H*D", a.H * a.D);
  requireAtLeast(k, "dq_row_stride", g.dq_row_stride, "H*D", a.H * a.D);
  requireAtLeast(k, "dk_row_stride", g.dk_row_stride, "Hkv*D", a.Hkv * a.D);
  requireAtLeast(k, "dv_row_stride", g.dv_row_stride, "Hkv*D", a.Hkv * a.D);
  kernels().attentionBackward(pool, g);
}

void ropeBackward(ThreadPool& pool, float* dx, int64_t B, int64_t T, int64_t H, int64_t D, float theta,
                  int64_t pos_offset) {
  if (!detail::checkRopeArgs("ropeBackward", "dx", dx, B, T, H, D, theta, pos_offset)) return;
  kernels().ropeBackward(pool, dx, B, T, H, D, theta, pos_offset);
}

void unaryBackward(ThreadPool& pool, Act act, const float* x, const float* dy, float* dx, int64_t n) {
  const char* k = "unaryBackward";
  requireNonNegative(k, "n", n);
  requireAct(k, act);
  if (n == 0) return;
  requirePointer(k, "x", x);
  requirePointer(k, "dy", dy);
  requirePointer(k, "dx", dx);
  kernels().unaryBackward(pool, act, x, dy, dx, n);
}

void swigluBackward(ThreadPool& pool, const float* gate, const float* up, const float* dy, float* dgate, float* dup,
                    int64_t n) {
  const char* k = "swigluBackward";
  requireNonNegative(k, "n", n);
  if (n == 0) return;
  requirePointer(k, "gate", gate);
  requirePointer(k, "up", up);
  requirePointer(k, "dy", dy);
  requirePointer(k, "dgate", dgate);
  requirePointer(k, "dup", dup);
  kernels().swigluBackward(pool, gate, up, dy, dgate, dup, n);
}

void mulBackward(ThreadPool& pool, const float* a, const float* b, const float* dy, float* da, float* db, int64_t n) {
  const char* k = "mulBackward";
  requireNonNegative(k, "n", n);
  if (n == 0) return;
  requirePointer(k, "a", a);
  requirePointer(k, "b", b);
  requirePointer(k, "dy", dy);
  requirePointer(k, "da", da);
  requirePointer(k, "db", db);
  kernels().mulBackward(pool, a, b, dy, da, db, n);
}

void embeddingBackward(ThreadPool& pool, const int32_t* ids, const float* dout, float* dtable, int64_t rows,
                       int64_t C, int64_t vocab) {
  const char* k = "embeddingBackward";
  requireRowsAndChannels(k, rows, C);
  requireNonNegative(k, "vocab", vocab);
  if (rows == 0 || C == 0) return;
  requirePointer(k, "ids", ids);
  requirePointer(k, "dout", dout);
  requirePointer(k, "dtable", dtable);
  for (int64_t r = 0; r < rows; ++r)
    if (ids[r] < 0 || ids[r] >= vocab)
      fail(k, "ids[" + std::to_string(r) + "] = " + std::to_string(ids[r]) + " is outside [0, " +
                  std::to_string(vocab) + ")");
  kernels().embeddingBackward(pool, ids, dout, dtable, rows, C);
}

void learnedPositionsBackward(ThreadPool& pool, const float* dx, float* dpos, int64_t B, int64_t T, int64_t C,
                              int64_t pos_offset) {
  const char* k = "learnedPositionsBackward";
  requireNonNegative(k, "B", B);
  requireNonNegative(k, "T", T);
  requireNonNegative(k, "C", C);
  requireNonNegative(k, "pos_offset", pos_offset);
  if (B == 0 || T == 0 || C == 0) return;
  requirePointer(k, "dx", dx);
  requirePointer(k, "dpos", dpos);
  kernels().learnedPositionsBackward(pool, dx, dpos, B, T, C, pos_offset);
}

namespace {

// Checks the arguments; returns the number of unmasked rows.
int64_t checkCrossEntropy(const char* k, const CrossEntropyArgs& c) {
  requireNonNegative(k, "rows", c.rows);
  requireNonNegative(k, "V", c.V);
  if (c.rows == 0) return 0;
  if (c.V == 0) fail(k, "V must be > 0");
  requirePointer(k, "logits", c.logits);
  requirePointer(k, "targets", c.targets);
  requirePointer(k, "lse", c.lse);
  requireAtLeast(k, "ld", c.ld, "V", c.V);
  int64_t count = 0;
  for (int64_t r = 0; r < c.rows; ++r) {
    const int32_t target = c.targets[r];
    if (target == c.ignore_index) continue;
    if (target < 0 || target >= c.V)
      fail(k, "targets[" + std::to_string(r) + "] = " + std::to_string(target) + " is outside [0, " +
                  std::to_string(c.V) + ") and is not ignore_index (" + std::to_string(c.ignore_index) + ")");
    ++count;
  }
  return count;
}

// Mean of the per-row losses over the unmasked rows.
CrossEntropyLoss meanLoss(const CrossEntropyArgs& args, int64_t count) {
  CrossEntropyLoss result;
  result.count = count;
  double sum = 0;
  for (int64_t r = 0; r < args.rows; ++r) sum += args.losses[r];
  if (count > 0) result.mean = static_cast<float>(sum / static_cast<double>(count));
  return result;
}

void requireFiniteScale(const char* k, float grad_scale) {
  if (!std::isfinite(grad_scale)) fail(k, "grad_scale must be finite, got " + std::to_string(grad_scale));
}

}  // namespace

CrossEntropyLoss crossEntropyForward(ThreadPool& pool, const CrossEntropyArgs& args) {
  const char* k = "crossEntropyForward";
  const int64_t count = checkCrossEntropy(k, args);
  if (args.rows == 0) return {};
  requirePointer(k, "losses", args.losses);
  kernels().crossEntropyForward(pool, args);
  return meanLoss(args, count);
}

void crossEntropyBackward(ThreadPool& pool, const CrossEntropyArgs& args, float grad_scale) {
  const char* k = "crossEntropyBackward";
  checkCrossEntropy(k, args);
  if (args.rows == 0) return;
  requireFiniteScale(k, grad_scale);
  kernels().crossEntropyBackward(pool, args, grad_scale);
}

CrossEntropyLoss crossEntropyForwardBackward(ThreadPool& pool, const CrossEntropyArgs& args, float grad_scale) {
  const char* k = "crossEntropyForwardBackward";
  const int64_t count = checkCrossEntropy(k, args);
  if (args.rows == 0) return {};
  requirePointer(k, "losses", args.losses);
  requireFiniteScale(k, grad_scale);
  kernels().crossEntropyForwardBackward(pool, args, grad_scale);
  return meanLoss(args, count);
}

void adamw(ThreadPool& pool, const AdamWArgs& o) {
  const char* k = "adamw";
  requireNonNegative(k, "n", o.n);
  if (o.step < 1) fail(k, "step must be >= 1 (the first update is step 1), got " + std::to_string(o.step));
  if (!(o.lr >= 0) || !std::isfinite(o.lr)) fail(k, "lr must be finite and >= 0, got " + std::to_string(o.lr));
  if (!(o.beta1 >= 0 && o.beta1 < 1)) fail(k, "beta1 must lie in [0, 1), got " + std::to_string(o.beta1));
  if (!(o.beta2 >= 0 && o.beta2 < 1)) fail(k, "beta2 must lie in [0, 1), got " + std::to_string(o.beta2));
  if (!(o.eps > 0) || !std::isfinite(o.eps)) fail(k, "eps must be finite and > 0, got " + std::to_string(o.eps));
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay))
    fail(k, "weight_decay must be finite and >= 0, got " + std::to_string(o.weight_decay));
  if (!std::isfinite(o.grad_scale)) fail(k, "grad_scale must be finite, got " + std::to_string(o.grad_scale));
  if (o.n == 0) return;
  requirePointer(k, "param", o.param);
  requirePointer(k, "grad", o.grad);
  requirePointer(k, "m", o.m);
  requirePointer(k, "v", o.v);
  const double bias1 = 1.0 - std::pow(static_cast<double>(o.beta1), static_cast<double>(o.step));
  const double bias2 = 1.0 - std::pow(static_cast<double>(o.beta2), static_cast<double>(o.step));
  kernels().adamw(pool, o, bias1, bias2);
}

double sumOfSquares(ThreadPool& pool, const float* x, int64_t n) {
  const char* k = "sumOfSquares";
  requireNonNegative(k, "n", n);
  if (n == 0) return 0.0;
  requirePointer(k, "x", x);
  return kernels().sumOfSquares(pool, x, n);
}

}  // namespace lathe::cpu
