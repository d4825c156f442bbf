// decode(encode(x)) == x on the corpora and on random bytes, and streaming
// decode gives the same text in complete UTF-8 chunks.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "TestData.h"
#include "tokenizer/Utf8.h"

namespace lathe::tokenizer::test {
namespace {

std::string streamDecode(const Tokenizer& tokenizer, const std::vector<TokenId>& ids, bool expect_valid_chunks) {
  StreamDecoder decoder(tokenizer);
  std::string text;
  for (TokenId id : ids) {
    const std::string chunk = decoder.push(id);
    if (expect_valid_chunks) {
      EXPECT_TRUE(isValidUtf8(chunk)) << "chunk after id " << id;
    }
    text += chunk;
  }
  return text + decoder.finish();
}

TEST(RoundTrip, CorpusFiles) {
  const std::vector<std::string> files = corpusFiles();
  ASSERT_GE(files.size(), 7u);
  for (const std::string& file : files) {
    const std::string text = readFile(file);
    const std::vector<TokenId> ids = gpt2().encode(text);
    EXPECT_EQ(gpt2().decode(ids), text) << file;
    EXPECT_EQ(streamDecode(gpt2(), ids, true), text) << file;
  }
}

TEST(RoundTrip, RandomBytesIncludingInvalidUtf8) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 400; ++trial) {
    std::string text(rng() % 200, '\0');
    for (char& c : text) c = static_cast<char>(rng() & 0xFF);
    const std::vector<TokenId> ids = gpt2().encode(text);
    ASSERT_EQ(gpt2().decode(ids), text) << "trial " << trial;
    ASSERT_EQ(streamDecode(gpt2(), ids, false), text) << "trial " << trial;
  }
}

// Random mixes of spaces, letters, digits, punctuation, multi-byte characters and special tokens.
TEST(RoundTrip, RandomMixedText) {
  const std::vector<std::string> parts = {" ", "  ", "\n", "\t", "a", "Zq", "7", "42", "!", "'s", "'", "\xC3\xA9",
                                          "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\xE3\x80\x80", "<|endoftext|>",
                                          "\xE2\x80\x8D", "\xFF"};
  std::mt19937 rng(99);
  for (int trial = 0; trial < 500; ++trial) {
    std::string text;
    for (int i = rng() % 40; i > 0; --i) text += parts[rng() % parts.size()];
    const std::vector<TokenId> ids = gpt2().encode(text);
    ASSERT_EQ(gpt2().decode(ids), text);
    ASSERT_EQ(streamDecode(gpt2(), ids, false), text);
  }
}

// One 200 KB piece of random letters: the heap merge keeps this O(n log n);
// rescanning all pairs per merge would take minutes.
TEST(RoundTrip, LongPieceEncodesQuickly) {
  std::mt19937 rng(5);
  std::string text(200000, 'a');
  for (char& c : text) c = static_cast<char>('a' + rng() % 26);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<TokenId> ids = gpt2().encode(text);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(gpt2().decode(ids), text);
  EXPECT_LT(seconds, 5.0);
}

TEST(StreamDecoder, HoldsASplitCharacterUntilComplete) {
  // "😀" is four bytes; GPT-2 encodes it as byte-level tokens that split it.
  const std::vector<TokenId> ids = gpt2().encode("\xF0\x9F\x98\x80");
  ASSERT_GT(ids.size(), 1u);
  StreamDecoder decoder(gpt2());
  for (size_t i = 0; i + 1 < ids.size(); ++i) EXPECT_EQ(decoder.push(ids[i]), "") << i;
  EXPECT_EQ(decoder.push(ids.back()), "\xF0\x9F\x98\x80");
  EXPECT_EQ(decoder.finish(), "");
}

TEST(StreamDecoder, FlushesAnIncompleteTailAtFinish) {
  const std::vector<TokenId> ids = gpt2().encode("ok\xE2\x82");
  StreamDecoder decoder(gpt2());
  std::string text;
  for (TokenId id : ids) text += decoder.push(id);
  EXPECT_EQ(text, "ok");
  EXPECT_EQ(decoder.finish(), "\xE2\x82");
}

TEST(StreamDecoder, PassesBytesThatCanNeverCompleteACharacter) {
  StreamDecoder decoder(gpt2());
  const std::vector<TokenId> ids = gpt2().encode("\xFF");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(decoder.push(ids[0]), "\xFF");
}

TEST(Utf8, IncompleteSuffix) {
  EXPECT_EQ(incompleteUtf8Suffix("abc"), 0u);
  EXPECT_EQ(incompleteUtf8Suffix("a\xE4\xB8"), 2u);
  EXPECT_EQ(incompleteUtf8Suffix("a\xF0"), 1u);
  EXPECT_EQ(incompleteUtf8Suffix("a\xE0\x80"), 0u);  // overlong: can never become valid
  EXPECT_EQ(incompleteUtf8Suffix("\xF5"), 0u);         // beyond U+10FFFF
  EXPECT_EQ(incompleteUtf8Suffix("\x80"), 0u);
}

TEST(Decode, RejectsIdsOutOfRange) {
  const std::vector<TokenId> ids = {15496, 50257};
  try {
    gpt2().decode(ids);
    FAIL() << "expected an error";
  } catch (const runtime::Error& error) {
    EXPECT_NE(std::string(error.what()).find("50257 at position 1 is out of range"), std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace lathe::tokenizer::test
