// lathe-bench-matmul: GFLOP/s of lathe::cpu::gemm (median of timed runs after
// warm-up), one JSON object per line.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "Driver.h"
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
  return lathe::bench::median(rates);
}

struct Options {
  int threads = 2;
  int runs = 9;
  std::vector<std::string> shapes;  // names from kMatmulShapes; empty: all
};

int benchmark(const Options& options) {
  lathe::cpu::ThreadPool pool(options.threads);
  for (const Shape& s : lathe::bench::selectedShapes(options.shapes)) {
    double gflops = medianGflops(pool, s, options.runs);
    std::printf("{\"impl\": \"lathe\", \"shape\": \"%s\", \"M\": %lld, \"N\": %lld, \"K\": %lld, \"trans_b\": %s, "
                "\"threads\": %d, \"gflops\": %.1f}\n",
                s.name, (long long)s.M, (long long)s.N, (long long)s.K, s.trans_b ? "true" : "false", options.threads,
                gflops);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"GFLOP/s of lathe::cpu::gemm, one JSON object per shape", "lathe-bench-matmul"};
  app.add_option("--threads", options.threads, "CPU threads")->check(lathe::bench::atLeast(1));
  app.add_option("--runs", options.runs, "timed runs per shape (median is reported)")
      ->check(lathe::bench::atLeast(1));
  app.add_option("--shape", options.shapes, "only this shape (repeatable)")
      ->check(CLI::IsMember(lathe::bench::matmulShapeNames()));
  return lathe::bench::runDriver(app, argc, argv, [&] { return benchmark(options); });
}
