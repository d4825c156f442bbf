// Paths, loaders and artifact tables shared by the tokenizer tests. Everything
// comes from the repository (data/gpt2, data/corpora, tests/unit/tokenizer/data).
#pragma once

#include <dirent.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "Error.h"
#include "artifact_generated.h"
#include "tokenizer/Tokenizer.h"
#include "tokenizer/TokenizerFiles.h"

namespace lathe::tokenizer::test {

inline std::string sourcePath(const std::string& relative) { return std::string(LATHE_SOURCE_DIR) + "/" + relative; }

/// The GPT-2 tokenizer, loaded once for the whole test binary.
inline const Tokenizer& gpt2() {
  static const Tokenizer tokenizer(loadVocabulary(sourcePath("data/gpt2")));
  return tokenizer;
}

/// The .txt files under data/corpora, sorted.
inline std::vector<std::string> corpusFiles() {
  std::vector<std::string> files;
  const std::string dir = sourcePath("data/corpora");
  if (DIR* handle = opendir(dir.c_str())) {
    while (dirent* entry = readdir(handle)) {
      const std::string name = entry->d_name;
      if (name.size() > 4 && name.substr(name.size() - 4) == ".txt") files.push_back(dir + "/" + name);
    }
    closedir(handle);
  }
  std::sort(files.begin(), files.end());
  return files;
}

/// The artifact schema's tokenizer table for a vocabulary.
inline std::unique_ptr<fb::TokenizerT> tokenizerTable(const Vocabulary& vocabulary) {
  auto table = std::make_unique<fb::TokenizerT>();
  table->kind = "gpt2_byte_bpe";
  table->token_offsets.push_back(0);
  for (const std::string& token : vocabulary.tokens) {
    table->token_bytes.insert(table->token_bytes.end(), token.begin(), token.end());
    table->token_offsets.push_back(static_cast<uint32_t>(table->token_bytes.size()));
  }
  table->special_ids = vocabulary.special_ids;
  for (const auto& [left, right] : vocabulary.merges) {
    table->merges.push_back(left);
    table->merges.push_back(right);
  }
  return table;
}

}  // namespace lathe::tokenizer::test
