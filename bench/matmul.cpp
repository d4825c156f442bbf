// lathe-bench-matmul: GFLOP/s of lathe::cpu::gemm (median of timed runs after
// warm-up), one JSON object per line.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "Kernels.h"
#include "MatmulShapes.h"
#include "ThreadPool.h"

namespace {

using Shape = lathe::bench::MatmulShape;

double medianGflops(lathe::cpu::ThreadPool& pool, const Shape& s, int runs) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> A(s.M * s.K), B(s.K * s.N), C(s.M * s.N);
  for (auto& x : A) x = dist(rng);
  for (auto& x : B) x = dist(rng);
  lathe::cpu::GemmArgs g;
  g.M = s.M, g.N = s.N, g.K = s.K;
  g.A = A.data(), g.lda = s.K;
  g.B = B.data(), g.ldb = s.trans_b ? s.K : s.N, g.trans_b = s.trans_b;
  g.C = C.data(), g.ldc = s.N;
  const double flops = 2.0 * double(s.M) * double(s.N) * double(s.K);
  // Warm up until ~0.2 s has passed (page faults, frequency, caches).
  auto warm_start = std::chrono::steady_clock::now();
  do lathe::cpu::gemm(pool, g);
  while (std::chrono::steady_clock::now() - warm_start < std::chrono::milliseconds(200));
  std::vector<double> rates;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    lathe::cpu::gemm(pool, g);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(flops / seconds * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--threads N] [--runs N] [--shape NAME]...\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, runs = 9;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return usage(argv[0]);
    if (arg == "--threads") threads = std::atoi(argv[++i]);
    else if (arg == "--runs") runs = std::atoi(argv[++i]);
    else if (arg == "--shape") only.push_back(argv[++i]);
    else return usage(argv[0]);
  }
  if (threads < 1 || runs < 1) return usage(argv[0]);
  lathe::cpu::ThreadPool pool(threads);
  for (const Shape& s : lathe::bench::kMatmulShapes) {
    if (!only.empty() && std::find(only.begin(), only.end(), s.name) == only.end()) continue;
    double gflops = medianGflops(pool, s, runs);
    std::printf("{\"impl\": \"lathe\", \"shape\": \"%s\", \"M\": %lld, \"N\": %lld, \"K\": %lld, \"trans_b\": %s, "
                "\"threads\": %d, \"gflops\": %.1f}\n",
                s.name, (long long)s.M, (long long)s.N, (long long)s.K, s.trans_b ? "true" : "false", threads, gflops);
    std::fflush(stdout);
  }
  return 0;
}
