#include "TokenizerFiles.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "Error.h"
#include "Utf8.h"

namespace lathe::tokenizer {
namespace {

using runtime::Error;
using json = nlohmann::json;

Error formatError(const std::string& where, const std::string& what) {
  return Error(LATHE_ERROR_INVALID_ARGUMENT, where + ": " + what);
}

// encoder.py's bytes_to_unicode: printable Latin-1 bytes map to themselves,
// the others to U+0100 onwards in byte order.
struct ByteMapping {
  static constexpr uint32_t kUnmapped = 256;
  std::array<uint32_t, 256> code_point_of_byte{};
  std::array<uint32_t, 512> byte_of_code_point{};  // every mapped code point is below 512

  ByteMapping() {
    byte_of_code_point.fill(kUnmapped);
    uint32_t extra = 0;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      code_point_of_byte[b] = printable ? b : 256 + extra++;
      byte_of_code_point[code_point_of_byte[b]] = b;
    }
  }
};

const ByteMapping& byteMapping() {
  static const ByteMapping mapping;
  return mapping;
}

/// The bytes a mapped token string stands for; false if a character is outside the mapping.
bool mappedTextToBytes(std::string_view text, std::string& bytes) {
  const ByteMapping& mapping = byteMapping();
  bytes.clear();
  for (size_t at = 0; at < text.size();) {
    const DecodedChar c = decodeUtf8(reinterpret_cast<const unsigned char*>(text.data()) + at, text.size() - at);
    if (c.code_point >= mapping.byte_of_code_point.size()) return false;
    const uint32_t byte = mapping.byte_of_code_point[c.code_point];
    if (byte == ByteMapping::kUnmapped) return false;
    bytes += static_cast<char>(byte);
    at += c.length;
  }
  return true;
}

/// A vocabulary entry's bytes: mapped text, or (for added tokens) the raw text.
std::string entryBytes(const std::string& text) {
  std::string bytes;
  return mappedTextToBytes(text, bytes) ? bytes : text;
}

/// A JSON-quoted string for messages; invalid UTF-8 shows as U+FFFD.
std::string quoted(const std::string& text) { return json(text).dump(-1, ' ', false, json::error_handler_t::replace); }

json parseJson(std::string_view text, const std::string& name) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& error) {
    throw formatError(name, std::string("not valid JSON: ") + error.what());
  }
}

/// Tokens from a `{"token": id, ...}` object; ids must be 0..n-1, each once.
std::vector<std::string> tokensFromVocabObject(const json& vocab, const std::string& name,
                                               std::unordered_map<std::string, TokenId>& id_of_text) {
  if (!vocab.is_object()) throw formatError(name, "the vocabulary must be a JSON object of token -> id");
  std::vector<std::string> tokens(vocab.size());
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [text, id_value] : vocab.items()) {
    if (!id_value.is_number_unsigned() || id_value.get<uint64_t>() >= vocab.size()) {
      throw formatError(name, "token " + quoted(text) + " has id " + id_value.dump(-1, ' ', false, json::error_handler_t::replace) +
                                  "; ids must be integers in [0, " + std::to_string(vocab.size()) + ")");
    }
    const auto id = id_value.get<TokenId>();
    if (seen[id]) throw formatError(name, "id " + std::to_string(id) + " is used by two tokens");
    seen[id] = true;
    tokens[id] = entryBytes(text);
    id_of_text.emplace(text, id);
  }
  return tokens;
}

TokenId lookupMergePart(const std::unordered_map<std::string, TokenId>& id_of_text, const std::string& part,
                        const std::string& where) {
  const auto it = id_of_text.find(part);
  if (it == id_of_text.end()) throw formatError(where, "merge part " + quoted(part) + " is not in the vocabulary");
  return it->second;
}

std::pair<TokenId, TokenId> parseMergeLine(std::string_view line, const std::unordered_map<std::string, TokenId>& ids,
                                           const std::string& where) {
  const size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 == line.size() ||
      line.find(' ', space + 1) != std::string_view::npos) {
    throw formatError(where, "a merge must be two tokens separated by one space, got " +
                                 quoted(std::string(line)));
  }
  return {lookupMergePart(ids, std::string(line.substr(0, space)), where),
          lookupMergePart(ids, std::string(line.substr(space + 1)), where)};
}

