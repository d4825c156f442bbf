// Attention kernels: Attention, AttentionLse (flash-style forward), CachedAttention
// (the same, plus a key-parallel path for one-token decode) and AttentionGrad
// (recomputes probabilities from lse; no float atomics).
//
// Layouts (targets/cpu/kernels/Kernels.h): q/out/dout (B,T,H,D); k/v (B,T,Hkv,D);
// caches (Bmax,S,Hkv,D); lse (B,H,T), as the CPU writes it. Query head h reads
// kv head h / (H/Hkv).
//
// Head dims are a runtime value: workgroup memory holds kChunk of them at a
// time. D <= kChunk (GPT-2 64, Llama 64-128) is one chunk; a larger D still
// gives exact results by repeating the pass per output chunk.
#include <limits>

#include "lathe/codegen/gpu/GpuKernels.h"

namespace lathe::codegen::gpu {

namespace {

constexpr int64_t kThreads = 128;
constexpr int64_t kChunk = 128;         // head dims staged in workgroup memory at once
constexpr int64_t kPitch = kChunk + 1;  // padded tile rows: invocations reading different rows hit different banks

// Forward: a workgroup owns kRows query rows, kLanes invocations per row.
constexpr int64_t kRows = 16;
constexpr int64_t kLanes = kThreads / kRows;
constexpr int64_t kKeys = 32;                          // keys per staged block
constexpr int64_t kScoresPerLane = kKeys / kLanes;     // scores of a block each invocation computes
constexpr int64_t kDimsPerLane = kChunk / kLanes;      // output dims each invocation accumulates

// Backward: score tiles of kGradRows queries x kGradKeys keys, one entry per invocation.
constexpr int64_t kGradRows = 8;
constexpr int64_t kGradKeys = kThreads / kGradRows;
constexpr int64_t kGradRowBlocks = kGradKeys / kGradRows;  // query tiles per workgroup in the dq pass

constexpr int64_t kForwardSharedFloats = (kRows + kKeys) * kPitch + kRows * kKeys;
constexpr int64_t kCachedSharedFloats = kForwardSharedFloats + KernelBuilder::kMaxSubgroups;
constexpr int64_t kGradSharedFloats = 2 * (kGradRows + kGradKeys) * kPitch + 3 * kThreads;

const double kNegInf = -std::numeric_limits<double>::infinity();

// A workgroup walks every key (forward, dq) or every query row of its kv group
// (dk, dv), and lavapipe ends an invocation's loops after 65535 back edges in
// all (KernelBuilder::unrolledLoop), so the sums run per key block or query
// tile take kUnroll copies of their body per iteration. (Unrolling them fully,
// staging included, makes lavapipe compile AttentionGrad several times slower.)
constexpr int64_t kUnroll = 4;
static_assert(kGradKeys % kUnroll == 0 && kGradRows % kUnroll == 0, "tile loops unroll without a remainder");

V ceilDiv(V a, int64_t b) { return (a + (b - 1)) / b; }

/// One (batch, query head) slice. Query row t (of q, out, dout) starts at
/// q_base + t * q_stride; key row j (of k, v or the caches) at kv_base + j * kv_stride.
struct Slice {
  V rows;        // query rows
  V D;
  V q_base, q_stride;
  V kv_base, kv_stride;
  V keys;        // key rows the slice may see
  V key_offset;  // query row t sits at position key_offset + t
  V lse_base;    // lse (B,H,T): this slice's T values start here
};

/// Self-attention slice of (b, h): dims B, T, H, Hkv, D.
Slice selfSlice(KernelBuilder& k, V b, V h) {
  V T = k.dim(1), H = k.dim(2), Hkv = k.dim(3), D = k.dim(4);
  V kv_head = h / (H / Hkv);
  Slice s;
  s.rows = T;
  s.D = D;
  s.q_stride = H * D;
  s.q_base = b * T * s.q_stride + h * D;  // (B,T,H,D)
  s.kv_stride = Hkv * D;
  s.kv_base = b * T * s.kv_stride + kv_head * D;  // (B,T,Hkv,D)
  s.keys = T;
  s.key_offset = k.index(0);
  s.lse_base = (b * H + h) * T;  // (B,H,T)
  return s;
}

/// tile[r * kPitch + d] = src[base + r * stride + d0 + d] for r < rows, d < kChunk;
/// zero where r >= valid_rows or d0 + d >= D.
void stageTile(KernelBuilder& k, mlir::Value tile, mlir::Value src, V base, V stride, int64_t rows, V valid_rows, V d0,
               V D) {
  k.loop(k.threadId(0), k.index(rows * kChunk), k.index(kThreads), [&](V e) {
    V r = e / kChunk, d = e % kChunk;
    V at = r * kPitch + d;
    k.store(k.f32(0.0), tile, at);
    k.when(r < valid_rows && d0 + d < D, [&] { k.store(k.load(src, base + r * stride + d0 + d), tile, at); });
  });
}

/// acc[i] + sum over d < len of a[a_row, d] * b[b_rows[i], d], rows of kPitch-wide tiles.
std::vector<V> tileDots(KernelBuilder& k, mlir::Value a, V a_row, mlir::Value b, const std::vector<V>& b_rows, V len,
                        const std::vector<V>& acc) {
  V a_start = a_row * kPitch;
  std::vector<V> b_starts;
  for (V row : b_rows) b_starts.push_back(row * kPitch);
  return k.unrolledLoop(k.index(0), len, k.index(1), kUnroll, acc, [&](V d, const std::vector<V>& sums) {
    V x = k.load(a, a_start + d);
    std::vector<V> next;
    for (size_t i = 0; i < sums.size(); ++i) next.push_back(sums[i] + x * k.load(b, b_starts[i] + d));
    return next;
  });
}

std::vector<V> zeros(KernelBuilder& k, int64_t n) { return std::vector<V>(static_cast<size_t>(n), k.f32(0.0)); }

// ---------------------------------------------------------------- forward

struct ForwardTiles {
  mlir::Value q;       // kRows x kPitch
  mlir::Value kv;      // kKeys x kPitch: a key block's K, then its V
  mlir::Value scores;  // kRows x kKeys
};

ForwardTiles forwardTiles(KernelBuilder& k) {
  return {k.shared(kRows * kPitch), k.shared(kKeys * kPitch), k.shared(kRows * kKeys)};
}

/// Flash attention for query rows [q0, q0 + kRows) of a slice. Invocation
/// (row, lane) scores keys lane + kLanes * i of each block and accumulates
/// output dims lane + kLanes * i of its row; the online softmax keeps a
/// running max and sum per row. Under the causal mask, key blocks past the
/// last row are skipped. `lse` may be null.
void flashAttention(KernelBuilder& k, const Slice& s, V q0, bool causal, V scale, mlir::Value q, mlir::Value keys,
                    mlir::Value values, mlir::Value out, mlir::Value lse, const ForwardTiles& tiles) {
  V tid = k.threadId(0);
  V row = tid / kLanes, lane = tid % kLanes;
  V r = q0 + row;
  V key_limit = causal ? k.min(s.keys, s.key_offset + r + k.index(1)) : s.keys;
  V key_end = causal ? k.min(s.keys, s.key_offset + k.min(q0 + kRows, s.rows)) : s.keys;
  V chunks = ceilDiv(s.D, kChunk);
  V q_tile_base = s.q_base + q0 * s.q_stride;
  V valid_rows = s.rows - q0;
  std::vector<V> lane_keys;
  for (int64_t i = 0; i < kScoresPerLane; ++i) lane_keys.push_back(lane + kLanes * i);

  k.loop(k.index(0), s.D, k.index(kChunk), [&](V dc) {
    k.barrier();
    stageTile(k, tiles.q, q, q_tile_base, s.q_stride, kRows, valid_rows, k.index(0), s.D);
    std::vector<V> init{k.f32(kNegInf), k.f32(0.0)};
    for (V zero : zeros(k, kDimsPerLane)) init.push_back(zero);
    // state: running max, running sum, kDimsPerLane unnormalized outputs
    std::vector<V> state = k.loop(k.index(0), key_end, k.index(kKeys), init, [&](V j0, const std::vector<V>& c) {
      V block_base = s.kv_base + j0 * s.kv_stride;
      V block_rows = s.keys - j0;
      std::vector<V> dots = k.loop(k.index(0), s.D, k.index(kChunk), zeros(k, kScoresPerLane),
                                   [&](V d0, const std::vector<V>& acc) {
                                     k.barrier();
                                     k.when(chunks > k.index(1), [&] {
                                       stageTile(k, tiles.q, q, q_tile_base, s.q_stride, kRows, valid_rows, d0, s.D);
                                     });
                                     stageTile(k, tiles.kv, keys, block_base, s.kv_stride, kKeys, block_rows, d0, s.D);
                                     k.barrier();
                                     return tileDots(k, tiles.q, row, tiles.kv, lane_keys,
                                                     k.min(k.index(kChunk), s.D - d0), acc);
                                   });
      for (int64_t i = 0; i < kScoresPerLane; ++i) {
        V score = k.select(j0 + lane_keys[i] < key_limit, dots[i] * scale, k.f32(kNegInf));
        k.store(score, tiles.scores, row * kKeys + lane_keys[i]);
      }
      k.barrier();
      stageTile(k, tiles.kv, values, block_base, s.kv_stride, kKeys, block_rows, dc, s.D);
      k.barrier();
      V len = k.min(k.index(kKeys), key_end - j0);
      V row_scores = row * kKeys;
      V block_max = k.unrolledLoop(k.index(0), len, k.index(1), kUnroll, {k.f32(kNegInf)}, [&](V j, const std::vector<V>& m) {
        return std::vector<V>{k.max(m[0], k.load(tiles.scores, row_scores + j))};
      })[0];
      V new_max = k.max(c[0], block_max);
      V correction = k.exp(c[0] - new_max);  // 0 on the first block
      std::vector<V> scaled;
      for (size_t i = 1; i < c.size(); ++i) scaled.push_back(c[i] * correction);
      std::vector<V> next = k.unrolledLoop(k.index(0), len, k.index(1), kUnroll, scaled, [&](V j, const std::vector<V>& acc) {
        V p = k.exp(k.load(tiles.scores, row_scores + j) - new_max);  // masked: exp(-inf) = 0
        std::vector<V> updated{acc[0] + p};
        V v_row = j * kPitch + lane;
        for (int64_t i = 0; i < kDimsPerLane; ++i)
          updated.push_back(acc[1 + i] + p * k.load(tiles.kv, v_row + kLanes * i));
        return updated;
      });
      next.insert(next.begin(), new_max);
      return next;
    });
    V inv_sum = k.f32(1.0) / state[1];
    V out_row = s.q_base + r * s.q_stride;
    for (int64_t i = 0; i < kDimsPerLane; ++i) {
      V dim = dc + lane + kLanes * i;
      k.when(r < s.rows && dim < s.D, [&] { k.store(state[2 + i] * inv_sum, out, out_row + dim); });
    }
    if (lse) {
      k.when(lane == 0 && dc == 0 && r < s.rows,
             [&] { k.store(state[0] + k.log(state[1]), lse, s.lse_base + r); });
    }
  });
}

/// One query row (row 0 of the slice) against all its keys, keys spread over
/// the workgroup kThreads at a time: each invocation scores one key, the
/// block's max and sum are workgroup reductions, and invocation i then
/// accumulates output dim i over the block's keys.
void decodeAttention(KernelBuilder& k, const Slice& s, V scale, mlir::Value q, mlir::Value keys, mlir::Value values,
                     mlir::Value out, mlir::Value probabilities, mlir::Value scratch) {
  V tid = k.threadId(0);
  V visible = s.key_offset + k.index(1);
  k.loop(k.index(0), s.D, k.index(kThreads), [&](V dc) {
    V dim = dc + tid;
    V dim_read = k.min(dim, s.D - k.index(1));
    std::vector<V> init{k.f32(kNegInf), k.f32(0.0), k.f32(0.0)};
    std::vector<V> state = k.loop(k.index(0), visible, k.index(kThreads), init, [&](V j0, const std::vector<V>& c) {
      V j = j0 + tid;
      V key_row = s.kv_base + k.min(j, visible - k.index(1)) * s.kv_stride;
      V dot = k.loop(k.index(0), s.D, k.index(1), {k.f32(0.0)}, [&](V d, const std::vector<V>& acc) {
        return std::vector<V>{acc[0] + k.load(q, s.q_base + d) * k.load(keys, key_row + d)};
      })[0];
      V score = k.select(j < visible, dot * scale, k.f32(kNegInf));
      V new_max = k.max(c[0], k.workgroupMax(score, scratch));
      V correction = k.exp(c[0] - new_max);
      V p = k.exp(score - new_max);
      V sum = c[1] * correction + k.workgroupSum(p, scratch);
      k.store(p, probabilities, tid);  // the reductions' barriers ordered earlier reads before this write
      k.barrier();
      V len = k.min(k.index(kThreads), visible - j0);
      V o = k.loop(k.index(0), len, k.index(1), {c[2] * correction}, [&](V jj, const std::vector<V>& acc) {
        V v = k.load(values, s.kv_base + (j0 + jj) * s.kv_stride + dim_read);
        return std::vector<V>{acc[0] + k.load(probabilities, jj) * v};
      })[0];
      return std::vector<V>{new_max, sum, o};
    });
    k.when(dim < s.D, [&] { k.store(state[2] / state[1], out, s.q_base + dim); });
  });
}

KernelPlan forwardPlan(std::string name) {
  KernelPlan plan;
  plan.name = std::move(name);
  plan.workgroup = {kThreads, 1, 1};
  plan.grid[0] = {{1}, kRows, false};    // query blocks of T
  plan.grid[1] = {{0, 2}, 1, false};     // (b, h)
  return plan;
}

// ---------------------------------------------------------------- backward

struct GradOperands {
  mlir::Value dout, q, k, v, out, lse, dq, dk, dv;
};

struct GradTiles {
  mlir::Value q, dout;     // kGradRows x kPitch
  mlir::Value k, v;        // kGradKeys x kPitch
  mlir::Value p, ds;       // kGradRows x kGradKeys
  mlir::Value partial;     // kThreads partial sums of delta
};

GradTiles gradTiles(KernelBuilder& k) {
  return {k.shared(kGradRows * kPitch),  k.shared(kGradRows * kPitch), k.shared(kGradKeys * kPitch),
          k.shared(kGradKeys * kPitch),  k.shared(kThreads),           k.shared(kThreads),
          k.shared(kThreads)};
}

void stageQueryTiles(KernelBuilder& k, const Slice& s, const GradOperands& g, const GradTiles& tiles, V t0, V d0) {
  V base = s.q_base + t0 * s.q_stride;
  stageTile(k, tiles.q, g.q, base, s.q_stride, kGradRows, s.rows - t0, d0, s.D);
  stageTile(k, tiles.dout, g.dout, base, s.q_stride, kGradRows, s.rows - t0, d0, s.D);
}

void stageKeyTiles(KernelBuilder& k, const Slice& s, const GradOperands& g, const GradTiles& tiles, V s0, V d0) {
  V base = s.kv_base + s0 * s.kv_stride;
  stageTile(k, tiles.k, g.k, base, s.kv_stride, kGradKeys, s.keys - s0, d0, s.D);
  stageTile(k, tiles.v, g.v, base, s.kv_stride, kGradKeys, s.keys - s0, d0, s.D);
}

/// tiles.p / tiles.ds = P and dS = P * (dP - delta) of query rows [t0, t0 + kGradRows)
/// against keys [s0, s0 + kGradKeys), with P = exp(scale q.k - lse), dP = dout.v and
/// delta = dout.out per row. Invocation (tq, jk) = (tid / kGradKeys, tid % kGradKeys)
/// computes one entry. Tiles marked fixed stay staged between calls (the caller
/// stages chunk 0 of them); on return all four tiles hold head-dim chunk dc.
void gradScoreTile(KernelBuilder& k, const Slice& s, const GradOperands& g, const GradTiles& tiles, V t0, V s0, V dc,
                   bool causal, V scale, bool queries_fixed, bool keys_fixed) {
  V tid = k.threadId(0);
  V tq = tid / kGradKeys, jk = tid % kGradKeys;
  V t = t0 + tq, j = s0 + jk;
  V out_row = s.q_base + k.min(t, s.rows - k.index(1)) * s.q_stride;
  V chunks = ceilDiv(s.D, kChunk);
  auto stageQueries = [&](V d0) { stageQueryTiles(k, s, g, tiles, t0, d0); };
  auto stageKeys = [&](V d0) { stageKeyTiles(k, s, g, tiles, s0, d0); };
  auto stage = [&](bool fixed, const std::function<void(V)>& fn, V d0) {
    if (fixed) k.when(chunks > k.index(1), [&] { fn(d0); });
    else fn(d0);
  };
  // sums: q.k, dout.v, this invocation's share of dout.out
  std::vector<V> sums = k.loop(k.index(0), s.D, k.index(kChunk), zeros(k, 3), [&](V d0, const std::vector<V>& acc) {
    k.barrier();
    stage(queries_fixed, stageQueries, d0);
    stage(keys_fixed, stageKeys, d0);
    k.barrier();
    V len = k.min(k.index(kChunk), s.D - d0);
    V q_row = tq * kPitch, k_row = jk * kPitch;
    std::vector<V> dots = k.unrolledLoop(k.index(0), len, k.index(1), kUnroll, {acc[0], acc[1]}, [&](V d, const std::vector<V>& a) {
      V score = a[0] + k.load(tiles.q, q_row + d) * k.load(tiles.k, k_row + d);
      V dp = a[1] + k.load(tiles.dout, q_row + d) * k.load(tiles.v, k_row + d);
      return std::vector<V>{score, dp};
    });
    V share = k.loop(jk, len, k.index(kGradKeys), {acc[2]}, [&](V d, const std::vector<V>& a) {
      return std::vector<V>{a[0] + k.load(tiles.dout, q_row + d) * k.load(g.out, out_row + d0 + d)};
    })[0];
    return std::vector<V>{dots[0], dots[1], share};
  });
  k.store(sums[2], tiles.partial, tid);
  k.barrier();
  V delta = k.loop(k.index(0), k.index(kGradKeys), k.index(kUnroll), {k.f32(0.0)}, [&](V i0, const std::vector<V>& a) {
    V sum = a[0];
    for (int64_t i = 0; i < kUnroll; ++i) sum = sum + k.load(tiles.partial, tq * kGradKeys + i0 + i);
    return std::vector<V>{sum};
  })[0];
  V lse = k.load(g.lse, s.lse_base + k.min(t, s.rows - k.index(1)));
  V visible = t < s.rows && j < s.keys;
  if (causal) visible = visible && j <= t;
  V p = k.select(visible, k.exp(sums[0] * scale - lse), k.f32(0.0));
  k.store(p, tiles.p, tid);
  k.store(p * (sums[1] - delta), tiles.ds, tid);
  k.when(chunks > k.index(1), [&] {
    k.barrier();
    stageQueries(dc);
    stageKeys(dc);
  });
  k.barrier();
}

/// dq of query rows [t0, t0 + kGradRows): dq = scale dS K over the keys they see.
/// Invocation (tq, c) accumulates dims c + kGradKeys * i of row tq.
void dqPass(KernelBuilder& k, const Slice& s, const GradOperands& g, const GradTiles& tiles, V t0, bool causal,
            V scale) {
  constexpr int64_t kDims = kChunk / kGradKeys;
  V tid = k.threadId(0);
  V tq = tid / kGradKeys, c = tid % kGradKeys;
  V t = t0 + tq;
  V key_end = causal ? k.min(s.keys, t0 + kGradRows) : s.keys;
  k.loop(k.index(0), s.D, k.index(kChunk), [&](V dc) {
    k.barrier();
    stageQueryTiles(k, s, g, tiles, t0, k.index(0));
    std::vector<V> dq = k.loop(k.index(0), key_end, k.index(kGradKeys), zeros(k, kDims), [&](V s0, const std::vector<V>& acc) {
      gradScoreTile(k, s, g, tiles, t0, s0, dc, causal, scale, /*queries_fixed=*/true, /*keys_fixed=*/false);
      return k.loop(k.index(0), k.index(kGradKeys), k.index(kUnroll), acc, [&](V j0, const std::vector<V>& a) {
        std::vector<V> next = a;
        for (int64_t u = 0; u < kUnroll; ++u) {
          V j = j0 + u;
          V ds = k.load(tiles.ds, tq * kGradKeys + j);
          for (int64_t i = 0; i < kDims; ++i) next[i] = next[i] + ds * k.load(tiles.k, j * kPitch + c + kGradKeys * i);
        }
        return next;
      });
    });
    for (int64_t i = 0; i < kDims; ++i) {
      V dim = dc + c + kGradKeys * i;
      k.when(t < s.rows && dim < s.D, [&] { k.store(dq[i] * scale, g.dq, s.q_base + t * s.q_stride + dim); });
    }
  });
}

/// dk, dv of keys [s0, s0 + kGradKeys) of kv head `kv_head`: dv = P^T dout,
/// dk = scale dS^T q, summed over the query heads of the group and every query
/// row that sees the keys. Invocation (jj, c) accumulates dims c + kLanes * i of key jj.
void dkdvPass(KernelBuilder& k, const GradOperands& g, const GradTiles& tiles, V b, V kv_head, V s0, bool causal,
              V scale) {
  V tid = k.threadId(0);
  V jj = tid / kLanes, c = tid % kLanes;
  V group = k.dim(2) / k.dim(3);
  Slice first = selfSlice(k, b, kv_head * group);
  k.loop(k.index(0), first.D, k.index(kChunk), [&](V dc) {
    k.barrier();
    stageKeyTiles(k, first, g, tiles, s0, k.index(0));
    std::vector<V> acc = k.loop(kv_head * group, (kv_head + k.index(1)) * group, k.index(1), zeros(k, 2 * kDimsPerLane),
                                [&](V h, const std::vector<V>& per_head) {
      Slice s = selfSlice(k, b, h);
      V t_begin = causal ? s0 : k.index(0);
      return k.loop(t_begin, s.rows, k.index(kGradRows), per_head, [&](V t0, const std::vector<V>& a) {
        gradScoreTile(k, s, g, tiles, t0, s0, dc, causal, scale, /*queries_fixed=*/false, /*keys_fixed=*/true);
        return k.loop(k.index(0), k.index(kGradRows), k.index(kUnroll), a, [&](V tq0, const std::vector<V>& in) {
          std::vector<V> sums = in;  // dk then dv
          for (int64_t u = 0; u < kUnroll; ++u) {
            V tq = tq0 + u;
            V p = k.load(tiles.p, tq * kGradKeys + jj);
            V ds = k.load(tiles.ds, tq * kGradKeys + jj);
            for (int64_t i = 0; i < kDimsPerLane; ++i) {
              V at = tq * kPitch + c + kLanes * i;
              sums[i] = sums[i] + ds * k.load(tiles.q, at);
              sums[kDimsPerLane + i] = sums[kDimsPerLane + i] + p * k.load(tiles.dout, at);
            }
          }
          return sums;
        });
      });
    });
    V key = s0 + jj;
    for (int64_t i = 0; i < kDimsPerLane; ++i) {
      V dim = dc + c + kLanes * i;
      V at = first.kv_base + key * first.kv_stride + dim;
      k.when(key < first.keys && dim < first.D, [&] {
        k.store(acc[i] * scale, g.dk, at);
        k.store(acc[kDimsPerLane + i], g.dv, at);
      });
    }
  });
}

}  // namespace

KernelPlan planAttentionKernel(const DispatchShape& shape, const GpuLimits& limits) {
  using fb::KernelKind;
  const bool causal = !shape.ints.empty() && shape.ints[0] == 1;
  const std::string mask = causal ? "_causal" : "_full";
  KernelPlan plan;
  switch (shape.kind) {
    case KernelKind::Attention:
    case KernelKind::AttentionLse: {
      // (B,T,H,D) q, (B,T,Hkv,D) k, v -> (B,T,H,D) out [, (B,H,T) lse]
      const bool with_lse = shape.kind == KernelKind::AttentionLse;
      plan = forwardPlan((with_lse ? "attention_lse" : "attention") + mask);
      plan.shared_bytes = kForwardSharedFloats * 4;
      plan.body = [causal, with_lse](KernelBuilder& k) {
        ForwardTiles tiles = forwardTiles(k);
        V bh = k.blockId(1);
        Slice s = selfSlice(k, bh / k.dim(2), bh % k.dim(2));
        flashAttention(k, s, k.blockId(0) * kRows, causal, k.floatParam(0), k.operand(0), k.operand(1),
                       k.operand(2), k.operand(3), with_lse ? k.operand(4) : mlir::Value(), tiles);
      };
      break;
    }
    case KernelKind::CachedAttention: {
      // q (B,T,H,D) at positions offsets[b] + t; caches (Bmax,S,Hkv,D); out (B,T,H,D)
      plan = forwardPlan("cached_attention");
      plan.shared_bytes = kCachedSharedFloats * 4;
      plan.body = [](KernelBuilder& k) {
        ForwardTiles tiles = forwardTiles(k);
        mlir::Value scratch = k.shared(KernelBuilder::kMaxSubgroups);
        V bh = k.blockId(1);
        V H = k.dim(2), D = k.dim(4), S = k.dim(6);
        V b = bh / H, h = bh % H;
        Slice s = selfSlice(k, b, h);
        V offset = k.toIndex(k.load(k.operand(3), b));
        s.kv_base = b * S * s.kv_stride + (h / (H / k.dim(3))) * D;  // (Bmax,S,Hkv,D)
        s.keys = offset + s.rows;
        s.key_offset = offset;
        V scale = k.floatParam(0);
        k.when(s.rows == 1, [&] {
          decodeAttention(k, s, scale, k.operand(0), k.operand(1), k.operand(2), k.operand(4), tiles.scores, scratch);
        });
        k.when(s.rows != 1, [&] {
          flashAttention(k, s, k.blockId(0) * kRows, /*causal=*/true, scale, k.operand(0), k.operand(1),
                         k.operand(2), k.operand(4), mlir::Value(), tiles);
        });
      };
      break;
    }
    case KernelKind::AttentionGrad: {
      // dout, q, out (B,T,H,D), k, v (B,T,Hkv,D), lse (B,H,T) -> dq (B,T,H,D), dk, dv (B,T,Hkv,D), overwritten.
      // Workgroup (x, b, h) computes dq of query rows [kGradKeys x, +kGradKeys) of head h and, for the first
      // head of each kv group, dk and dv of keys [kGradKeys x, +kGradKeys): every output has one writer.
      plan = forwardPlan("attention_grad" + mask);
      plan.grid[0] = {{1}, static_cast<uint32_t>(kGradKeys), false};
      plan.shared_bytes = kGradSharedFloats * 4;
      plan.body = [causal](KernelBuilder& k) {
        GradTiles tiles = gradTiles(k);
        GradOperands g{k.operand(0), k.operand(1), k.operand(2), k.operand(3), k.operand(4),
                       k.operand(5), k.operand(6), k.operand(7), k.operand(8)};
        V bh = k.blockId(1);
        V H = k.dim(2), group = H / k.dim(3);
        V b = bh / H, h = bh % H;
        V block0 = k.blockId(0) * kGradKeys;
        V scale = k.floatParam(0);
        Slice s = selfSlice(k, b, h);
        k.loop(k.index(0), k.index(kGradRowBlocks), k.index(1), [&](V i) {
          V t0 = block0 + i * kGradRows;
          k.when(t0 < s.rows, [&] { dqPass(k, s, g, tiles, t0, causal, scale); });
        });
        k.when(h % group == 0, [&] { dkdvPass(k, g, tiles, b, h / group, block0, causal, scale); });
      };
      break;
    }
    default:
      return {};
  }
  if (plan.shared_bytes > limits.shared_bytes || kThreads > limits.max_workgroup_invocations) return {};
  return plan;
}

}  // namespace lathe::codegen::gpu
