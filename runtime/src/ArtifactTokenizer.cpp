#include "ArtifactTokenizer.h"

#include <string>

#include "Error.h"

namespace lathe::runtime {

std::shared_ptr<const tokenizer::Tokenizer> readArtifactTokenizer(const fb::Artifact& artifact) {
  const fb::Tokenizer* table = artifact.tokenizer();
  if (table == nullptr) return nullptr;
  const std::string kind = table->kind() ? table->kind()->str() : "";
  if (kind != "gpt2_byte_bpe") {
    throw Error(LATHE_ERROR_UNSUPPORTED, "the artifact's tokenizer kind \"" + kind +
                                             "\" is not supported by this runtime (supported: gpt2_byte_bpe)");
  }
  const auto* bytes = table->token_bytes();
  const auto* offsets = table->token_offsets();
  if (bytes == nullptr || offsets == nullptr || offsets->size() < 2) {
    throw invalidArtifact("tokenizer: token_bytes and token_offsets (vocab size + 1 entries) are required");
  }
  if (offsets->Get(0) != 0 || offsets->Get(offsets->size() - 1) != bytes->size()) {
    throw invalidArtifact("tokenizer: token_offsets must start at 0 and end at the size of token_bytes (" +
                          std::to_string(bytes->size()) + ")");
  }
  tokenizer::Vocabulary vocabulary;
  for (uint32_t i = 0; i + 1 < offsets->size(); ++i) {
    const uint32_t begin = offsets->Get(i), end = offsets->Get(i + 1);
    if (end < begin || end > bytes->size()) {
      throw invalidArtifact("tokenizer: token_offsets[" + std::to_string(i + 1) + "] = " + std::to_string(end) +
                            " is out of order or beyond token_bytes (" + std::to_string(bytes->size()) + " bytes)");
    }
    vocabulary.tokens.emplace_back(reinterpret_cast<const char*>(bytes->data()) + begin, end - begin);
  }
  if (const auto* special = table->special_ids()) vocabulary.special_ids.assign(special->begin(), special->end());
  if (const auto* merges = table->merges()) {
    if (merges->size() % 2 != 0) throw invalidArtifact("tokenizer: merges must hold pairs (odd length)");
    for (uint32_t i = 0; i < merges->size(); i += 2) vocabulary.merges.emplace_back(merges->Get(i), merges->Get(i + 1));
  }
  try {
    return std::make_shared<const tokenizer::Tokenizer>(std::move(vocabulary));
  } catch (const Error& error) {
    throw invalidArtifact(std::string("tokenizer: ") + error.what());
  }
}

}  // namespace lathe::runtime
