// Reading and writing tokenizer files:
//  - GPT-2's pair: encoder.json (token -> id) + vocab.bpe (merges), also named
//    vocab.json + merges.txt by Hugging Face. Token strings use GPT-2's
//    byte-to-unicode mapping; entries that no merge makes and that look like
//    markup (GPT-2's <|endoftext|>, </s>) are special tokens.
//  - Hugging Face tokenizer.json of the byte-level BPE kind.
// Errors are lathe::runtime::Error naming the file (and line) at fault.
#pragma once

#include <string>
#include <string_view>

#include "Tokenizer.h"

namespace lathe::tokenizer {

/// GPT-2's byte <-> printable code point mapping (bytes_to_unicode in encoder.py).
std::string bytesToMappedText(std::string_view bytes);

/// `encoder_json` and `merges` are file contents; the names are for messages.
Vocabulary parseGpt2Vocabulary(std::string_view encoder_json, std::string_view merges,
                               const std::string& encoder_name, const std::string& merges_name);
Vocabulary parseHuggingFaceTokenizer(std::string_view tokenizer_json, const std::string& name);

/// A directory with encoder.json + vocab.bpe, vocab.json + merges.txt, or
/// tokenizer.json; or a tokenizer.json file itself.
Vocabulary loadVocabulary(const std::string& path);
/// Whether `dir` holds tokenizer files loadVocabulary() recognizes.
bool hasTokenizerFiles(const std::string& dir);

/// Writes encoder.json and vocab.bpe into `dir` (created if missing).
void saveGpt2Files(const Vocabulary& vocabulary, const std::string& dir);

std::string readFile(const std::string& path);

}  // namespace lathe::tokenizer