/// Special tokens of a GPT-2 style pair of files: entries that no merge makes
/// and that look like markup, e.g. <|endoftext|> or </s>. Other unreachable
/// entries stay ordinary tokens (decodable, never produced by encoding).
std::vector<TokenId> specialLookingUnreachableTokens(const Vocabulary& vocabulary) {
  std::unordered_map<std::string_view, TokenId> candidates;
  for (TokenId id = 0; id < vocabulary.tokens.size(); ++id) {
    const std::string& bytes = vocabulary.tokens[id];
    if (bytes.size() > 2 && bytes.front() == '<' && bytes.back() == '>') candidates.emplace(bytes, id);
  }
  for (const auto& [left, right] : vocabulary.merges) {
    const std::string& a = vocabulary.tokens[left];
    const std::string& b = vocabulary.tokens[right];
    if (!a.empty() && !b.empty() && a.front() == '<' && b.back() == '>') candidates.erase(a + b);
  }
  std::vector<TokenId> special;
  for (const auto& [bytes, id] : candidates) special.push_back(id);
  std::sort(special.begin(), special.end());
  return special;
}

bool isFile(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

bool isDirectory(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string joinPath(const std::string& dir, const char* name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw Error(LATHE_ERROR_IO, "cannot write '" + path + "': " + std::strerror(errno));
}

}  // namespace

std::string bytesToMappedText(std::string_view bytes) {
  std::string text;
  for (unsigned char byte : bytes) appendUtf8(text, byteMapping().code_point_of_byte[byte]);
  return text;
}

std::string readFile(const std::string& path) {
  if (isDirectory(path)) throw Error(LATHE_ERROR_IO, "cannot read '" + path + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(LATHE_ERROR_IO, "cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) throw Error(LATHE_ERROR_IO, "cannot read '" + path + "'");
  return contents.str();
}

Vocabulary parseGpt2Vocabulary(std::string_view encoder_json, std::string_view merges,
                               const std::string& encoder_name, const std::string& merges_name) {
  std::unordered_map<std::string, TokenId> id_of_text;
  Vocabulary vocabulary;
  vocabulary.tokens = tokensFromVocabObject(parseJson(encoder_json, encoder_name), encoder_name, id_of_text);
  size_t line_number = 0;
  for (size_t start = 0; start < merges.size();) {
    size_t end = merges.find('\n', start);
    if (end == std::string_view::npos) end = merges.size();
    std::string_view line = merges.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = end + 1;
    ++line_number;
    if (line.empty() || (line_number == 1 && line.substr(0, 9) == "#version:")) continue;
    vocabulary.merges.push_back(
        parseMergeLine(line, id_of_text, merges_name + ":" + std::to_string(line_number)));
  }
  vocabulary.special_ids = specialLookingUnreachableTokens(vocabulary);
  return vocabulary;
}

namespace {

Vocabulary huggingFaceVocabulary(const json& root, const std::string& name) {
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) {
    throw formatError(name, "no \"model\" object; is this a Hugging Face tokenizer.json?");
  }
  const json& model = root["model"];
  const std::string type = model.value("type", std::string("(none)"));
  if (type != "BPE") {
    throw Error(LATHE_ERROR_UNSUPPORTED, name + ": model type \"" + type +
                                             "\" is not supported; only byte-level BPE (GPT-2 style) is");
  }
  const json pre = root.value("pre_tokenizer", json());
  const std::string pre_type = pre.is_object() ? pre.value("type", std::string()) : std::string("null");
  if (pre_type != "ByteLevel" || !pre.value("use_regex", true)) {
    throw Error(LATHE_ERROR_UNSUPPORTED,
                name + ": pre_tokenizer \"" + pre_type +
                    "\" is not supported; only ByteLevel with GPT-2's pattern (a BPE model without it is not "
                    "byte-level)");
  }
  if (pre.value("add_prefix_space", false)) {
    throw Error(LATHE_ERROR_UNSUPPORTED, name + ": ByteLevel add_prefix_space=true is not supported");
  }
  std::unordered_map<std::string, TokenId> id_of_text;
  Vocabulary vocabulary;
  vocabulary.tokens = tokensFromVocabObject(model.value("vocab", json()), name + ": model.vocab", id_of_text);
  const json merges = model.value("merges", json::array());
  if (!merges.is_array()) throw formatError(name, "model.merges must be an array");
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string where = name + ": model.merges[" + std::to_string(i) + "]";
    const json& merge = merges[i];
    if (merge.is_string()) {
      vocabulary.merges.push_back(parseMergeLine(merge.get<std::string>(), id_of_text, where));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      vocabulary.merges.emplace_back(lookupMergePart(id_of_text, merge[0].get<std::string>(), where),
                                     lookupMergePart(id_of_text, merge[1].get<std::string>(), where));
    } else {
      throw formatError(where, "must be \"a b\" or [\"a\", \"b\"], got " + merge.dump(-1, ' ', false, json::error_handler_t::replace));
    }
  }
  const json added = root.value("added_tokens", json::array());
  for (size_t i = 0; i < added.size(); ++i) {
    const json& token = added[i];
    const std::string where = name + ": added_tokens[" + std::to_string(i) + "]";
    if (!token.is_object() || !token.contains("id") || !token["id"].is_number_unsigned() ||
        !token.contains("content") || !token["content"].is_string()) {
      throw formatError(where, "needs an unsigned \"id\" and a string \"content\"");
    }
    const auto id = token["id"].get<uint64_t>();
    const std::string content = token["content"].get<std::string>();
    if (id > vocabulary.tokens.size()) {
      throw formatError(where, "id " + std::to_string(id) + " leaves a gap after the vocabulary (size " +
                                   std::to_string(vocabulary.tokens.size()) + ")");
    }
    if (id == vocabulary.tokens.size()) vocabulary.tokens.push_back(content);
    vocabulary.tokens[id] = content;  // added tokens are raw text, not byte-mapped
    vocabulary.special_ids.push_back(static_cast<TokenId>(id));
  }
  return vocabulary;
}

}  // namespace

Vocabulary parseHuggingFaceTokenizer(std::string_view tokenizer_json, const std::string& name) {
  const json root = parseJson(tokenizer_json, name);
  try {
    return huggingFaceVocabulary(root, name);
  } catch (const json::exception& error) {  // a field of the wrong JSON type
    throw formatError(name, std::string("unexpected structure: ") + error.what());
  }
}

bool hasTokenizerFiles(const std::string& dir) {
  return isFile(joinPath(dir, "tokenizer.json")) ||
         (isFile(joinPath(dir, "encoder.json")) && isFile(joinPath(dir, "vocab.bpe"))) ||
         (isFile(joinPath(dir, "vocab.json")) && isFile(joinPath(dir, "merges.txt")));
}

Vocabulary loadVocabulary(const std::string& path) {
  if (isFile(path)) return parseHuggingFaceTokenizer(readFile(path), path);
  if (!isDirectory(path)) throw Error(LATHE_ERROR_IO, "tokenizer path '" + path + "' does not exist");
  for (const auto& [vocab, merges] : {std::pair{"encoder.json", "vocab.bpe"}, std::pair{"vocab.json", "merges.txt"}}) {
    const std::string vocab_path = joinPath(path, vocab);
    const std::string merges_path = joinPath(path, merges);
    if (isFile(vocab_path) && isFile(merges_path)) {
      return parseGpt2Vocabulary(readFile(vocab_path), readFile(merges_path), vocab_path, merges_path);
    }
  }
  const std::string hf_path = joinPath(path, "tokenizer.json");
  if (isFile(hf_path)) return parseHuggingFaceTokenizer(readFile(hf_path), hf_path);
  throw Error(LATHE_ERROR_NOT_FOUND, "no tokenizer in '" + path +
                                         "': expected encoder.json + vocab.bpe, vocab.json + merges.txt, "
                                         "or tokenizer.json");
}

void saveGpt2Files(const Vocabulary& vocabulary, const std::string& dir) {
  if (!isDirectory(dir) && mkdir(dir.c_str(), 0755) != 0) {
    throw Error(LATHE_ERROR_IO, "cannot create directory '" + dir + "': " + std::strerror(errno));
  }
  std::vector<bool> special(vocabulary.tokens.size(), false);
  for (TokenId id : vocabulary.special_ids) special.at(id) = true;
  // Written by hand to keep GPT-2's id order (a JSON object from nlohmann would sort the keys).
  std::string encoder = "{";
  for (TokenId id = 0; id < vocabulary.tokens.size(); ++id) {
    const std::string& bytes = vocabulary.tokens[id];
    if (special[id] && !isValidUtf8(bytes)) {
      throw Error(LATHE_ERROR_INVALID_ARGUMENT,
                  "special token " + std::to_string(id) + " is not valid UTF-8, so encoder.json cannot hold it");
    }
    encoder += (id ? ", " : "") + json(special[id] ? bytes : bytesToMappedText(bytes)).dump() + ": " +
               std::to_string(id);
  }
  encoder += "}";
  std::string merges = "#version: 0.2\n";
  for (const auto& [left, right] : vocabulary.merges) {
    merges += bytesToMappedText(vocabulary.tokens[left]) + " " + bytesToMappedText(vocabulary.tokens[right]) + "\n";
  }
  writeFile(joinPath(dir, "encoder.json"), encoder);
  writeFile(joinPath(dir, "vocab.bpe"), merges);
}

}  // namespace lathe::tokenizer
