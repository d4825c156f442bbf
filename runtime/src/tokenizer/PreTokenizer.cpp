#include "PreTokenizer.h"

#include "UnicodeTables.h"
#include "Utf8.h"

namespace lathe::tokenizer {
namespace {

// Classes of ASCII bytes, so that English text never reaches the tables.
struct AsciiClasses {
  CharClass of[128];
  constexpr AsciiClasses() : of() {
    for (int c = 0; c < 128; ++c) {
      const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      const bool digit = c >= '0' && c <= '9';
      const bool space = c == ' ' || (c >= '\t' && c <= '\r');
      of[c] = letter ? CharClass::Letter : digit ? CharClass::Number : space ? CharClass::Space : CharClass::Other;
    }
  }
};
constexpr AsciiClasses kAscii;

struct ClassifiedChar {
  CharClass char_class;
  uint32_t length;
};

inline ClassifiedChar classifyAt(std::string_view text, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + at;
  if (*p < 0x80) return {kAscii.of[*p], 1};
  const DecodedChar decoded = decodeUtf8(p, text.size() - at);
  return {classify(decoded.code_point), decoded.length};
}

}  // namespace

size_t Gpt2PreTokenizer::contractionLength() const {
  // 's 't 'm 'd 're 've 'll (case-sensitive, like GPT-2's pattern).
  const size_t rest = text_.size() - position_;
  if (rest < 2 || text_[position_] != '\'') return 0;
  const char a = text_[position_ + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (rest < 3) return 0;
  const char b = text_[position_ + 2];
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

size_t Gpt2PreTokenizer::runEnd(size_t from, int char_class) const {
  size_t at = from;
  while (at < text_.size()) {
    const ClassifiedChar c = classifyAt(text_, at);
    if (static_cast<int>(c.char_class) != char_class) break;
    at += c.length;
  }
  return at;
}

// \s+(?!\S) then \s+: a whitespace run up to the end of the text is taken
// whole; before a non-space character the run gives up its last character
// (which then prefixes the next word), unless that would leave it empty.
size_t Gpt2PreTokenizer::whitespaceEnd() const {
  size_t at = position_;
  size_t last_start = position_;
  while (at < text_.size()) {
    const ClassifiedChar c = classifyAt(text_, at);
    if (c.char_class != CharClass::Space) break;
    last_start = at;
    at += c.length;
  }
  if (at == text_.size() || last_start == position_) return at;
  return last_start;
}

bool Gpt2PreTokenizer::next(std::string_view& piece) {
  if (position_ >= text_.size()) return false;
  size_t end = position_;
  if (const size_t contraction = contractionLength()) {
    end = position_ + contraction;
  } else {
    // ` ?X+` for X in \p{L}, \p{N}, [^\s\p{L}\p{N}]: an optional ASCII space, then a run of one class.
    const size_t word_start = position_ + (text_[position_] == ' ' ? 1 : 0);
    const CharClass first =
        word_start < text_.size() ? classifyAt(text_, word_start).char_class : CharClass::Space;
    if (first != CharClass::Space) {
      end = runEnd(word_start, static_cast<int>(first));
    } else {
      end = whitespaceEnd();
    }
  }
  piece = text_.substr(position_, end - position_);
  position_ = end;
  return true;
}

}  // namespace lathe::tokenizer
