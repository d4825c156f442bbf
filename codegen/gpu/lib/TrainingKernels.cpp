// The training step's kernels: fused softmax cross-entropy, parameter
// gradients (embedding, positions, norms), elementwise backward passes
// (activations, swiglu; rope's is Rope's kernel inverted, NormKernels.cpp),
// dropout, and the optimizer (gradient norm, AdamW).
// Semantics: targets/cpu/kernels/TrainingKernels.h, TrainingImpl.inc, Dropout.*.
//
// No float atomics: every output element has exactly one owner invocation and
// every sum runs in a fixed order, so results are identical from run to run.
#include <limits>

#include "KernelMath.h"
#include "RowKernels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

namespace lathe::codegen::gpu {

namespace {

using fb::KernelKind;

const char* const kActNames[] = {"none", "gelu", "gelu_tanh", "relu", "silu"};

/// Kernels of one workgroup that walk a whole operand (cross-entropy's count and mean, grad norm).
constexpr uint32_t kWideWorkgroup = 512;

/// Column sums of the norm gradients: a workgroup owns kSumColumns columns and
/// splits the rows over kSumLanes lanes (kSumColumns * kSumLanes = kRowWorkgroup).
constexpr int64_t kSumColumns = 16;
constexpr int64_t kSumLanes = 16;
/// Each lane flushes a partial sum every kSumBlock of its rows, which keeps the
/// rounding error near (kSumBlock + rows / kSumBlock) ulps, like the CPU's blocks.
constexpr int64_t kSumBlock = 32;

/// Body copies per iteration of loops whose trip count grows with the problem
/// (KernelBuilder::unrolledLoop: lavapipe ends an invocation's loops after
/// 65535 back edges in all).
constexpr int64_t kLongLoopUnroll = 8;

/// EmbeddingGrad: vocabulary ids per bucket of the second grid axis.
constexpr uint32_t kIdsPerBucket = 512;

/// One invocation per element of dim 0 (n).
KernelPlan elementPlan(std::string name, std::function<void(KernelBuilder&)> body) {
  KernelPlan plan;
  plan.name = std::move(name);
  plan.workgroup = {kLinearWorkgroup, 1, 1};
  plan.grid[0] = {{0}, kLinearWorkgroup, /*stride_loop=*/true};
  plan.body = std::move(body);
  return plan;
}

/// Norm gradients: a workgroup per row of dim 0 (rows), with room for a
/// workgroup reduction and two outputs' column-sum partials.
KernelPlan normGradPlan(std::string name, std::function<void(KernelBuilder&)> body) {
  return rowPlan(std::move(name), {0}, (KernelBuilder::kMaxSubgroups + 2 * kSumColumns * kSumLanes) * 4, std::move(body));
}

/// One workgroup for the whole dispatch.
KernelPlan singleWorkgroupPlan(std::string name, std::function<void(KernelBuilder&)> body) {
  KernelPlan plan;
  plan.name = std::move(name);
  plan.workgroup = {kWideWorkgroup, 1, 1};
  plan.shared_bytes = KernelBuilder::kMaxSubgroups * 4;
  plan.body = std::move(body);
  return plan;
}

/// Sums over i in [lo, hi) step `step` of each of the `count` values of
/// terms(i), flushed into the totals every kSumBlock terms.
std::vector<V> blockedSums(KernelBuilder& k, V lo, V hi, V step, size_t count,
                           const std::function<std::vector<V>(V)>& terms) {
  const std::vector<V> zeros(count, k.f32(0.0));
  V block_span = step * static_cast<int64_t>(kSumBlock);
  return k.loop(lo, hi, block_span, zeros, [&](V block, const std::vector<V>& totals) {
    V block_end = k.min(block + block_span, hi);
    std::vector<V> partials = k.unrolledLoop(block, block_end, step, kLongLoopUnroll, zeros, [&](V i, const std::vector<V>& acc) {
      std::vector<V> next = terms(i);
      for (size_t s = 0; s < count; ++s) next[s] = acc[s] + next[s];
      return next;
    });
    std::vector<V> next = totals;
    for (size_t s = 0; s < count; ++s) next[s] = next[s] + partials[s];
    return next;
  });
}

// ---------------------------------------------------------------- cross-entropy

// bufs: logits (rows,V) [rw when grad], targets (rows) i32, loss (1), token_stats;
// dims: rows, V, 2; ints: ignore_index. token_stats holds losses (rows) then lse (rows), as on the cpu.
//
// The mean loss and the gradient's scale 1/count need sums across rows, so a
// dispatch runs as a chain of phases (KernelPlan::next_phases), each seeing
// the previous one's writes:
//   CrossEntropy:     rows -> mean
//   CrossEntropyGrad: count -> rows (with the gradient) -> mean
// count (one workgroup) leaves the number of unmasked rows in loss[0]; rows
// gives each row to one workgroup (a stride loop over rows, so any row count
// fits the grid): an online (max, sum of exp) per invocation, combined by
// workgroup reductions, then its loss and lse, and for the gradient one more
// pass writing (exp(x - max) * grad_scale / sum - onehot * grad_scale) in
// place; mean (one workgroup) sums the losses in a fixed order into loss.
// A row's result does not depend on which workgroup ran it: deterministic.

/// Whether a target counts: a target outside [0, V) is refused by the runtime
/// before the dispatch; here it only must not index out of bounds, so it counts as masked.
V countedTarget(KernelBuilder& k, V target, V vocab) {
  return target != k.intParam(0) && target >= k.index(0) && target < vocab;
}

/// The number of unmasked rows (as f32, exact below 2^24), on every invocation.
V unmaskedRows(KernelBuilder& k, mlir::Value scratch) {
  V rows = k.dim(0), vocab = k.dim(1);
  mlir::Value targets = k.operand(1);
  V zero = k.f32(0.0);
  V mine = k.loop(k.threadId(), rows, k.index(kWideWorkgroup), {zero}, [&](V r, const std::vector<V>& acc) {
    V counted = countedTarget(k, k.toIndex(k.load(targets, r)), vocab);
    return std::vector<V>{acc[0] + k.select(counted, k.f32(1.0), zero)};
  })[0];
  return k.workgroupSum(mine, scratch);
}

// Phase count (gradient only): loss[0] = the number of unmasked rows.
void crossEntropyCount(KernelBuilder& k) {
  V count = unmaskedRows(k, k.shared(KernelBuilder::kMaxSubgroups));
  k.when(k.threadId() == k.index(0), [&] { k.store(count, k.operand(2), k.index(0)); });
}

// Phase rows: token_stats (and the gradient, in place) of each row.
void crossEntropyRows(KernelBuilder& k, bool with_grad) {
  V rows = k.dim(0), vocab = k.dim(1);
  mlir::Value logits = k.operand(0), targets = k.operand(1), stats = k.operand(3);
  mlir::Value scratch = k.shared(KernelBuilder::kMaxSubgroups);
  V tid = k.threadId(), width = k.index(kRowWorkgroup);
  V zero = k.f32(0.0);
  V grad_scale = zero;
  if (with_grad) {
    V count = k.load(k.operand(2), k.index(0));  // left by phase count
    grad_scale = k.select(count > zero, k.f32(1.0) / k.max(count, k.f32(1.0)), zero);
  }
  forEachRow(k, rows, [&](V r) {
    V base = r * vocab;  // row r of (rows, V)
    V target = k.toIndex(k.load(targets, r));
    V is_counted = countedTarget(k, target, vocab);
    // Read before any invocation can overwrite the row (the reductions below hold barriers).
    V target_logit = k.load(logits, base + k.select(is_counted, target, k.index(0)));
    V first = k.load(logits, base);  // a finite start for the online max: no infinities
    std::vector<V> online = k.loop(tid, vocab, width, {first, zero}, [&](V i, const std::vector<V>& ms) {
      V x = k.load(logits, base + i);
      V m = k.max(ms[0], x);
      return std::vector<V>{m, ms[1] * k.exp(ms[0] - m) + k.exp(x - m)};
    });
    V row_max = k.workgroupMax(online[0], scratch);
    V sum = k.workgroupSum(online[1] * k.exp(online[0] - row_max), scratch);
    V log_sum = k.log(sum);
    k.when(tid == k.index(0), [&] {
      k.store(k.select(is_counted, log_sum - (target_logit - row_max), zero), stats, r);
      k.store(row_max + log_sum, stats, rows + r);
    });
    if (with_grad) {
      V scale = k.select(is_counted, grad_scale / sum, zero);
      forEachColumn(k, vocab, [&](V i) {
        V p = k.exp(k.load(logits, base + i) - row_max) * scale;
        k.store(k.select(is_counted && i == target, p - grad_scale, p), logits, base + i);
      });
    }
  });
}

// Phase mean: loss = the sum of the row losses (masked ones are 0) over the unmasked count, 0 without any.
void crossEntropyMean(KernelBuilder& k) {
  V rows = k.dim(0);
  mlir::Value stats = k.operand(3);
  mlir::Value scratch = k.shared(KernelBuilder::kMaxSubgroups);
  V tid = k.threadId(), zero = k.f32(0.0);
  V count = unmaskedRows(k, scratch);
  V mine = blockedSums(k, tid, rows, k.index(kWideWorkgroup), 1, [&](V r) {
    return std::vector<V>{k.load(stats, r)};
  })[0];
  V total = k.workgroupSum(mine, scratch);
  k.when(tid == k.index(0), [&] {
    k.store(k.select(count > zero, total / k.max(count, k.f32(1.0)), zero), k.operand(2), k.index(0));
  });
}

KernelPlan crossEntropyPlan(bool with_grad) {
  KernelPlan rows = rowPlan(with_grad ? "cross_entropy_grad_rows" : "cross_entropy_rows", {0},
                            KernelBuilder::kMaxSubgroups * 4,
                            [with_grad](KernelBuilder& k) { crossEntropyRows(k, with_grad); });
  KernelPlan mean = singleWorkgroupPlan("cross_entropy_mean", crossEntropyMean);
  if (!with_grad) {
    rows.next_phases = {std::move(mean)};
    return rows;
  }
  KernelPlan count = singleWorkgroupPlan("cross_entropy_count", crossEntropyCount);
  count.next_phases = {std::move(rows), std::move(mean)};
  return count;
}

// ---------------------------------------------------------------- embeddings

// bufs: dtable (rw, V x C), dY (rows, C), ids (rows) i32; dims: rows, C, V.
// dtable[ids[r]][c] += dY[r][c]. Invocations own columns (grid axis 0) and
// vocabulary buckets id % buckets (axis 1); each walks the rows in order, so a
// table element receives its rows in the cpu's order and has one writer.
void embeddingGrad(KernelBuilder& k) {
  V rows = k.dim(0), C = k.dim(1), vocab = k.dim(2);
  mlir::Value dtable = k.operand(0), dy = k.operand(1), ids = k.operand(2);
  V buckets = k.gridDim(1), bucket = k.blockId(1);
  forEachElement(k, C, [&](V c) {
    k.unrolledLoop(k.index(0), rows, k.index(1), kLongLoopUnroll, [&](V r) {
      V id = k.toIndex(k.load(ids, r));
      k.when(id >= k.index(0) && id < vocab && id % buckets == bucket, [&] {
        V at = id * C + c;
        k.store(k.load(dtable, at) + k.load(dy, r * C + c), dtable, at);
      });
    });
  });
}

// bufs: dpos (rw, P x C), dY (B, T, C); dims: B, T, C, P. dpos[t][c] += sum over b of dY[b][t][c].
void positionsGrad(KernelBuilder& k) {
  V B = k.dim(0), T = k.dim(1), C = k.dim(2);
  mlir::Value dpos = k.operand(0), dy = k.operand(1);
  forEachElement(k, T * C, [&](V i) {  // i = t * C + c
    V sum = k.unrolledLoop(k.index(0), B, k.index(1), kLongLoopUnroll, {k.f32(0.0)}, [&](V b, const std::vector<V>& acc) {
      return std::vector<V>{acc[0] + k.load(dy, b * T * C + i)};
    })[0];
    k.store(k.load(dpos, i) + sum, dpos, i);
  });
}

// ---------------------------------------------------------------- normalization

/// terms(r, c): the values that row r adds to column c of each output.
using RowTerms = std::function<std::vector<V>(V r, V c)>;

/// Column sums over (rows, C) for parameter gradients: out_s[c] = sum over r of
/// terms(r, c)[s], written (=). Workgroup j owns columns [16j, 16j + 16); its 16
/// lanes take every 16th row; lane partials are then added in lane order.
void columnSums(KernelBuilder& k, V rows, V C, const std::vector<mlir::Value>& outs, const RowTerms& terms) {
  std::vector<mlir::Value> partials;
  for (size_t s = 0; s < outs.size(); ++s) partials.push_back(k.shared(kSumColumns * kSumLanes));
  V tid = k.threadId();
  V column_in_block = tid % kSumColumns, lane = tid / kSumColumns;
  V blocks = (C + (kSumColumns - 1)) / kSumColumns;
  k.loop(k.blockId(), blocks, k.gridDim(), [&](V block) {
    V c = block * kSumColumns + column_in_block;
    V valid = c < C;
    V safe_c = k.select(valid, c, k.index(0));
    std::vector<V> sums = blockedSums(k, lane, rows, k.index(kSumLanes), outs.size(), [&](V r) { return terms(r, safe_c); });
    for (size_t s = 0; s < outs.size(); ++s) k.store(sums[s], partials[s], tid);
    k.barrier();
    k.when(lane == k.index(0) && valid, [&] {
      for (size_t s = 0; s < outs.size(); ++s) {
        V total = k.loop(k.index(0), k.index(kSumLanes), k.index(1), {k.f32(0.0)}, [&](V l, const std::vector<V>& acc) {
          return std::vector<V>{acc[0] + k.load(partials[s], l * kSumColumns + column_in_block)};
        })[0];
        k.store(total, outs[s], c);
      }
    });
    k.barrier();  // the partials are rewritten by the next block
  });
}

// bufs: dy, x, w, mean, rstd, dx, dw, db; dims: rows, C. With g = dy * w and
// xhat = (x - mean) * rstd: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
// dw = sum over rows of dy * xhat, db = sum of dy (all written: the cpu zeroes
// them before accumulating).
void layerNormGrad(KernelBuilder& k) {
  V rows = k.dim(0), C = k.dim(1);
  mlir::Value dy = k.operand(0), x = k.operand(1), w = k.operand(2), mean = k.operand(3), rstd = k.operand(4);
  mlir::Value dx = k.operand(5), dw = k.operand(6), db = k.operand(7);
  mlir::Value scratch = k.shared(KernelBuilder::kMaxSubgroups);
  V tid = k.threadId(), width = k.index(kRowWorkgroup), Cf = k.toFloat(C);
  k.loop(k.blockId(), rows, k.gridDim(), [&](V r) {
    V base = r * C;  // row r of (rows, C)
    V mu = k.load(mean, r), rs = k.load(rstd, r);
    std::vector<V> sums = k.loop(tid, C, width, {k.f32(0.0), k.f32(0.0)}, [&](V c, const std::vector<V>& acc) {
      V g = k.load(dy, base + c) * k.load(w, c);
      return std::vector<V>{acc[0] + g, acc[1] + g * ((k.load(x, base + c) - mu) * rs)};
    });
    V mean_g = k.workgroupSum(sums[0], scratch) / Cf;
    V mean_gx = k.workgroupSum(sums[1], scratch) / Cf;
    k.loop(tid, C, width, [&](V c) {
      V g = k.load(dy, base + c) * k.load(w, c);
      V xhat = (k.load(x, base + c) - mu) * rs;
      k.store((g - mean_g - xhat * mean_gx) * rs, dx, base + c);
    });
  });
  columnSums(k, rows, C, {dw, db}, [&](V r, V c) {
    V d = k.load(dy, r * C + c);
    return std::vector<V>{d * ((k.load(x, r * C + c) - k.load(mean, r)) * k.load(rstd, r)), d};
  });
}

// bufs: dy, x, w, rstd, dx, dw; dims: rows, C. With g = dy * w:
// dx = rstd * g - rstd^3 * x * mean(g * x), dw = sum over rows of dy * x * rstd.
void rmsNormGrad(KernelBuilder& k) {
  V rows = k.dim(0), C = k.dim(1);
  mlir::Value dy = k.operand(0), x = k.operand(1), w = k.operand(2), rstd = k.operand(3);
  mlir::Value dx = k.operand(4), dw = k.operand(5);
  mlir::Value scratch = k.shared(KernelBuilder::kMaxSubgroups);
  V tid = k.threadId(), width = k.index(kRowWorkgroup), Cf = k.toFloat(C);
  k.loop(k.blockId(), rows, k.gridDim(), [&](V r) {
    V base = r * C;  // row r of (rows, C)
    V rs = k.load(rstd, r);
    V sum_gx = k.loop(tid, C, width, {k.f32(0.0)}, [&](V c, const std::vector<V>& acc) {
      return std::vector<V>{acc[0] + k.load(dy, base + c) * k.load(w, c) * k.load(x, base + c)};
    })[0];
    V coef = rs * rs * rs * k.workgroupSum(sum_gx, scratch) / Cf;
    k.loop(tid, C, width, [&](V c) {
      V g = k.load(dy, base + c) * k.load(w, c);
      k.store(g * rs - k.load(x, base + c) * coef, dx, base + c);
    });
  });
  columnSums(k, rows, C, {dw}, [&](V r, V c) {
    return std::vector<V>{k.load(dy, r * C + c) * k.load(x, r * C + c) * k.load(rstd, r)};
  });
}

// ---------------------------------------------------------------- elementwise

// splitmix64's finalizer on an i64 (wrapping arithmetic).
V splitmix64(KernelBuilder& k, V x) {
  x = x + k.i64(static_cast<int64_t>(0x9E3779B97F4A7C15ull));
  x = k.bitXor(x, k.shiftRight(x, 30)) * k.i64(static_cast<int64_t>(0xBF58476D1CE4E5B9ull));
  x = k.bitXor(x, k.shiftRight(x, 27)) * k.i64(static_cast<int64_t>(0x94D049BB133111EBull));
  return k.bitXor(x, k.shiftRight(x, 31));
}

// bufs: x, rng (2) i32 [seed, step], y; dims: n; ints: stream (>= 0); floats: p.
// y[i] = x[i] / (1 - p) iff the top 24 bits of splitmix64(key + i) >= ceil(p 2^24)
// (lathe::cpu::DropoutMask); those bits are an integer, so comparing with
// p 2^24 (exact in f32) is the same test.
void dropout(KernelBuilder& k) {
  mlir::Value x = k.operand(0), rng = k.operand(1), y = k.operand(2);
  V seed = k.toI64(k.load(rng, k.index(0))), step = k.toI64(k.load(rng, k.index(1)));
  V key = splitmix64(k, k.bitXor(splitmix64(k, k.bitOr(k.shiftLeft(seed, 32), step)), k.toI64(k.intParam(0))));
  V p = k.floatParam(0);
  V threshold = p * 16777216.0;
  V scale = k.f32(1.0) / (k.f32(1.0) - p);
  forEachElement(k, k.dim(0), [&](V i) {
    V draw = k.toFloat(k.toI32(k.shiftRight(splitmix64(k, key + k.toI64(i)), 40)));
    k.store(k.select(draw >= threshold, k.load(x, i) * scale, k.f32(0.0)), y, i);
  });
}

// ---------------------------------------------------------------- optimizer

// hyper = [lr, beta1, beta2, eps, weight_decay, clip, grad_scale, step] (CpuDevice::adamw).
enum Hyper { kLr, kBeta1, kBeta2, kEps, kWeightDecay, kClip, kGradScale, kStep };

/// 1 - beta^t for the integer step t >= 1, by square-and-multiply on pairs
/// (beta^a, 1 - beta^a): 1 - beta^(a+b) = (1 - beta^a) + (1 - beta^b) beta^a and
/// 1 - beta^2a = (1 - beta^a)(1 + beta^a) add and multiply only non-negative
/// numbers for beta in [0, 1], so the result keeps a relative error of a few
/// ulps per bit of t. 1 - pow(beta, t) would cancel (beta2 = 0.999 at t = 1
/// loses 10 bits), and GPU pow may err by 2^-21 absolute: 3e-4 of 1 - 0.999.
V oneMinusPower(KernelBuilder& k, V beta, V step) {
  V t = k.toIndex(k.wrap(mlir::arith::FPToSIOp::create(k.builder(), k.loc(), k.builder().getI32Type(), step)));
  V one = k.f32(1.0);
  // carried: the bits of t left, beta^done, 1 - beta^done, beta^(2^i), 1 - beta^(2^i)
  std::vector<V> pairs = k.loop(k.index(0), k.index(31), k.index(1), {t, one, k.f32(0.0), beta, one - beta},
                                [&](V, const std::vector<V>& c) {
                                  V rest = c[0], power = c[1], complement = c[2], base = c[3], base_complement = c[4];
                                  V take = rest % int64_t{2} == k.index(1);
                                  return std::vector<V>{rest / int64_t{2}, k.select(take, power * base, power),
                                                        k.select(take, complement + base_complement * power, complement),
                                                        base * base, base_complement * (one + base)};
                                });
  return pairs[2];
}

// bufs: param, grad (cleared), m, v, hyper (8), norm (1); dims: n; ints: decay.
// torch.optim.AdamW with g = grad * grad_scale * clip_scale (lathe::cpu::adamw).
void adamw(KernelBuilder& k, bool decay) {
  mlir::Value param = k.operand(0), grad = k.operand(1), m = k.operand(2), v = k.operand(3);
  mlir::Value hyper = k.operand(4), norm_buffer = k.operand(5);
  auto h = [&](Hyper i) { return k.load(hyper, k.index(i)); };
  V one = k.f32(1.0);
  V lr = h(kLr), beta1 = h(kBeta1), beta2 = h(kBeta2), eps = h(kEps), clip = h(kClip), step = h(kStep);
  V norm = k.load(norm_buffer, k.index(0));
  V clip_scale = k.select(clip > k.f32(0.0) && norm > clip, clip / (norm + k.f32(1e-6)), one);
  V grad_scale = h(kGradScale) * clip_scale;
  V param_scale = decay ? one - lr * h(kWeightDecay) : one;
  V step_size = lr / oneMinusPower(k, beta1, step);
  V inv_bias2_sqrt = one / k.sqrt(oneMinusPower(k, beta2, step));
  mapElements(k, k.dim(0), {grad, m, v, param}, {m, v, param, grad}, [&](const std::vector<V>& in) {
    V g = in[0] * grad_scale;
    V m_next = in[1] * beta1 + (one - beta1) * g;
    V v_next = in[2] * beta2 + (one - beta2) * g * g;
    V p = in[3] * param_scale;
    p = p - step_size * m_next / (k.sqrt(v_next) * inv_bias2_sqrt + eps);
    return std::vector<V>{m_next, v_next, p, k.f32(0.0)};
  });
}

/// AdamW on a grid sized for 16-byte spans (mapElements).
KernelPlan adamwPlan(bool decay) {
  KernelPlan plan = elementPlan(decay ? "adamw_decay" : "adamw", [decay](KernelBuilder& k) { adamw(k, decay); });
  plan.grid[0].divisor = kLinearGridDivisor;
  return plan;
}

// One launch per gradient g_i: bindings (hyper, norm, g_i), parameter block
// [n_i, i, count]. Launch 0 writes norm = sum of g_0^2, the next ones add
// theirs, and the last one turns the sum into sqrt(sum) * |grad_scale|. One
// workgroup per launch: the running sum lives in norm[0], which has one writer.
void gradNorm(KernelBuilder& k) {
  mlir::Value hyper = k.operand(0), norm = k.operand(1), g = k.operand(2);
  V n = k.paramWord(0), which = k.paramWord(1), count = k.paramWord(2);
  mlir::Value scratch = k.shared(KernelBuilder::kMaxSubgroups);
  V tid = k.threadId();
  V mine = blockedSums(k, tid, n, k.index(kWideWorkgroup), 1, [&](V i) {
    V x = k.load(g, i);
    return std::vector<V>{x * x};
  })[0];
  V sum = k.workgroupSum(mine, scratch);
  k.when(tid == k.index(0), [&] {
    V previous = k.select(which == k.index(0), k.f32(0.0), k.load(norm, k.index(0)));
    V total = previous + sum;
    V finished = k.sqrt(total) * k.abs(k.load(hyper, k.index(kGradScale)));
    k.store(k.select(which + k.index(1) == count, finished, total), norm, k.index(0));
  });
}

}  // namespace

KernelPlan planTrainingKernel(const DispatchShape& shape, const GpuLimits&) {
  switch (shape.kind) {
    case KernelKind::CrossEntropy:
    case KernelKind::CrossEntropyGrad: return crossEntropyPlan(shape.kind == KernelKind::CrossEntropyGrad);
    case KernelKind::EmbeddingGrad: {
      KernelPlan plan = elementPlan("embedding_grad", embeddingGrad);
      plan.grid[0] = {{1}, kLinearWorkgroup, /*stride_loop=*/true};  // columns C
      plan.grid[1] = {{2}, kIdsPerBucket, /*stride_loop=*/false};    // vocabulary buckets: V / 512 < 65535
      return plan;
    }
    case KernelKind::PositionsGrad: {
      KernelPlan plan = elementPlan("positions_grad", positionsGrad);
      plan.grid[0] = {{1, 2}, kLinearWorkgroup, /*stride_loop=*/true};  // T * C
      return plan;
    }
    case KernelKind::LayerNormGrad: return normGradPlan("layer_norm_grad", layerNormGrad);
    case KernelKind::RMSNormGrad: return normGradPlan("rms_norm_grad", rmsNormGrad);
    // Rope's kernel with the angles negated: its double-float angles match the
    // cpu's double ones at long positions, where f32 angles are off by 1e-4.
    case KernelKind::RopeGrad: return planRopeKernel(/*at=*/false, /*inverse=*/true);
    case KernelKind::UnaryGrad: {
      const int64_t act = shape.ints[0];
      return elementPlan(std::string("unary_grad_") + kActNames[act], [act](KernelBuilder& k) {
        forEachElement(k, k.dim(0), [&](V i) {
          k.store(k.load(k.operand(1), i) * activationDerivative(k, act, k.load(k.operand(0), i)), k.operand(2), i);
        });
      });
    }
    case KernelKind::SwiGLUGrad:
      // bufs: gate, up, dy, dgate, dup (dup may alias dy: each element is read before it is written).
      return elementPlan("swiglu_grad", [](KernelBuilder& k) {
        forEachElement(k, k.dim(0), [&](V i) {
          V g = k.load(k.operand(0), i), u = k.load(k.operand(1), i), d = k.load(k.operand(2), i);
          V s = sigmoid(k, g);
          k.store(d * u * (s + g * s * sigmoid(k, -g)), k.operand(3), i);
          k.store(d * g * s, k.operand(4), i);
        });
      });
    case KernelKind::Dropout: return elementPlan("dropout", dropout);
    case KernelKind::AdamW: return adamwPlan(shape.ints[0] == 1);
    case KernelKind::GradNorm: return singleWorkgroupPlan("grad_norm", gradNorm);
    default: return {};
  }
}

}  // namespace lathe::codegen::gpu
