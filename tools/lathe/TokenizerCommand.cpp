// lathe tokenizer encode|decode|train|stats: byte-level BPE from the command line.
#include "Commands.h"

#include "Npy.h"
#include "lathe/lathe.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace lathe::tool {
namespace {

struct TokenizerOptions {
  std::string tokenizer;
  std::string text;
  std::string input;  // encode: text file; decode: ids ("1,2,3" or a .npy)
  std::string output;
  bool special_as_text = false;
  std::vector<std::string> corpora;
  size_t vocab_size = 0;
  std::vector<std::string> special_tokens = {"<|endoftext|>"};
};

bool endsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string readAll(std::istream& in, const std::string& name) {
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("cannot read " + name);
  return bytes;
}

std::string readInputFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open '" + path + "'");
  return readAll(in, "'" + path + "'");
}

/// Text from --text, a file, or stdin ("-" or nothing).
std::string inputText(const TokenizerOptions& options) {
  if (!options.text.empty()) return options.text;
  if (!options.input.empty() && options.input != "-") return readInputFile(options.input);
  return readAll(std::cin, "standard input");
}

std::vector<int32_t> parseIds(const std::string& text) {
  std::vector<int32_t> ids;
  std::string item;
  std::stringstream stream(text);
  size_t position = 0;
  while (stream >> item) {
    std::stringstream items(item);
    std::string value;
    while (std::getline(items, value, ',')) {
      ++position;
      if (value.empty()) continue;
      size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != value.size() || id < 0 || id > INT32_MAX)
        throw std::runtime_error("token id '" + value + "' (item " + std::to_string(position) +
                                 ") is not a non-negative 32-bit integer");
      ids.push_back(static_cast<int32_t>(id));
    }
  }
  return ids;
}

std::string joinIds(const std::vector<int32_t>& ids) {
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) text += (i ? "," : "") + std::to_string(ids[i]);
  return text;
}

void encode(const TokenizerOptions& options) {
  const Tokenizer tokenizer = openTokenizer(options.tokenizer);
  const std::vector<int32_t> ids = tokenizer.encode(inputText(options), !options.special_as_text);
  if (options.output.empty()) {
    std::cout << joinIds(ids) << "\n";
  } else {
    npy::writeInt32(options.output, {static_cast<int64_t>(ids.size())}, ids.data());
    std::cerr << "lathe: wrote " << ids.size() << " token ids to " << options.output << "\n";
  }
}

