// Paths and loaders shared by the tokenizer tests. Everything comes from the
// repository (data/gpt2, data/corpora, tests/unit/tokenizer/data).
#pragma once

#include <dirent.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "Error.h"
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

}  // namespace lathe::tokenizer::test
