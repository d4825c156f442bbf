#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "UnicodeTables.h"
#include "Utf8.h"

namespace lathe::tokenizer {
namespace {

constexpr uint32_t kTableSize = 0x10000;  // a direct table for the Basic Multilingual Plane

void fill(std::vector<CharClass>& table, const CodePointRange* ranges, size_t count, CharClass value) {
  for (size_t i = 0; i < count && ranges[i].first < kTableSize; ++i) {
    const uint32_t last = std::min<uint32_t>(ranges[i].last, kTableSize - 1);
    std::fill(table.begin() + ranges[i].first, table.begin() + last + 1, value);
  }
}

const std::vector<CharClass>& planeZeroTable() {
  static const std::vector<CharClass> table = [] {
    std::vector<CharClass> t(kTableSize, CharClass::Other);
    fill(t, kLetterRanges, kLetterRangesCount, CharClass::Letter);
    fill(t, kNumberRanges, kNumberRangesCount, CharClass::Number);
    fill(t, kWhiteSpaceRanges, kWhiteSpaceRangesCount, CharClass::Space);
    return t;
  }();
  return table;
}

bool inRanges(uint32_t code_point, const CodePointRange* ranges, size_t count) {
  const CodePointRange* end = ranges + count;
  const CodePointRange* it =
      std::upper_bound(ranges, end, code_point, [](uint32_t cp, const CodePointRange& r) { return cp < r.first; });
  return it != ranges && code_point <= (it - 1)->last;
}

}  // namespace

CharClass classify(uint32_t code_point) {
  if (code_point < kTableSize) return planeZeroTable()[code_point];
  if (code_point > 0x10FFFF) return CharClass::Other;
  if (inRanges(code_point, kLetterRanges, kLetterRangesCount)) return CharClass::Letter;
  if (inRanges(code_point, kNumberRanges, kNumberRangesCount)) return CharClass::Number;
  return CharClass::Other;  // no White_Space code point lies above the BMP
}

size_t incompleteUtf8Suffix(std::string_view bytes) {
  const size_t n = bytes.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const unsigned char byte = static_cast<unsigned char>(bytes[n - back]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: keep looking for the lead
    const size_t needed = (byte & 0xE0) == 0xC0 ? 2 : (byte & 0xF0) == 0xE0 ? 3 : (byte & 0xF8) == 0xF0 ? 4 : 1;
    if (needed <= back) return 0;
    // Hold back only if what is there can still become a valid character.
    std::string probe(bytes.substr(n - back));
    static const char kContinuations[] = "\x80\x80\x80";
    probe.append(kContinuations, needed - back);
    const DecodedChar decoded = decodeUtf8(reinterpret_cast<const unsigned char*>(probe.data()), probe.size());
    if (decoded.code_point != kInvalidCodePoint) return back;
    // Overlong or surrogate so far? Try the largest continuation instead.
    probe.replace(back, needed - back, std::string(needed - back, '\xBF'));
    const DecodedChar high = decodeUtf8(reinterpret_cast<const unsigned char*>(probe.data()), probe.size());
    return high.code_point != kInvalidCodePoint ? back : 0;
  }
  return 0;
}

void appendUtf8(std::string& out, uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

}  // namespace lathe::tokenizer
