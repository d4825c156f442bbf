// Loading GPT-2 and Hugging Face files, and the errors for bad ones.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "TestData.h"

namespace lathe::tokenizer::test {
namespace {

using nlohmann::json;

std::string gpt2Encoder() { return readFile(sourcePath("data/gpt2/encoder.json")); }
std::string gpt2Merges() { return readFile(sourcePath("data/gpt2/vocab.bpe")); }

/// GPT-2 as a Hugging Face tokenizer.json, with merges as "a b" strings or [a, b] pairs.
json gpt2AsHuggingFace(bool pair_merges) {
  json merges = json::array();
  const std::string text = gpt2Merges();
  size_t start = text.find('\n') + 1;  // skip "#version"
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    merges.push_back(pair_merges ? json::array({line.substr(0, space), line.substr(space + 1)}) : json(line));
  }
  return {{"version", "1.0"},
          {"added_tokens", {{{"id", 50256}, {"content", "<|endoftext|>"}, {"special", true}}}},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
          {"model", {{"type", "BPE"}, {"vocab", json::parse(gpt2Encoder())}, {"merges", merges}}}};
}

std::string errorOf(const std::function<void()>& body) {
  try {
    body();
  } catch (const runtime::Error& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(TokenizerFiles, HuggingFaceJsonInBothMergeFormsMatchesGpt2) {
  const std::string text = "Hello world <|endoftext|> it's 2024 \xF0\x9F\x98\x80 \xE4\xB8\xAD\xE6\x96\x87";
  for (bool pair_merges : {false, true}) {
    const Tokenizer tokenizer(parseHuggingFaceTokenizer(gpt2AsHuggingFace(pair_merges).dump(), "tokenizer.json"));
    EXPECT_EQ(tokenizer.size(), gpt2().size());
    EXPECT_EQ(tokenizer.encode(text), gpt2().encode(text)) << "pair merges: " << pair_merges;
    EXPECT_EQ(tokenizer.specialId("<|endoftext|>"), 50256u);
  }
}

TEST(TokenizerFiles, LoadsHuggingFaceNamesAndTokenizerJsonFromADirectory) {
  const std::string dir = testing::TempDir() + "/lathe_hf_names";
  const std::string json_dir = testing::TempDir() + "/lathe_hf_json";
  ASSERT_EQ(system(("mkdir -p " + dir + " " + json_dir).c_str()), 0);
  std::ofstream(dir + "/vocab.json") << gpt2Encoder();
  std::ofstream(dir + "/merges.txt") << gpt2Merges();
  std::ofstream(json_dir + "/tokenizer.json") << gpt2AsHuggingFace(false).dump();
  EXPECT_TRUE(hasTokenizerFiles(dir));
  EXPECT_TRUE(hasTokenizerFiles(json_dir));
  EXPECT_FALSE(hasTokenizerFiles(testing::TempDir() + "/no_such_dir"));
  const std::string text = "Round trip through files.";
  EXPECT_EQ(Tokenizer(loadVocabulary(dir)).encode(text), gpt2().encode(text));
  EXPECT_EQ(Tokenizer(loadVocabulary(json_dir)).encode(text), gpt2().encode(text));
  EXPECT_EQ(Tokenizer(loadVocabulary(json_dir + "/tokenizer.json")).encode(text), gpt2().encode(text));
}

TEST(TokenizerFiles, RejectsOtherModelTypesClearly) {
  json unigram = gpt2AsHuggingFace(false);
  unigram["model"]["type"] = "Unigram";
  EXPECT_NE(errorOf([&] { parseHuggingFaceTokenizer(unigram.dump(), "t.json"); })
                .find("model type \"Unigram\" is not supported"),
            std::string::npos);
  json metaspace = gpt2AsHuggingFace(false);
  metaspace["pre_tokenizer"] = {{"type", "Metaspace"}};
  EXPECT_NE(errorOf([&] { parseHuggingFaceTokenizer(metaspace.dump(), "t.json"); })
                .find("pre_tokenizer \"Metaspace\" is not supported"),
            std::string::npos);
  EXPECT_NE(errorOf([] { parseHuggingFaceTokenizer("{\"vocab\": 1}", "t.json"); }).find("no \"model\" object"),
            std::string::npos);
}

TEST(TokenizerFiles, BadMergesNameTheLine) {
  const std::string merges = "#version: 0.2\nĠ t\nnot_a_token x\n";
  EXPECT_NE(errorOf([&] { parseGpt2Vocabulary(gpt2Encoder(), merges, "enc.json", "m.bpe"); })
                .find("m.bpe:3: merge part \"not_a_token\" is not in the vocabulary"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { parseGpt2Vocabulary(gpt2Encoder(), "#version: 0.2\nĠt\n", "e", "m.bpe"); })
                .find("m.bpe:2: a merge must be two tokens separated by one space"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { parseGpt2Vocabulary("{\"a\": 5}", "", "enc.json", "m"); }).find("enc.json: token \"a\" has id 5"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { parseGpt2Vocabulary("[1,", "", "enc.json", "m"); }).find("enc.json: not valid JSON"),
            std::string::npos);
  EXPECT_NE(errorOf([] { loadVocabulary("/nonexistent/tokenizer"); }).find("does not exist"), std::string::npos);
}

TEST(TokenizerFiles, VocabularyChecks) {
  Vocabulary no_bytes;
  no_bytes.tokens = {"a", "b"};
  EXPECT_NE(errorOf([&] { Tokenizer{no_bytes}; }).find("no token for the single byte"), std::string::npos);
  Vocabulary vocabulary = gpt2().vocabulary();
  vocabulary.merges.emplace_back(15496, 995);  // "Hello" + " world" is not a token
  EXPECT_NE(errorOf([&] { Tokenizer{vocabulary}; }).find("merge 50000 (15496, 995): the merged token"),
            std::string::npos);
  vocabulary = gpt2().vocabulary();
  vocabulary.tokens[300] = vocabulary.tokens[301];
  EXPECT_NE(errorOf([&] { Tokenizer{vocabulary}; }).find("are both"), std::string::npos);
}

}  // namespace
}  // namespace lathe::tokenizer::test
