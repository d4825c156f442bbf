// Encoding throughput of the byte-level BPE tokenizer through the public C++
// API, single-threaded. Prints one JSON line; bench/bench.py compares it with
// tiktoken on the same text in the same run.
//   lathe-bench-tokenizer --tokenizer data/gpt2 --runs 5 FILE...
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "Driver.h"
#include "lathe/lathe.hpp"

namespace {

// Order-sensitive checksum of the ids, so the peers can compare results without exchanging them.
unsigned long long checksum(const std::vector<int32_t>& ids) {
  unsigned long long sum = 1469598103934665603ull;
  for (int32_t id : ids) sum = (sum ^ static_cast<unsigned long long>(id)) * 1099511628211ull;
  return sum;
}

struct Options {
  std::string tokenizer = "data/gpt2";
  int runs = 5;
  std::vector<std::string> files;
};

int benchmark(const Options& options) {
  using lathe::bench::secondsSince;
  std::string text;
  for (const std::string& file : options.files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open '" + file + "'");
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto load_start = std::chrono::steady_clock::now();
  const lathe::Tokenizer tokenizer = lathe::Tokenizer::load(options.tokenizer);
  const double load_seconds = secondsSince(load_start);
  std::vector<double> rates;
  std::vector<int32_t> ids;
  for (int run = 0; run < options.runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    ids = tokenizer.encode(text, /*allow_special=*/false);
    rates.push_back(text.size() / 1e6 / secondsSince(start));
  }
  const auto decode_start = std::chrono::steady_clock::now();
  const bool round_trip = tokenizer.decode(ids) == text;
  const double decode_rate = text.size() / 1e6 / secondsSince(decode_start);
  std::printf("{\"bytes\": %zu, \"tokens\": %zu, \"encode_mb_per_s\": %.3f, \"decode_mb_per_s\": %.1f, "
              "\"load_ms\": %.1f, \"round_trip\": %s, \"checksum\": \"%llu\"}\n",
              text.size(), ids.size(), lathe::bench::median(rates), decode_rate, load_seconds * 1e3,
              round_trip ? "true" : "false", checksum(ids));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Encoding throughput of the byte-level BPE tokenizer, single-threaded, as one JSON object",
               "lathe-bench-tokenizer"};
  app.add_option("--tokenizer", options.tokenizer, "directory with encoder.json and vocab.bpe");
  app.add_option("--runs", options.runs, "timed encodings (median is reported)")->check(lathe::bench::atLeast(1));
  app.add_option("files", options.files, "text files, encoded as one text")->required();
  return lathe::bench::runDriver(app, argc, argv, [&] { return benchmark(options); });
}

