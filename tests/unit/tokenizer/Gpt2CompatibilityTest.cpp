// Exact GPT-2 ids, compared with tiktoken's (generate_gpt2_expected.py).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "TestData.h"

namespace lathe::tokenizer::test {
namespace {

nlohmann::json loadExpected(const std::string& name) {
  return nlohmann::json::parse(readFile(sourcePath("tests/unit/tokenizer/data/" + name)));
}

TEST(Gpt2Compatibility, TrickyStringsMatchTiktoken) {
  const nlohmann::json expected = loadExpected("gpt2_expected.json");
  ASSERT_GE(expected["cases"].size(), 50u);
  for (const auto& item : expected["cases"]) {
    const std::string text = item["text"];
    const std::vector<TokenId> ids = item["ids"];
    EXPECT_EQ(gpt2().encode(text), ids) << "text: " << nlohmann::json(text).dump();
    EXPECT_EQ(gpt2().decode(ids), text);
  }
}

TEST(Gpt2Compatibility, CorpusExcerptsMatchTiktoken) {
  const nlohmann::json expected = loadExpected("gpt2_corpus_expected.json");
  ASSERT_EQ(expected["files"].size(), corpusFiles().size());
  for (const auto& item : expected["files"]) {
    const std::string text = readFile(sourcePath("data/corpora/" + item["file"].get<std::string>()));
    const std::vector<TokenId> ids = item["ids"];
    EXPECT_EQ(gpt2().encode(text, /*allow_special=*/false), ids) << item["file"];
  }
}

TEST(Gpt2Compatibility, KnownIds) {
  EXPECT_EQ(gpt2().size(), 50257u);
  EXPECT_EQ(gpt2().encode("Hello world"), (std::vector<TokenId>{15496, 995}));
  EXPECT_EQ(gpt2().specialId("<|endoftext|>"), 50256u);
  EXPECT_TRUE(gpt2().isSpecial(50256));
  EXPECT_FALSE(gpt2().isSpecial(995));
}

TEST(Gpt2Compatibility, SpecialTokensCanBeOrdinaryText) {
  const std::vector<TokenId> as_text = gpt2().encode("<|endoftext|>", /*allow_special=*/false);
  EXPECT_GT(as_text.size(), 1u);
  EXPECT_EQ(std::count(as_text.begin(), as_text.end(), 50256u), 0);
  EXPECT_EQ(gpt2().decode(as_text), "<|endoftext|>");
}

}  // namespace
}  // namespace lathe::tokenizer::test
