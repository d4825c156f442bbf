// The tokenizer part of the C API (lathe.h, "Tokenizers").
#include <cstring>
#include <string>
#include <vector>

#include "CApiGuard.h"
#include "Error.h"
#include "TokenizerHandle.h"
#include "lathe/lathe.h"
#include "tokenizer/BpeTrainer.h"
#include "tokenizer/TokenizerFiles.h"

using lathe::runtime::Error;
using lathe::runtime::capi::guarded;
using lathe::runtime::capi::require;
namespace tk = lathe::tokenizer;

struct lathe_token_decoder {
  std::shared_ptr<const tk::Tokenizer> tokenizer;  // keeps the tokenizer alive
  tk::StreamDecoder decoder;
  std::string ready;  // the text handed out by the last push/finish
};

namespace {

/// `source` names where the vocabulary came from, for the checks' messages.
lathe_tokenizer* wrap(tk::Vocabulary vocabulary, const std::string& source) {
  try {
    return new lathe_tokenizer{std::make_shared<const tk::Tokenizer>(std::move(vocabulary))};
  } catch (const Error& error) {
    throw Error(error.status(), source + ": " + error.what());
  }
}

tk::TokenId checkedId(const lathe_tokenizer* tokenizer, int32_t id, const char* what) {
  if (id < 0 || static_cast<size_t>(id) >= tokenizer->tokenizer->size()) {
    throw Error(LATHE_ERROR_INVALID_ARGUMENT, std::string(what) + " " + std::to_string(id) +
                                                  " is out of range (vocabulary size " +
                                                  std::to_string(tokenizer->tokenizer->size()) + ")");
  }
  return static_cast<tk::TokenId>(id);
}

}  // namespace

