// Encoding throughput of the byte-level BPE tokenizer through the public C++
// API, single-threaded. Prints one JSON line; bench/bench.py compares it with
// tiktoken on the same text in the same run.
//   lathe-bench-tokenizer --tokenizer data/gpt2 --runs 5 FILE...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "lathe/lathe.hpp"

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Order-sensitive checksum of the ids, so the peers can compare results without exchanging them.
unsigned long long checksum(const std::vector<int32_t>& ids) {
  unsigned long long sum = 1469598103934665603ull;
  for (int32_t id : ids) sum = (sum ^ static_cast<unsigned long long>(id)) * 1099511628211ull;
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tokenizer_path = "data/gpt2";
  int runs = 5;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--tokenizer") && i + 1 < argc) {
      tokenizer_path = argv[++i];
    } else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      files.push_back(argv[i]);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: lathe-bench-tokenizer [--tokenizer DIR] [--runs N] FILE...\n");
    return 2;
  }
  try {
    std::string text;
    for (const std::string& file : files) {
      std::ifstream in(file, std::ios::binary);
      if (!in) throw std::runtime_error("cannot open '" + file + "'");
      text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const auto load_start = std::chrono::steady_clock::now();
    const lathe::Tokenizer tokenizer = lathe::Tokenizer::load(tokenizer_path);
    const double load_seconds = secondsSince(load_start);
    std::vector<double> rates;
    std::vector<int32_t> ids;
    for (int run = 0; run < runs; ++run) {
      const auto start = std::chrono::steady_clock::now();
      ids = tokenizer.encode(text, /*allow_special=*/false);
      rates.push_back(text.size() / 1e6 / secondsSince(start));
    }
    std::sort(rates.begin(), rates.end());
    const auto decode_start = std::chrono::steady_clock::now();
    const bool round_trip = tokenizer.decode(ids) == text;
    const double decode_rate = text.size() / 1e6 / secondsSince(decode_start);
    std::printf("{\"bytes\": %zu, \"tokens\": %zu, \"encode_mb_per_s\": %.3f, \"decode_mb_per_s\": %.1f, "
                "\"load_ms\": %.1f, \"round_trip\": %s, \"checksum\": \"%llu\"}\n",
                text.size(), ids.size(), rates[rates.size() / 2], decode_rate, load_seconds * 1e3,
                round_trip ? "true" : "false", checksum(ids));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "lathe-bench-tokenizer: %s\n", error.what());
    return 1;
  }
  return 0;
}
