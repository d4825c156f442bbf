// CPU kernels of the training step: the backward pass of every forward kernel
// in Kernels.h (llm.c style: each layer has a forward/backward pair), fused
// softmax cross-entropy, and the AdamW update. fp32, row-major, threaded over
// the ThreadPool, vectorized like Kernels.h. Shapes use llm.c's notation.
//
// Gradient conventions, stated per kernel below:
//  - parameter gradients (dw, db, dtable, dpos, dbias) always ACCUMULATE (+=), so
//    micro-batch gradient accumulation and tied weights need no extra buffers;
//  - input gradients either accumulate (marked "+=") or overwrite ("="); the
//    normalization layers accumulate dx because their input is the residual
//    stream, whose gradient already holds the skip connection's share.
// Every reduction is split over its outputs, never over the summed axis, so the
// results are bitwise identical from run to run and for any pool size.
// The dense backward GEMMs are gemm() with GemmArgs::trans_a / accumulate:
//   dX(M,K) (+)= dY(M,N) . W(N,K):   trans_a = false, trans_b = false
//   dW(N,K) += dY(M,N)^T . X(M,K):   trans_a = true,  trans_b = false, accumulate = true
#pragma once

#include <cstdint>

#include "Kernels.h"

namespace lathe::cpu {

/// dbias(N) += sum over rows of dout(rows, N); dout rows are ld floats apart.
void biasBackward(ThreadPool& pool, const float* dout, int64_t ld, float* dbias, int64_t rows, int64_t N);

/// layerNorm() that also saves mean(rows) and rstd(rows) = 1/sqrt(var + eps).
void layerNormForward(ThreadPool& pool, const float* x, const float* w, const float* b, float* y, float* mean,
                      float* rstd, int64_t rows, int64_t C, float eps);
/// From dy(rows,C), x, w(C) and the saved mean/rstd: dx(rows,C) +=, dw(C) +=, db(C) += (db may be null).
void layerNormBackward(ThreadPool& pool, const float* dy, const float* x, const float* w, const float* mean,
                       const float* rstd, float* dx, float* dw, float* db, int64_t rows, int64_t C);

/// rmsNorm() that also saves rstd(rows) = 1/sqrt(mean(x^2) + eps).
void rmsNormForward(ThreadPool& pool, const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t C,
                    float eps);
/// dx(rows,C) +=, dw(C) +=.
void rmsNormBackward(ThreadPool& pool, const float* dy, const float* x, const float* w, const float* rstd, float* dx,
                     float* dw, int64_t rows, int64_t C);

/// attention() that also saves lse(B,H,T): the natural-log logsumexp of each
/// query row's scaled, masked scores, which the backward pass recomputes from.
void attentionForward(ThreadPool& pool, const AttentionArgs& args, float* lse);

/// Flash-attention-2 style backward: scores and probabilities are recomputed
/// from q, k and lse, never stored. `forward` holds the forward call's
/// arguments, including its output `out`. dq(B,T,H,D) =, dk, dv(B,T,Hkv,D) =
/// (overwritten; a kv head's gradient sums over its H/Hkv query heads). The
/// gradient buffers must not overlap the inputs or each other.
struct AttentionBackwardArgs {
  AttentionArgs forward;
  const float* lse = nullptr;
  const float* dout = nullptr; int64_t dout_row_stride = 0;
  float* dq = nullptr; int64_t dq_row_stride = 0;
  float* dk = nullptr; int64_t dk_row_stride = 0;
  float* dv = nullptr; int64_t dv_row_stride = 0;
};
void attentionBackward(ThreadPool& pool, const AttentionBackwardArgs& args);

/// Backward of rope(): in place on dx(B,T,H,D), the rotation by -angle.
void ropeBackward(ThreadPool& pool, float* dx, int64_t B, int64_t T, int64_t H, int64_t D, float theta,
                  int64_t pos_offset);

/// dx = dy * act'(x) over n (=; dx may alias dy). relu'(0) = 0, as in PyTorch.
void unaryBackward(ThreadPool& pool, Act act, const float* x, const float* dy, float* dx, int64_t n);
/// Backward of swiglu (y = silu(gate) * up): dgate =, dup = (may alias dy, not gate/up).
void swigluBackward(ThreadPool& pool, const float* gate, const float* up, const float* dy, float* dgate, float* dup,
                    int64_t n);
/// Backward of y = a * b: da = dy * b, db = dy * a (=; may alias dy, not a/b).
void mulBackward(ThreadPool& pool, const float* a, const float* b, const float* dy, float* da, float* db, int64_t n);

/// dtable(vocab,C) += dout(rows,C) scattered by ids(rows); rows are added in
/// order (deterministic). Throws if an id lies outside [0, vocab).
void embeddingBackward(ThreadPool& pool, const int32_t* ids, const float* dout, float* dtable, int64_t rows,
                       int64_t C, int64_t vocab);
/// Backward of addLearnedPositions: dpos[pos_offset + t](C) += sum over b of dx(B,T,C)[b,t].
void learnedPositionsBackward(ThreadPool& pool, const float* dx, float* dpos, int64_t B, int64_t T, int64_t C,
                              int64_t pos_offset);

/// Fused softmax + cross-entropy over V classes for next-token prediction.
/// A row whose target equals ignore_index is masked: loss 0, gradient 0.
struct CrossEntropyArgs {
  int64_t rows = 0, V = 0;
  float* logits = nullptr; int64_t ld = 0;  // (rows, V), rows ld >= V floats apart
  const int32_t* targets = nullptr;         // (rows): class in [0, V) or ignore_index
  int32_t ignore_index = -100;
  float* losses = nullptr;                  // (rows), written by the forward pass
  float* lse = nullptr;                     // (rows), written by forward, read by backward
};
struct CrossEntropyLoss {
  float mean = 0;     // mean loss over unmasked rows; 0 when count is 0
  int64_t count = 0;  // number of unmasked rows
};
/// losses[r] = logsumexp(logits[r]) - logits[r][targets[r]], lse[r] = logsumexp(logits[r]);
/// logits are only read.
CrossEntropyLoss crossEntropyForward(ThreadPool& pool, const CrossEntropyArgs& args);
/// IN PLACE: logits[r] <- (softmax(logits[r]) - onehot(targets[r])) * grad_scale,
/// and 0 for masked rows, using the forward's lse. For the mean loss pass
/// grad_scale = dloss / count (with micro-batches: 1 / total unmasked count).
/// The probabilities carry a relative error of about |lse| * 2^-24 from the
/// rounding of the saved lse; crossEntropyForwardBackward does not.
void crossEntropyBackward(ThreadPool& pool, const CrossEntropyArgs& args, float grad_scale);
/// The training path: crossEntropyForward then crossEntropyBackward in one pass
/// over each row (one read of the logits from memory instead of two). count is
/// known from the targets alone, so grad_scale = 1 / count can be passed in.
CrossEntropyLoss crossEntropyForwardBackward(ThreadPool& pool, const CrossEntropyArgs& args, float grad_scale);

/// One AdamW step on n parameters, the update rule of torch.optim.AdamW
/// (amsgrad off), with g = grad * grad_scale and t = step:
///   p -= lr * weight_decay * p               (decoupled decay, before the moments)
///   m = beta1 m + (1 - beta1) g ;  v = beta2 v + (1 - beta2) g^2
///   p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
struct AdamWArgs {
  float* param = nullptr;
  const float* grad = nullptr;
  float* m = nullptr;  // first moment, zero before step 1
  float* v = nullptr;  // second moment, zero before step 1
  int64_t n = 0;
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 1e-2f;
  int64_t step = 1;        // 1 for the first update
  float grad_scale = 1.0f; // e.g. min(1, max_norm / global_norm) for clipping
};
void adamw(ThreadPool& pool, const AdamWArgs& args);

/// sum of x[i]^2 in double, for the global gradient norm (sqrt of the sum over
/// all buffers); deterministic for any pool size.
double sumOfSquares(ThreadPool& pool, const float* x, int64_t n);

}  // namespace lathe::cpu