extern "C" {

LATHE_API lathe_status lathe_tokenizer_load(const char* path, lathe_tokenizer** out) {
  return guarded([&] {
    require(path, "path");
    require(out, "out");
    *out = nullptr;
    *out = wrap(tk::loadVocabulary(path), path);
  });
}

LATHE_API lathe_status lathe_tokenizer_load_gpt2_memory(const char* encoder_json, size_t encoder_size,
                                                        const char* merges, size_t merges_size,
                                                        lathe_tokenizer** out) {
  return guarded([&] {
    require(encoder_json, "encoder_json");
    require(merges, "merges");
    require(out, "out");
    *out = nullptr;
    *out = wrap(tk::parseGpt2Vocabulary({encoder_json, encoder_size}, {merges, merges_size}, "encoder.json",
                                        "vocab.bpe"),
                "encoder.json + vocab.bpe");
  });
}

LATHE_API lathe_status lathe_tokenizer_load_hf_memory(const char* tokenizer_json, size_t size,
                                                      lathe_tokenizer** out) {
  return guarded([&] {
    require(tokenizer_json, "tokenizer_json");
    require(out, "out");
    *out = nullptr;
    *out = wrap(tk::parseHuggingFaceTokenizer({tokenizer_json, size}, "tokenizer.json"), "tokenizer.json");
  });
}

LATHE_API lathe_status lathe_tokenizer_train(const char* const* paths, size_t path_count, size_t vocab_size,
                                             const char* const* special_tokens, size_t special_count,
                                             lathe_tokenizer** out) {
  return guarded([&] {
    require(out, "out");
    if (path_count > 0) require(paths, "paths");
    if (special_count > 0) require(special_tokens, "special_tokens");
    *out = nullptr;
    tk::TrainOptions options;
    options.vocab_size = vocab_size;
    options.special_tokens.assign(special_tokens, special_tokens + special_count);
    tk::BpeTrainer trainer(options);
    for (size_t i = 0; i < path_count; ++i) {
      require(paths[i], "paths[i]");
      trainer.addText(tk::readFile(paths[i]));
    }
    if (trainer.distinctWords() == 0) throw Error(LATHE_ERROR_INVALID_ARGUMENT, "the training text is empty");
    *out = wrap(trainer.train(), "training");
  });
}

LATHE_API lathe_status lathe_tokenizer_save(const lathe_tokenizer* tokenizer, const char* dir) {
  return guarded([&] {
    require(tokenizer, "tokenizer");
    require(dir, "dir");
    tk::saveGpt2Files(tokenizer->tokenizer->vocabulary(), dir);
  });
}

LATHE_API void lathe_tokenizer_free(lathe_tokenizer* tokenizer) { delete tokenizer; }

LATHE_API size_t lathe_tokenizer_token_count(const lathe_tokenizer* tokenizer) {
  return tokenizer ? tokenizer->tokenizer->size() : 0;
}

LATHE_API size_t lathe_tokenizer_merge_count(const lathe_tokenizer* tokenizer) {
  return tokenizer ? tokenizer->tokenizer->vocabulary().merges.size() : 0;
}

LATHE_API lathe_status lathe_tokenizer_token(const lathe_tokenizer* tokenizer, int32_t id, const char** bytes,
                                             size_t* size, int* is_special) {
  return guarded([&] {
    require(tokenizer, "tokenizer");
    const tk::TokenId token = checkedId(tokenizer, id, "token id");
    const std::string_view text = tokenizer->tokenizer->tokenBytes(token);
    if (bytes != nullptr) *bytes = text.data();
    if (size != nullptr) *size = text.size();
    if (is_special != nullptr) *is_special = tokenizer->tokenizer->isSpecial(token) ? 1 : 0;
  });
}

LATHE_API lathe_status lathe_tokenizer_merge(const lathe_tokenizer* tokenizer, size_t rank, int32_t* left,
                                             int32_t* right) {
  return guarded([&] {
    require(tokenizer, "tokenizer");
    const auto& merges = tokenizer->tokenizer->vocabulary().merges;
    if (rank >= merges.size()) {
      throw Error(LATHE_ERROR_INVALID_ARGUMENT, "merge rank " + std::to_string(rank) + " is out of range (" +
                                                    std::to_string(merges.size()) + " merges)");
    }
    if (left != nullptr) *left = static_cast<int32_t>(merges[rank].first);
    if (right != nullptr) *right = static_cast<int32_t>(merges[rank].second);
  });
}

LATHE_API int32_t lathe_tokenizer_special_id(const lathe_tokenizer* tokenizer, const char* text) {
  if (tokenizer == nullptr || text == nullptr) return -1;
  const tk::TokenId id = tokenizer->tokenizer->specialId(text);
  return id == UINT32_MAX ? -1 : static_cast<int32_t>(id);
}

LATHE_API lathe_status lathe_tokenizer_encode(const lathe_tokenizer* tokenizer, const char* text, size_t text_size,
                                              uint32_t flags, int32_t* ids, size_t capacity, size_t* count) {
  return guarded([&] {
    require(tokenizer, "tokenizer");
    require(count, "count");
    if (text_size > 0) require(text, "text");
    thread_local std::vector<tk::TokenId> encoded;
    encoded.clear();
    tokenizer->tokenizer->encode({text, text_size}, (flags & LATHE_ENCODE_SPECIAL_AS_TEXT) == 0, encoded);
    *count = encoded.size();
    if (capacity < encoded.size()) {
      throw Error(LATHE_ERROR_INVALID_ARGUMENT, "the text encodes to " + std::to_string(encoded.size()) +
                                                    " tokens; ids holds only " + std::to_string(capacity));
    }
    if (!encoded.empty()) require(ids, "ids");
    std::memcpy(ids, encoded.data(), encoded.size() * sizeof(int32_t));
  });
}

LATHE_API lathe_status lathe_tokenizer_decode(const lathe_tokenizer* tokenizer, const int32_t* ids, size_t count,
                                              char* text, size_t capacity, size_t* size) {
  return guarded([&] {
    require(tokenizer, "tokenizer");
    require(size, "size");
    if (count > 0) require(ids, "ids");
    size_t needed = 0;
    for (size_t i = 0; i < count; ++i) {
      needed += tokenizer->tokenizer->tokenBytes(checkedId(tokenizer, ids[i], "token id")).size();
    }
    *size = needed;
    if (capacity < needed) {
      throw Error(LATHE_ERROR_INVALID_ARGUMENT, "the tokens decode to " + std::to_string(needed) +
                                                    " bytes; text holds only " + std::to_string(capacity));
    }
    if (needed > 0) require(text, "text");
    for (size_t i = 0; i < count; ++i) {
      const std::string_view bytes = tokenizer->tokenizer->tokenBytes(static_cast<tk::TokenId>(ids[i]));
      std::memcpy(text, bytes.data(), bytes.size());
      text += bytes.size();
    }
  });
}

LATHE_API lathe_status lathe_token_decoder_create(const lathe_tokenizer* tokenizer, lathe_token_decoder** out) {
  return guarded([&] {
    require(tokenizer, "tokenizer");
    require(out, "out");
    *out = new lathe_token_decoder{tokenizer->tokenizer, tk::StreamDecoder(*tokenizer->tokenizer), {}};
  });
}

LATHE_API lathe_status lathe_token_decoder_push(lathe_token_decoder* decoder, int32_t id, const char** text,
                                                size_t* size) {
  return guarded([&] {
    require(decoder, "decoder");
    require(text, "text");
    require(size, "size");
    if (id < 0) throw Error(LATHE_ERROR_INVALID_ARGUMENT, "token id " + std::to_string(id) + " is negative");
    decoder->ready = decoder->decoder.push(static_cast<tk::TokenId>(id));
    *text = decoder->ready.data();
    *size = decoder->ready.size();
  });
}

LATHE_API lathe_status lathe_token_decoder_finish(lathe_token_decoder* decoder, const char** text, size_t* size) {
  return guarded([&] {
    require(decoder, "decoder");
    require(text, "text");
    require(size, "size");
    decoder->ready = decoder->decoder.finish();
    *text = decoder->ready.data();
    *size = decoder->ready.size();
  });
}

LATHE_API void lathe_token_decoder_free(lathe_token_decoder* decoder) { delete decoder; }

}  // extern "C"
