// The C API and C++ wrapper (liblathe_runtime.so), including a tokenizer
// carried in an artifact.
#include <gtest/gtest.h>

#include "TestArtifacts.h"
#include "TestData.h"
#include "lathe/lathe.hpp"

namespace lathe::tokenizer::test {
namespace {

const lathe::Tokenizer& apiGpt2() {
  static const lathe::Tokenizer tokenizer = lathe::Tokenizer::load(sourcePath("data/gpt2"));
  return tokenizer;
}

TEST(TokenizerApi, EncodeDecode) {
  EXPECT_EQ(apiGpt2().tokenCount(), 50257u);
  EXPECT_EQ(apiGpt2().mergeCount(), 50000u);
  EXPECT_EQ(apiGpt2().encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(apiGpt2().decode({15496, 995}), "Hello world");
  EXPECT_EQ(apiGpt2().encode("<|endoftext|>"), (std::vector<int32_t>{50256}));
  EXPECT_GT(apiGpt2().encode("<|endoftext|>", false).size(), 1u);
  EXPECT_EQ(apiGpt2().specialId("<|endoftext|>"), 50256);
  EXPECT_EQ(apiGpt2().specialId("<|nope|>"), -1);
  EXPECT_EQ(apiGpt2().tokenBytes(995), " world");
  EXPECT_TRUE(apiGpt2().isSpecial(50256));
  EXPECT_EQ(apiGpt2().merge(0), apiGpt2().merge(0));
  EXPECT_EQ(apiGpt2().decode(apiGpt2().encode("")), "");
}

TEST(TokenizerApi, ErrorsAreStatusesWithMessages) {
  EXPECT_THROW(apiGpt2().decode({50257}), lathe::RuntimeError);
  EXPECT_THROW(apiGpt2().decode({-1}), lathe::RuntimeError);
  EXPECT_THROW(apiGpt2().tokenBytes(1 << 30), lathe::RuntimeError);
  int32_t ids[1];
  size_t count = 0;
  EXPECT_EQ(lathe_tokenizer_encode(apiGpt2().get(), "Hello world", 11, 0, ids, 1, &count),
            LATHE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(count, 2u);
  EXPECT_NE(std::string(lathe_last_error()).find("encodes to 2 tokens; ids holds only 1"), std::string::npos);
  lathe_tokenizer* tokenizer = nullptr;
  EXPECT_EQ(lathe_tokenizer_load("/nonexistent", &tokenizer), LATHE_ERROR_IO);
  EXPECT_EQ(tokenizer, nullptr);
  EXPECT_EQ(lathe_tokenizer_load(nullptr, &tokenizer), LATHE_ERROR_INVALID_ARGUMENT);
  lathe_tokenizer_free(nullptr);
  lathe_token_decoder_free(nullptr);
}

TEST(TokenizerApi, StreamingDecoder) {
  const std::string text = "smile \xF0\x9F\x98\x80 \xE4\xB8\xAD\xE6\x96\x87 end";
  lathe::TokenDecoder decoder(apiGpt2());
  std::string streamed;
  for (int32_t id : apiGpt2().encode(text)) streamed += decoder.push(id);
  streamed += decoder.finish();
  EXPECT_EQ(streamed, text);
}

TEST(TokenizerApi, TrainAndSave) {
  const std::vector<std::string> files = corpusFiles();
  const lathe::Tokenizer trained = lathe::Tokenizer::train({files[0]}, 400);
  EXPECT_EQ(trained.tokenCount(), 400u);
  const std::string text = readFile(files[1]);
  EXPECT_EQ(trained.decode(trained.encode(text)), text);
  const std::string dir = testing::TempDir() + "/lathe_api_trained";
  trained.save(dir);
  EXPECT_EQ(lathe::Tokenizer::load(dir).encode(text), trained.encode(text));
  EXPECT_THROW(lathe::Tokenizer::train({"/nonexistent.txt"}, 400), lathe::RuntimeError);
}

TEST(TokenizerApi, TravelsInsideAnArtifact) {
  fb::ArtifactT artifact = lathe::test::TinyModel().artifact();
  artifact.tokenizer = tokenizerTable(gpt2().vocabulary());
  const std::vector<uint8_t> bytes = lathe::test::pack(artifact);
  const lathe::Artifact loaded = lathe::Artifact::fromMemory(bytes.data(), bytes.size());
  const lathe::Tokenizer tokenizer = lathe::Tokenizer::fromArtifact(loaded);
  EXPECT_EQ(tokenizer.encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(tokenizer.specialId("<|endoftext|>"), 50256);
}

TEST(TokenizerApi, ArtifactWithoutTokenizer) {
  const std::vector<uint8_t> bytes = lathe::test::pack(lathe::test::TinyModel().artifact());
  const lathe::Artifact loaded = lathe::Artifact::fromMemory(bytes.data(), bytes.size());
  try {
    lathe::Tokenizer::fromArtifact(loaded);
    FAIL() << "expected an error";
  } catch (const lathe::RuntimeError& error) {
    EXPECT_EQ(error.status(), LATHE_ERROR_NOT_FOUND);
  }
}

TEST(TokenizerApi, ArtifactVerifiesItsTokenizer) {
  auto open = [](fb::ArtifactT artifact) {
    const std::vector<uint8_t> bytes = lathe::test::pack(artifact);
    lathe_artifact* handle = nullptr;
    const lathe_status status = lathe_artifact_open_memory(bytes.data(), bytes.size(), &handle);
    lathe_artifact_close(handle);
    return std::make_pair(status, std::string(lathe_last_error()));
  };
  fb::ArtifactT bad_merge = lathe::test::TinyModel().artifact();
  bad_merge.tokenizer = tokenizerTable(gpt2().vocabulary());
  bad_merge.tokenizer->merges[0] = 60000;
  auto [status, message] = open(std::move(bad_merge));
  EXPECT_EQ(status, LATHE_ERROR_INVALID_ARTIFACT);
  EXPECT_NE(message.find("tokenizer: invalid tokenizer: merge 0"), std::string::npos) << message;

  fb::ArtifactT bad_offsets = lathe::test::TinyModel().artifact();
  bad_offsets.tokenizer = tokenizerTable(gpt2().vocabulary());
  bad_offsets.tokenizer->token_offsets.back() += 1;
  std::tie(status, message) = open(std::move(bad_offsets));
  EXPECT_EQ(status, LATHE_ERROR_INVALID_ARTIFACT);
  EXPECT_NE(message.find("token_offsets must start at 0 and end"), std::string::npos) << message;

  fb::ArtifactT offset_beyond = lathe::test::TinyModel().artifact();
  offset_beyond.tokenizer = tokenizerTable(gpt2().vocabulary());
  offset_beyond.tokenizer->token_offsets[1] = 1u << 30;
  std::tie(status, message) = open(std::move(offset_beyond));
  EXPECT_EQ(status, LATHE_ERROR_INVALID_ARTIFACT);
  EXPECT_NE(message.find("token_offsets[1] = 1073741824 is out of order or beyond token_bytes"), std::string::npos)
      << message;

  fb::ArtifactT unknown_kind = lathe::test::TinyModel().artifact();
  unknown_kind.tokenizer = tokenizerTable(gpt2().vocabulary());
  unknown_kind.tokenizer->kind = "sentencepiece";
  std::tie(status, message) = open(std::move(unknown_kind));
  EXPECT_EQ(status, LATHE_ERROR_UNSUPPORTED);
}

}  // namespace
}  // namespace lathe::tokenizer::test
