// BPE training: the incremental trainer against a naive one, round trips and
// compression of a tokenizer trained on the corpus excerpts.
#include <gtest/gtest.h>

#include <map>

#include "TestData.h"
#include "tokenizer/BpeTrainer.h"
#include "tokenizer/PreTokenizer.h"

namespace lathe::tokenizer::test {
namespace {

Vocabulary trainOn(const std::vector<std::string>& texts, size_t vocab_size) {
  TrainOptions options;
  options.vocab_size = vocab_size;
  BpeTrainer trainer(options);
  for (const std::string& text : texts) trainer.addText(text);
  return trainer.train();
}

// Recounts every pair before each merge; same tie rule (count, then smallest (left, right)).
std::vector<std::pair<std::string, std::string>> naiveMerges(const std::string& text, size_t merge_count) {
  std::map<std::string, uint64_t> word_counts;
  Gpt2PreTokenizer pre(text);
  std::string_view piece;
  while (pre.next(piece)) ++word_counts[std::string(piece)];
  const Vocabulary bytes = trainOn({""}, 257);  // the byte tokens in GPT-2 order
  std::map<std::string, TokenId> id_of;
  std::vector<std::string> tokens(bytes.tokens.begin(), bytes.tokens.begin() + 256);
  for (TokenId id = 0; id < 256; ++id) id_of[tokens[id]] = id;
  std::vector<std::pair<std::vector<TokenId>, uint64_t>> words;
  for (const auto& [word, count] : word_counts) {
    std::vector<TokenId> symbols;
    for (char c : word) symbols.push_back(id_of[std::string(1, c)]);
    words.emplace_back(symbols, count);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  while (merges.size() < merge_count) {
    std::map<std::pair<TokenId, TokenId>, uint64_t> pairs;
    for (const auto& [symbols, count] : words) {
      for (size_t i = 0; i + 1 < symbols.size(); ++i) pairs[{symbols[i], symbols[i + 1]}] += count;
    }
    std::pair<TokenId, TokenId> best{};
    uint64_t best_count = 0;
    for (const auto& [pair, count] : pairs) {
      if (count > best_count) best = pair, best_count = count;  // map order: ties keep the smallest pair
    }
    if (best_count < 2) break;
    const std::string merged = tokens[best.first] + tokens[best.second];
    auto [it, is_new] = id_of.emplace(merged, static_cast<TokenId>(tokens.size()));
    if (is_new) tokens.push_back(merged);
    merges.emplace_back(tokens[best.first], tokens[best.second]);
    for (auto& [symbols, count] : words) {
      std::vector<TokenId> out;
      for (size_t i = 0; i < symbols.size();) {
        if (i + 1 < symbols.size() && symbols[i] == best.first && symbols[i + 1] == best.second) {
          out.push_back(it->second);
          i += 2;
        } else {
          out.push_back(symbols[i++]);
        }
      }
      symbols = out;
    }
  }
  return merges;
}

TEST(BpeTrainer, MatchesANaiveTrainer) {
  const std::string text = readFile(corpusFiles().front()).substr(0, 6000) + " aaaa aaaaa abab ababab \n\n\n  x";
  const size_t merge_count = 120;
  const Vocabulary vocabulary = trainOn({text}, 256 + merge_count + 1);
  const auto expected = naiveMerges(text, merge_count);
  ASSERT_EQ(vocabulary.merges.size(), expected.size());
  for (size_t rank = 0; rank < expected.size(); ++rank) {
    EXPECT_EQ(vocabulary.tokens[vocabulary.merges[rank].first], expected[rank].first) << "rank " << rank;
    EXPECT_EQ(vocabulary.tokens[vocabulary.merges[rank].second], expected[rank].second) << "rank " << rank;
  }
}

TEST(BpeTrainer, RoundTripsAndCompresses) {
  std::vector<std::string> texts;
  for (const std::string& file : corpusFiles()) texts.push_back(readFile(file));
  const Vocabulary vocabulary = trainOn({texts[0], texts[1]}, 2000);
  EXPECT_EQ(vocabulary.tokens.size(), 2000u);
  EXPECT_EQ(vocabulary.tokens.back(), "<|endoftext|>");
  const Tokenizer tokenizer(vocabulary);
  size_t bytes = 0, tokens = 0;
  for (const std::string& text : texts) {
    const std::vector<TokenId> ids = tokenizer.encode(text);
    ASSERT_EQ(tokenizer.decode(ids), text);
    bytes += text.size();
    tokens += ids.size();
  }
  const double bytes_per_token = static_cast<double>(bytes) / tokens;
  const double gpt2_bytes_per_token = static_cast<double>(texts[2].size()) / gpt2().encode(texts[2]).size();
  std::printf("trained 2000-token BPE: %.3f bytes/token on %zu bytes (GPT-2 on %s: %.3f)\n", bytes_per_token, bytes,
              corpusFiles()[2].c_str(), gpt2_bytes_per_token);
  RecordProperty("bytes_per_token", std::to_string(bytes_per_token));
  EXPECT_GT(bytes_per_token, 2.8);  // bytes alone give 1.0; measured 3.10
}

TEST(BpeTrainer, SavedFilesLoadBackIdentically) {
  const std::string text = readFile(corpusFiles().back());
  const Vocabulary vocabulary = trainOn({text}, 600);
  const std::string dir = testing::TempDir() + "/lathe_trained_tokenizer";
  saveGpt2Files(vocabulary, dir);
  const Vocabulary loaded = loadVocabulary(dir);
  EXPECT_EQ(loaded.tokens, vocabulary.tokens);
  EXPECT_EQ(loaded.merges, vocabulary.merges);
  EXPECT_EQ(loaded.special_ids, vocabulary.special_ids);
  const Tokenizer a(vocabulary), b(loaded);
  EXPECT_EQ(a.encode(text), b.encode(text));
}

TEST(BpeTrainer, SkipsSpecialTokensInTheText) {
  const Vocabulary vocabulary = trainOn({"<|endoftext|><|endoftext|><|endoftext|> hi hi hi"}, 300);
  for (const std::string& token : vocabulary.tokens) {
    if (token != "<|endoftext|>") {
      EXPECT_EQ(token.find("<|"), std::string::npos) << token;
    }
  }
}

TEST(BpeTrainer, RejectsAVocabularyBelowTheBytes) {
  TrainOptions options;
  options.vocab_size = 200;
  EXPECT_THROW(BpeTrainer{options}, runtime::Error);
}

}  // namespace
}  // namespace lathe::tokenizer::test
