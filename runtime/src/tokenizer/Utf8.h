// UTF-8 decoding that never fails: a byte that does not start a valid,
// complete, shortest-form sequence decodes as one "invalid" unit, so byte-level
// tokenization covers arbitrary bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lathe::tokenizer {

/// Marks an invalid byte; classify() puts it in CharClass::Other.
constexpr uint32_t kInvalidCodePoint = 0x110000;

struct DecodedChar {
  uint32_t code_point;
  uint32_t length;  // bytes consumed, >= 1
};

inline DecodedChar decodeUtf8(const unsigned char* p, size_t available) {
  const unsigned char lead = p[0];
  if (lead < 0x80) return {lead, 1};
  uint32_t length = 0;
  uint32_t code_point = 0;
  uint32_t minimum = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, code_point = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, code_point = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, code_point = lead & 0x07, minimum = 0x10000;
  } else {
    return {kInvalidCodePoint, 1};
  }
  if (length > available) return {kInvalidCodePoint, 1};
  for (uint32_t i = 1; i < length; ++i) {
    if ((p[i] & 0xC0) != 0x80) return {kInvalidCodePoint, 1};
    code_point = (code_point << 6) | (p[i] & 0x3F);
  }
  if (code_point < minimum || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return {kInvalidCodePoint, 1};
  }
  return {code_point, length};
}

inline bool isValidUtf8(std::string_view text) {
  for (size_t at = 0; at < text.size();) {
    const DecodedChar c = decodeUtf8(reinterpret_cast<const unsigned char*>(text.data()) + at, text.size() - at);
    if (c.code_point == kInvalidCodePoint) return false;
    at += c.length;
  }
  return true;
}

/// Bytes at the end of `bytes` that begin a valid UTF-8 sequence not yet
/// complete (0..3): a streaming decoder holds them back until more arrive.
size_t incompleteUtf8Suffix(std::string_view bytes);

/// Appends the UTF-8 encoding of `code_point` (<= U+10FFFF).
void appendUtf8(std::string& out, uint32_t code_point);

}  // namespace lathe::tokenizer