void decode(const TokenizerOptions& options) {
  const Tokenizer tokenizer = openTokenizer(options.tokenizer);
  std::vector<int32_t> ids;
  if (endsWith(options.input, ".npy")) {
    ids = npy::readTokenIds(options.input).ids;
  } else if (!options.input.empty() && options.input != "-") {
    ids = parseIds(options.input);
  } else {
    ids = parseIds(readAll(std::cin, "standard input"));
  }
  const std::string text = tokenizer.decode(ids);
  if (options.output.empty()) {
    std::cout << text;
  } else {
    writeFileAtomically(options.output, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  }
}

void train(const TokenizerOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const Tokenizer tokenizer = Tokenizer::train(options.corpora, options.vocab_size, options.special_tokens);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  tokenizer.save(options.output);
  size_t bytes = 0;
  for (const std::string& path : options.corpora) bytes += readInputFile(path).size();
  std::cerr << "lathe: trained " << tokenizer.tokenCount() << " tokens (" << tokenizer.mergeCount()
            << " merges) on " << bytes / 1e6 << " MB in " << seconds << " s; wrote " << options.output
            << "/encoder.json and vocab.bpe\n";
  if (tokenizer.tokenCount() < options.vocab_size)
    std::cerr << "lathe: note: stopped below --vocab-size " << options.vocab_size
              << ": no remaining pair of tokens occurs twice in the text\n";
}

void stats(const TokenizerOptions& options) {
  const Tokenizer tokenizer = openTokenizer(options.tokenizer);
  size_t special = 0;
  for (size_t id = 0; id < tokenizer.tokenCount(); ++id) special += tokenizer.isSpecial(static_cast<int32_t>(id));
  std::cout << "tokens: " << tokenizer.tokenCount() << "\nmerges: " << tokenizer.mergeCount()
            << "\nspecial tokens: " << special << "\n";
  size_t total_bytes = 0, total_tokens = 0;
  double total_seconds = 0;
  for (const std::string& path : options.corpora) {
    const std::string text = readInputFile(path);
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = tokenizer.encode(text, false);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (tokenizer.decode(ids) != text) throw std::runtime_error("'" + path + "' does not round-trip");
    std::cout << path << ": " << text.size() << " bytes, " << ids.size() << " tokens, "
              << (ids.empty() ? 0.0 : static_cast<double>(text.size()) / ids.size()) << " bytes/token, "
              << text.size() / 1e6 / seconds << " MB/s, round trip ok\n";
    total_bytes += text.size(), total_tokens += ids.size(), total_seconds += seconds;
  }
  if (options.corpora.size() > 1 && total_tokens > 0) {
    std::cout << "total: " << total_bytes << " bytes, " << total_tokens << " tokens, "
              << static_cast<double>(total_bytes) / total_tokens << " bytes/token, "
              << total_bytes / 1e6 / total_seconds << " MB/s\n";
  }
}

void addTokenizerOption(CLI::App* cmd, TokenizerOptions& options) {
  cmd->add_option("-t,--tokenizer", options.tokenizer,
                   "tokenizer directory (encoder.json + vocab.bpe, vocab.json + merges.txt, tokenizer.json), "
                   "a tokenizer.json, or a compiled .lathe artifact")
      ->required();
}

}  // namespace

Tokenizer openTokenizer(const std::string& path) {
  if (endsWith(path, ".lathe")) return Tokenizer::fromArtifact(Artifact(path));
  return Tokenizer::load(path);
}

void addTokenizerCommand(CLI::App& app) {
  auto options = std::make_shared<TokenizerOptions>();
  CLI::App* group = app.add_subcommand("tokenizer", "Byte-level BPE tokenizer: encode, decode, train, stats");
  group->require_subcommand(1);

  CLI::App* enc = group->add_subcommand("encode", "Text to token ids (comma-separated, or an int32 .npy with -o)");
  addTokenizerOption(enc, *options);
  auto* text = enc->add_option("--text", options->text, "the text to encode");
  enc->add_option("input", options->input, "file to encode ('-' or nothing: standard input)")->excludes(text);
  enc->add_option("-o,--output", options->output, "write the ids as a 1-D int32 .npy instead of printing them");
  enc->add_flag("--special-as-text", options->special_as_text,
                "encode special tokens such as <|endoftext|> in the text as ordinary text");
  enc->callback([options] { encode(*options); });

  CLI::App* dec = group->add_subcommand("decode", "Token ids to text");
  addTokenizerOption(dec, *options);
  dec->add_option("ids", options->input, "ids like 15496,995 or a .npy of ids ('-' or nothing: standard input)");
  dec->add_option("-o,--output", options->output, "write the text to this file instead of standard output");
  dec->callback([options] { decode(*options); });

  CLI::App* trn = group->add_subcommand("train", "Learn byte-level BPE merges from text files");
  trn->add_option("corpus", options->corpora, "text files")->required()->check(CLI::ExistingFile);
  trn->add_option("--vocab-size", options->vocab_size, "total tokens: 256 bytes + merges + special tokens")
      ->required();
  trn->add_option("--special", options->special_tokens, "special tokens (default: <|endoftext|>)");
  trn->add_option("-o,--output", options->output, "directory for encoder.json and vocab.bpe")->required();
  trn->callback([options] { train(*options); });

  CLI::App* sts = group->add_subcommand("stats", "Vocabulary facts, and bytes/token and speed on text files");
  addTokenizerOption(sts, *options);
  sts->add_option("corpus", options->corpora, "text files to measure")->check(CLI::ExistingFile);
  sts->callback([options] { stats(*options); });
}

}  // namespace lathe::tool
