// Throughput of the training kernels on GPT-2-124M shapes (B=4, T=256, C=768):
// the three GEMMs of every linear layer, attention, cross-entropy and AdamW.
// Not a test: run build/bin/training_kernels_bench [threads] and read the numbers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "Internal.h"
#include "RandomData.h"
#include "ThreadPool.h"
#include "TrainingKernels.h"

using namespace lathe::cpu;

namespace {

// Median seconds of `reps` runs after one warm-up run.
double medianSeconds(int reps, const std::function<void()>& fn) {
  fn();
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Y(M,N) = X(M,K) W(N,K)^T, and its backward dX = dY W, dW += dY^T X.
void benchLinear(ThreadPool& pool, const char* name, int64_t M, int64_t K, int64_t N, int reps) {
  auto X = randomVector(M * K, 1), W = randomVector(N * K, 2), dY = randomVector(M * N, 3);
  std::vector<float> Y(M * N), dX(M * K), dW(N * K);
  GemmArgs fwd;
  fwd.M = M, fwd.N = N, fwd.K = K, fwd.A = X.data(), fwd.lda = K, fwd.B = W.data(), fwd.ldb = K, fwd.trans_b = true;
  fwd.C = Y.data(), fwd.ldc = N;
  GemmArgs dx;
  dx.M = M, dx.N = K, dx.K = N, dx.A = dY.data(), dx.lda = N, dx.B = W.data(), dx.ldb = K, dx.trans_b = false;
  dx.C = dX.data(), dx.ldc = K;
  GemmArgs dw;
  dw.M = N, dw.N = K, dw.K = M, dw.A = dY.data(), dw.lda = N, dw.trans_a = true;
  dw.B = X.data(), dw.ldb = K, dw.trans_b = false, dw.C = dW.data(), dw.ldc = K, dw.accumulate = true;
  const double gflop = 2.0 * M * N * K * 1e-9;
  const double t_fwd = medianSeconds(reps, [&] { gemm(pool, fwd); });
  const double t_dx = medianSeconds(reps, [&] { gemm(pool, dx); });
  const double t_dw = medianSeconds(reps, [&] { gemm(pool, dw); });
  std::printf("%-10s M=%-5lld K=%-5lld N=%-6lld  forward %6.1f  dX %6.1f  dW(trans_a, +=) %6.1f GFLOP/s\n", name,
              (long long)M, (long long)K, (long long)N, gflop / t_fwd, gflop / t_dx, gflop / t_dw);
}

void benchAttention(ThreadPool& pool, int64_t B, int64_t T, int64_t H, int64_t D) {
  const int64_t row = 3 * H * D;
  auto qkv = randomVector(B * T * row, 4), dout = randomVector(B * T * H * D, 5);
  std::vector<float> out(B * T * H * D), lse(B * H * T), dqkv(qkv.size());
  AttentionBackwardArgs g;
  AttentionArgs& a = g.forward;
  a.B = B, a.T = T, a.H = H, a.Hkv = H, a.D = D, a.scale = 1.0f / 8.0f;
  a.q = qkv.data(), a.k = qkv.data() + H * D, a.v = qkv.data() + 2 * H * D;
  a.q_row_stride = a.k_row_stride = a.v_row_stride = row;
  a.out = out.data(), a.out_row_stride = H * D;
  g.lse = lse.data(), g.dout = dout.data(), g.dout_row_stride = H * D;
  g.dq = dqkv.data(), g.dk = dqkv.data() + H * D, g.dv = dqkv.data() + 2 * H * D;
  g.dq_row_stride = g.dk_row_stride = g.dv_row_stride = row;
  const double t_fwd = medianSeconds(5, [&] { attentionForward(pool, a, lse.data()); });
  const double t_bwd = medianSeconds(5, [&] { attentionBackward(pool, g); });
  std::printf("attention  B=%lld T=%lld H=%lld D=%lld: forward %.2f ms, backward %.2f ms\n", (long long)B,
              (long long)T, (long long)H, (long long)D, t_fwd * 1e3, t_bwd * 1e3);
}

void benchCrossEntropy(ThreadPool& pool, int64_t rows, int64_t V) {
  auto logits = randomVector(rows * V, 6);
  std::vector<int32_t> targets(rows);
  for (int64_t r = 0; r < rows; ++r) targets[r] = static_cast<int32_t>((r * 7919) % V);
  std::vector<float> losses(rows), lse(rows), work(logits.size());
  CrossEntropyArgs args;
  args.rows = rows, args.V = V, args.logits = work.data(), args.ld = V, args.targets = targets.data();
  args.losses = losses.data(), args.lse = lse.data();
  const double t = medianSeconds(5, [&] {
    work = logits;  // the fused pass overwrites its input
    crossEntropyForwardBackward(pool, args, 1.0f / float(rows));
  });
  const double t_copy = medianSeconds(5, [&] { work = logits; });
  std::printf("cross-entropy fwd+bwd rows=%lld V=%lld: %.2f ms (%.2f Gelem/s)\n", (long long)rows, (long long)V,
              (t - t_copy) * 1e3, rows * V * 1e-9 / (t - t_copy));
}

void benchAdamW(ThreadPool& pool, int64_t n) {
  auto p = randomVector(n, 7), g = randomVector(n, 8);
  std::vector<float> m(n), v(n);
  AdamWArgs args;
  args.param = p.data(), args.grad = g.data(), args.m = m.data(), args.v = v.data(), args.n = n;
  int step = 0;
  const double t = medianSeconds(5, [&] {
    args.step = ++step;
    adamw(pool, args);
  });
  const double t_norm = medianSeconds(5, [&] { sumOfSquares(pool, g.data(), n); });
  std::printf("adamw n=%lld: %.2f ms (%.1f GB/s); sumOfSquares %.2f ms (%.1f GB/s)\n", (long long)n, t * 1e3,
              n * 28.0 * 1e-9 / t, t_norm * 1e3, n * 4.0 * 1e-9 / t_norm);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 0;
  ThreadPool pool(threads);
  std::printf("kernels: %s, threads: %d\n", lathe::cpu::detail::activeKernels().name, pool.size());
  const int64_t M = 4 * 256, C = 768;
  benchLinear(pool, "qkv", M, C, 3 * C, 5);
  benchLinear(pool, "attn.proj", M, C, C, 5);
  benchLinear(pool, "mlp.fc", M, C, 4 * C, 5);
  benchLinear(pool, "mlp.proj", M, 4 * C, C, 5);
  benchLinear(pool, "lm_head", M, C, 50257, 1);
  benchAttention(pool, 4, 256, 12, 64);
  benchCrossEntropy(pool, M, 50257);
  benchAdamW(pool, 16 << 20);
  return 0;
}
