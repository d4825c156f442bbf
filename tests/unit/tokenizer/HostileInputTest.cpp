// Corrupted tokenizer files and artifact tables are refused with an error,
// never a crash or another exception type.
#include <gtest/gtest.h>

#include <random>

#include "TestArtifacts.h"
#include "TestData.h"
#include "lathe/lathe.h"
#include "tokenizer/BpeTrainer.h"

namespace lathe::tokenizer::test {
namespace {

Vocabulary smallVocabulary() {
  TrainOptions options;
  options.vocab_size = 300;
  BpeTrainer trainer(options);
  trainer.addText(readFile(corpusFiles().front()).substr(0, 4000));
  return trainer.train();
}

/// Parses `encoder` + `merges` and encodes a sample; true if it loaded.
bool loadsOrFailsCleanly(const std::string& encoder, const std::string& merges) {
  try {
    const Tokenizer tokenizer(parseGpt2Vocabulary(encoder, merges, "encoder.json", "vocab.bpe"));
    const std::string sample = "Some sample text, 123 \xF0\x9F\x98\x80 <|endoftext|>";
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(sample)), sample);
    return true;
  } catch (const runtime::Error&) {
    return false;
  }
}

TEST(HostileInput, MutatedFilesNeverCrash) {
  const std::string dir = testing::TempDir() + "/lathe_hostile_tok";
  saveGpt2Files(smallVocabulary(), dir);
  const std::string encoder = readFile(dir + "/encoder.json");
  const std::string merges = readFile(dir + "/vocab.bpe");
  ASSERT_TRUE(loadsOrFailsCleanly(encoder, merges));
  std::mt19937 rng(7);
  int refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bad_encoder = encoder, bad_merges = merges;
    std::string& target = trial % 2 ? bad_merges : bad_encoder;
    for (int edits = 1 + rng() % 3; edits > 0; --edits) {
      const size_t at = rng() % target.size();
      switch (rng() % 3) {
        case 0: target[at] = static_cast<char>(rng() & 0xFF); break;
        case 1: target.erase(at, 1 + rng() % 8); break;
        default: target.insert(at, 1, "\" :,{}[]0\n"[rng() % 10]); break;
      }
    }
    refused += loadsOrFailsCleanly(bad_encoder, bad_merges) ? 0 : 1;
  }
  EXPECT_GT(refused, 50);  // most mutations break the files; none may crash
}

TEST(HostileInput, RandomArtifactTokenizerTablesAreRefused) {
  const Vocabulary vocabulary = smallVocabulary();
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    fb::ArtifactT artifact = lathe::test::TinyModel().artifact();
    std::unique_ptr<fb::TokenizerT> table = tokenizerTable(vocabulary);
    std::vector<uint32_t>* fields[] = {&table->token_offsets, &table->special_ids, &table->merges};
    std::vector<uint32_t>& field = *fields[rng() % 3];
    if (!field.empty()) field[rng() % field.size()] = rng() % 2 ? rng() : rng() % 400;
    if (rng() % 4 == 0) table->token_bytes.resize(rng() % (table->token_bytes.size() + 1));
    artifact.tokenizer = std::move(table);
    const std::vector<uint8_t> bytes = lathe::test::pack(artifact);
    lathe_artifact* handle = nullptr;
    const lathe_status status = lathe_artifact_open_memory(bytes.data(), bytes.size(), &handle);
    EXPECT_TRUE(status == LATHE_OK || status == LATHE_ERROR_INVALID_ARTIFACT) << lathe_last_error();
    EXPECT_NE(status, LATHE_ERROR_INTERNAL);
    lathe_artifact_close(handle);
  }
}

}  // namespace
}  // namespace lathe::tokenizer::test

namespace lathe::tokenizer::test {
namespace {

TEST(HostileInput, WrongJsonTypesInTokenizerJson) {
  const char* documents[] = {
      R"({"model": {"type": 5}})",
      R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "ByteLevel", "use_regex": "yes"}})",
      R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": {}}, "pre_tokenizer": {"type": "ByteLevel"}})",
      R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "ByteLevel"}, "added_tokens": {}})",
      R"({"model": {"type": "BPE", "vocab": []}, "pre_tokenizer": {"type": "ByteLevel"}})",
      R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [[1, 2]]}, "pre_tokenizer": {"type": "ByteLevel"}})",
  };
  for (const char* document : documents) {
    try {
      Tokenizer{parseHuggingFaceTokenizer(document, "t.json")};
      ADD_FAILURE() << "accepted " << document;
    } catch (const runtime::Error& error) {
      const std::string message = error.what();
      EXPECT_TRUE(message.rfind("t.json: ", 0) == 0 || message.rfind("invalid tokenizer: ", 0) == 0) << message;
    }
  }
}

}  // namespace
}  // namespace lathe::tokenizer::test
