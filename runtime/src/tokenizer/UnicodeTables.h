// Code point classes of GPT-2's pre-tokenization pattern: \p{L}, \p{N}, \s.
// The range tables are generated (scripts/gen_unicode_tables.py).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lathe::tokenizer {

struct CodePointRange {
  uint32_t first;
  uint32_t last;
};

extern const char* const kUnicodeVersion;
extern const CodePointRange kLetterRanges[];
extern const size_t kLetterRangesCount;
extern const CodePointRange kNumberRanges[];
extern const size_t kNumberRangesCount;
extern const CodePointRange kWhiteSpaceRanges[];
extern const size_t kWhiteSpaceRangesCount;

enum class CharClass : uint8_t { Other = 0, Letter = 1, Number = 2, Space = 3 };

/// The class of a code point; values above U+10FFFF (used for invalid UTF-8) are Other.
CharClass classify(uint32_t code_point);

}  // namespace lathe::tokenizer
