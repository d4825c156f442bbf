// Piece boundaries of GPT-2's pattern, worked out by hand from the regex.
#include <gtest/gtest.h>

#include "tokenizer/PreTokenizer.h"
#include "tokenizer/UnicodeTables.h"

namespace lathe::tokenizer {
namespace {

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> pieces;
  Gpt2PreTokenizer pre(text);
  std::string_view piece;
  while (pre.next(piece)) pieces.emplace_back(piece);
  return pieces;
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizer, WordsTakeOneLeadingSpace) {
  EXPECT_EQ(split("Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split("a  b"), (Pieces{"a", " ", " b"}));
  EXPECT_EQ(split("x   "), (Pieces{"x", "   "}));
  EXPECT_EQ(split(""), Pieces{});
}

TEST(PreTokenizer, WhitespaceBeforeAWordGivesUpItsLastCharacter) {
  EXPECT_EQ(split("a\n\nb"), (Pieces{"a", "\n", "\n", "b"}));  // only a space prefixes a word
  EXPECT_EQ(split("\n b"), (Pieces{"\n", " b"}));
  EXPECT_EQ(split("  \n x"), (Pieces{"  \n", " x"}));
  EXPECT_EQ(split("\t!"), (Pieces{"\t", "!"}));
}

TEST(PreTokenizer, ContractionsAreCaseSensitive) {
  EXPECT_EQ(split("I'm they'll"), (Pieces{"I", "'m", " they", "'ll"}));
  EXPECT_EQ(split("I'M"), (Pieces{"I", "'", "M"}));
  EXPECT_EQ(split(" 's"), (Pieces{" '", "s"}));
}

TEST(PreTokenizer, ClassesSplitRuns) {
  EXPECT_EQ(split("abc123def"), (Pieces{"abc", "123", "def"}));
  EXPECT_EQ(split("x?!y"), (Pieces{"x", "?!", "y"}));
  EXPECT_EQ(split("caf\xC3\xA9 \xE2\x85\xAB"), (Pieces{"caf\xC3\xA9", " \xE2\x85\xAB"}));  // é letter, Ⅻ number
}

TEST(PreTokenizer, InvalidBytesAreSymbols) {
  EXPECT_EQ(split("a\xFF\xFE b"), (Pieces{"a", "\xFF\xFE", " b"}));
  EXPECT_EQ(split("\xE2\x82"), (Pieces{"\xE2\x82"}));  // truncated sequence
}

TEST(UnicodeTables, Classes) {
  EXPECT_EQ(classify('a'), CharClass::Letter);
  EXPECT_EQ(classify(0x4E2D), CharClass::Letter);   // 中
  EXPECT_EQ(classify(0x0663), CharClass::Number);   // Arabic-Indic 3
  EXPECT_EQ(classify(0x00BD), CharClass::Number);   // ½ (No)
  EXPECT_EQ(classify(0x3000), CharClass::Space);
  EXPECT_EQ(classify(0x001C), CharClass::Other);    // not White_Space, unlike str.isspace()
  EXPECT_EQ(classify(0x1F600), CharClass::Other);   // emoji
  EXPECT_EQ(classify(0x20000), CharClass::Letter);  // CJK extension B
  EXPECT_EQ(classify(0x110000), CharClass::Other);
}

}  // namespace
}  // namespace lathe::tokenizer
