// Parsing Lathe model files: the examples, defaults, and every error with its exact location.
#include "TestUtil.h"

#include <gmock/gmock.h>

namespace lathe {
namespace {

using test::errorOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Line numbers in the tests below refer to this text (11 lines).
const std::string kBase =
    "name: t\n"               // 1
    "vocab_size: 100\n"       // 2
    "context_length: 16\n"    // 3
    "d_model: 32\n"           // 4
    "layers: 2\n"             // 5
    "heads: 4\n"              // 6
    "norm: layernorm\n"       // 7
    "positions: learned\n"    // 8
    "activation: gelu\n"      // 9
    "bias: true\n"            // 10
    "tied_embeddings: true\n";  // 11

/// kBase with line `line` (1-based) replaced by `replacement` ("" deletes it).
std::string withLine(int line, const std::string& replacement) {
  std::string out;
  size_t start = 0;
  for (int current = 1; start < kBase.size(); ++current) {
    size_t end = kBase.find('\n', start) + 1;
    if (current != line)
      out += kBase.substr(start, end - start);
    else if (!replacement.empty())
      out += replacement + "\n";
    start = end;
  }
  return out;
}

std::string parseError(const std::string& text) {
  return errorOf([&] { parseModelText(text, "m.yaml"); });
}

std::string blockError(const std::string& statements) {
  return parseError(kBase + "block:\n" + statements);
}

TEST(ModelFile, ParsesTheBaseWithDefaults) {
  ModelSpec spec = parseModelText(kBase, "m.yaml");
  EXPECT_EQ(spec.name, "t");
  EXPECT_EQ(spec.vocab_size, 100);
  EXPECT_EQ(spec.n_kv_heads, 4);
  EXPECT_EQ(spec.d_ff, 128);
  EXPECT_DOUBLE_EQ(spec.norm_eps, 1e-5);
  EXPECT_EQ(spec.norm_placement, NormPlacement::Pre);
  EXPECT_TRUE(spec.final_norm);
  ASSERT_EQ(spec.block.size(), 6u);
  EXPECT_EQ(spec.block[0].name, "ln_1");
  EXPECT_EQ(spec.block[5].kind, NodeKind::Add);
  EXPECT_EQ(spec.block[5].inputs, (std::vector<std::string>{"h", "mlp"}));
}

TEST(ModelFile, NameDefaultsToTheFileStem) {
  EXPECT_EQ(parseModelText(withLine(1, ""), "dir/my-model.yaml").name, "my-model");
}

TEST(ModelFile, PostNormPresetHasNoFinalNorm) {
  ModelSpec spec = parseModelText(kBase + "norm_placement: post\n", "m.yaml");
  EXPECT_FALSE(spec.final_norm);
  ASSERT_EQ(spec.block.size(), 6u);
  EXPECT_EQ(spec.block[0].kind, NodeKind::Attention);
  EXPECT_EQ(spec.block[0].inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(spec.block[5].name, "ln_2");
  EXPECT_EQ(spec.block[5].kind, NodeKind::Norm);
  EXPECT_TRUE(parseModelText(kBase + "norm_placement: post\nfinal_norm: true\n", "m.yaml").final_norm);
}

TEST(ModelFile, ParsesEveryExample) {
  ModelSpec gpt2 = parseModelFile(test::examplePath("gpt2.yaml"));
  EXPECT_EQ(gpt2.name, "gpt2");
  EXPECT_EQ(gpt2.vocab_size, 50257);
  EXPECT_EQ(gpt2.n_layers, 12);
  EXPECT_EQ(gpt2.activation, Activation::GeluTanh);
  EXPECT_TRUE(gpt2.tied_embeddings);

  ModelSpec llama = parseModelFile(test::examplePath("llama.yaml"));
  EXPECT_EQ(llama.norm, NormKind::RMSNorm);
  EXPECT_EQ(llama.positions, PositionKind::Rope);
  EXPECT_EQ(llama.activation, Activation::SwiGLU);
  EXPECT_EQ(llama.n_heads, 8);
  EXPECT_EQ(llama.n_kv_heads, 2);
  EXPECT_FALSE(llama.bias);
  EXPECT_FALSE(llama.tied_embeddings);

  ModelSpec tiny = parseModelFile(test::examplePath("tiny.yaml"));
  EXPECT_EQ(tiny.vocab_size, 256);
  EXPECT_EQ(tiny.context_length, 128);
  EXPECT_EQ(tiny.d_model, 128);
  EXPECT_EQ(tiny.n_layers, 4);
  EXPECT_EQ(tiny.n_heads, 4);

  ModelSpec parallel = parseModelFile(test::examplePath("parallel_block.yaml"));
  ASSERT_EQ(parallel.block.size(), 5u);
  EXPECT_EQ(parallel.block[2].kind, NodeKind::MLP);
  EXPECT_EQ(parallel.block[2].inputs, std::vector<std::string>{"ln"});
  EXPECT_EQ(parallel.block[4].inputs, (std::vector<std::string>{"x", "both"}));
  EXPECT_EQ(parallel.block[1].loc.str(), test::examplePath("parallel_block.yaml") + ":17:5");
}

TEST(ModelFile, CommentsAndQuotedStatementsAreAccepted) {
  ModelSpec spec = parseModelText("# leading comment\n" + kBase +
                                      "block:  # a parallel block\n"
                                      "  - \"n = norm(x)\"\n"
                                      "  - 'a = attention(n)'\n"
                                      "  - m = mlp(n)   # comment\n"
                                      "  - s = add( a ,m )\n"
                                      "  - o = add(x, s)\n",
                                  "m.yaml");
  EXPECT_EQ(spec.block[3].inputs, (std::vector<std::string>{"a", "m"}));
}

TEST(ModelFileErrors, UnknownKeySuggestsTheClosest) {
  std::string error = parseError(kBase + "haeds: 4\n");
  EXPECT_THAT(error, StartsWith("m.yaml:12:1: error: unknown key 'haeds'"));
  EXPECT_THAT(error, HasSubstr("did you mean 'heads'?"));
}

TEST(ModelFileErrors, MissingRequiredKey) {
  EXPECT_THAT(parseError(withLine(4, "")), StartsWith("m.yaml:1:1: error: missing required key 'd_model'"));
  EXPECT_THAT(parseError("# header\n\n" + withLine(10, "")), StartsWith("m.yaml:3:1: error: missing required key 'bias'"));
}

TEST(ModelFileErrors, WrongTypes) {
  EXPECT_THAT(parseError(withLine(6, "heads: twelve")),
              StartsWith("m.yaml:6:8: error: heads must be an integer, got 'twelve'"));
  EXPECT_THAT(parseError(withLine(6, "heads: 4.5")), StartsWith("m.yaml:6:8: error: heads must be an integer"));
  EXPECT_THAT(parseError(withLine(6, "heads: \"4\"")), StartsWith("m.yaml:6:8: error: heads must be an integer"));
  EXPECT_THAT(parseError(withLine(6, "heads: [4]")), StartsWith("m.yaml:6:8: error: heads must be an integer, found a list"));
  EXPECT_THAT(parseError(withLine(6, "heads:")), StartsWith("m.yaml:6:1: error: heads needs a value"));
  EXPECT_THAT(parseError(withLine(10, "bias: maybe")), StartsWith("m.yaml:10:7: error: bias must be true or false"));
  EXPECT_THAT(parseError(kBase + "norm_eps: small\n"), StartsWith("m.yaml:12:11: error: norm_eps must be a number"));
  EXPECT_THAT(parseError(withLine(1, "name: [a, b]")), StartsWith("m.yaml:1:7: error: name must be a string"));
  EXPECT_THAT(parseError(kBase + "block: ln = norm(x)\n"), StartsWith("m.yaml:12:8: error: block must be a list"));
  EXPECT_THAT(parseError(kBase + "block:\n  - [a]\n"), StartsWith("m.yaml:13:5: error: a block statement must be a string"));
}

TEST(ModelFileErrors, UnknownEnumValueSuggestsTheClosest) {
  std::string error = parseError(withLine(7, "norm: layrnorm"));
  EXPECT_THAT(error, StartsWith("m.yaml:7:7: error: norm must be one of layernorm rmsnorm, got 'layrnorm'"));
  EXPECT_THAT(error, HasSubstr("did you mean 'layernorm'?"));
  EXPECT_THAT(parseError(withLine(9, "activation: tanh")), StartsWith("m.yaml:9:13: error: activation must be one of"));
  EXPECT_THAT(parseError(withLine(8, "positions: alibi")), StartsWith("m.yaml:8:12: error: positions must be one of"));
  EXPECT_THAT(parseError(kBase + "norm_placement: middle\n"), StartsWith("m.yaml:12:17: error: norm_placement must be"));
}

TEST(ModelFileErrors, NonPositiveAndOversizedSizes) {
  EXPECT_THAT(parseError(withLine(5, "layers: 0")), StartsWith("m.yaml:5:9: error: layers must be a positive integer, got 0"));
  EXPECT_THAT(parseError(withLine(2, "vocab_size: -3")), StartsWith("m.yaml:2:13: error: vocab_size must be a positive"));
  EXPECT_THAT(parseError(kBase + "d_ff: 0\n"), StartsWith("m.yaml:12:7: error: d_ff must be a positive"));
  EXPECT_THAT(parseError(withLine(2, "vocab_size: 99999999999")), StartsWith("m.yaml:2:13: error: vocab_size is too large"));
  EXPECT_THAT(parseError(withLine(2, "vocab_size: 99999999999999999999999")),
              StartsWith("m.yaml:2:13: error: vocab_size is out of range"));
}

TEST(ModelFileErrors, HeadsMustDivide) {
  EXPECT_THAT(parseError(withLine(6, "heads: 5")), StartsWith("m.yaml:6:8: error: heads (5) must divide d_model (32)"));
  EXPECT_THAT(parseError(kBase + "kv_heads: 3\n"), StartsWith("m.yaml:12:11: error: kv_heads (3) must divide heads (4)"));
  EXPECT_THAT(parseError(kBase + "kv_heads: 8\n"), StartsWith("m.yaml:12:11: error: kv_heads (8) must divide heads (4)"));
  EXPECT_EQ(parseModelText(kBase + "kv_heads: 1\n", "m.yaml").n_kv_heads, 1);
}

TEST(ModelFileErrors, RopeNeedsAnEvenHeadDim) {
  std::string text = withLine(4, "d_model: 12");
  text = text.replace(text.find("positions: learned"), 18, "positions: rope");
  EXPECT_THAT(parseError(text), StartsWith("m.yaml:8:12: error: rope needs an even head dimension"));
}

TEST(ModelFileErrors, EpsAndThetaMustBePositive) {
  EXPECT_THAT(parseError(kBase + "norm_eps: 0\n"), StartsWith("m.yaml:12:11: error: norm_eps must be a positive number"));
  EXPECT_THAT(parseError(kBase + "norm_eps: -1e-5\n"), StartsWith("m.yaml:12:11: error: norm_eps must be a positive"));
  std::string rope = withLine(8, "positions: rope");
  EXPECT_THAT(parseError(rope + "rope_theta: -10\n"), StartsWith("m.yaml:12:13: error: rope_theta must be a positive"));
  EXPECT_THAT(parseError(rope + "rope_theta: inf\n"), StartsWith("m.yaml:12:13: error: rope_theta must be a positive"));
  EXPECT_DOUBLE_EQ(parseModelText(rope + "rope_theta: 500000\n", "m.yaml").rope_theta, 500000.0);
  EXPECT_THAT(parseError(kBase + "rope_theta: 10000\n"),
              StartsWith("m.yaml:12:1: error: rope_theta is only used with 'positions: rope'"));
}

TEST(ModelFile, DropoutDefaultsToZero) {
  EXPECT_EQ(parseModelText(kBase, "m.yaml").dropout, 0.0);
  EXPECT_DOUBLE_EQ(parseModelText(kBase + "dropout: 0.1\n", "m.yaml").dropout, 0.1);
}

TEST(ModelFileErrors, DropoutMustBeAProbabilityBelowOne) {
  EXPECT_THAT(parseError(kBase + "dropout: 1\n"),
              StartsWith("m.yaml:12:10: error: dropout must be a probability in [0, 1), got 1.000000"));
  EXPECT_THAT(parseError(kBase + "dropout: -0.5\n"), StartsWith("m.yaml:12:10: error: dropout must be a probability"));
  EXPECT_THAT(parseError(kBase + "dropout: high\n"), StartsWith("m.yaml:12:10: error:"));
}

TEST(ModelFileErrors, DuplicateKey) {
  EXPECT_THAT(parseError(kBase + "heads: 8\n"),
              StartsWith("m.yaml:12:1: error: duplicate key 'heads' (first given at m.yaml:6:1)"));
}

TEST(ModelFileErrors, YamlSyntaxErrors) {
  EXPECT_THAT(parseError(withLine(6, "heads: [4")), StartsWith("m.yaml:7:5: error: invalid YAML"));
  EXPECT_THAT(parseError("name: t\n  bad indent: 1\n"), StartsWith("m.yaml:2:13: error: invalid YAML"));
}

TEST(ModelFileErrors, NotAMappingOrEmpty) {
  EXPECT_THAT(parseError("- a\n- b\n"), StartsWith("m.yaml:1:1: error: expected a mapping of keys"));
  EXPECT_THAT(parseError("\n\n  just text\n"), StartsWith("m.yaml:3:3: error: expected a mapping of keys"));
  EXPECT_EQ(parseError(""), "m.yaml: error: the model file is empty");
  EXPECT_EQ(parseError("# only a comment\n"), "m.yaml: error: the model file is empty");
  EXPECT_THAT(parseError(kBase + "---\nname: again\n"), StartsWith("m.yaml:13:1: error: expected a single YAML document"));
  EXPECT_THAT(parseError("[1, 2]: 3\n"), StartsWith("m.yaml:1:1: error: keys must be plain names"));
}

TEST(ModelFileErrors, MissingFile) {
  test::TempDir dir;
  EXPECT_EQ(errorOf([&] { parseModelFile(dir.file("absent.yaml")); }), dir.file("absent.yaml") + ": error: no such file");
  EXPECT_THAT(errorOf([&] { parseModelFile(dir.path().string()); }), HasSubstr("is a directory"));
}

TEST(BlockErrors, PointsInsideTheStatement) {
  // Line 12 is "block:", statements start on line 13 at column 5.
  EXPECT_THAT(blockError("  - n = nrom(x)\n  - o = add(x, n)\n"),
              StartsWith("m.yaml:13:9: error: unknown op 'nrom'; expected norm, attention, mlp or add (did you mean 'norm'?)"));
  EXPECT_THAT(blockError("  - n = norm(x)\n  - o = add(x, m)\n"),
              StartsWith("m.yaml:14:16: error: 'm' is not defined before this statement"));
  EXPECT_THAT(blockError("  - n = norm(o)\n  - o = add(x, n)\n"),
              StartsWith("m.yaml:13:14: error: 'o' is not defined before this statement"));
  EXPECT_THAT(blockError("  - n = norm(x)\n  - n = add(x, n)\n"),
              StartsWith("m.yaml:14:5: error: 'n' is already defined by statement 1"));
  EXPECT_THAT(blockError("  - x = norm(x)\n"), StartsWith("m.yaml:13:5: error: 'x' is the block input and cannot be redefined"));
  EXPECT_THAT(blockError("  - n = norm(x, x)\n"), StartsWith("m.yaml:13:9: error: norm takes 1 argument, got 2"));
  EXPECT_THAT(blockError("  - n = add(x)\n"), StartsWith("m.yaml:13:9: error: add takes 2 arguments, got 1"));
  EXPECT_THAT(blockError("  - n = attention()\n"), StartsWith("m.yaml:13:9: error: attention takes 1 argument, got 0"));
  EXPECT_THAT(blockError("  - n = norm(x)\n  - a = attention(n)\n  - o = add(x, n)\n"),
              StartsWith("m.yaml:14:5: error: 'a' is never used: it does not reach the block output 'o'"));
}

TEST(BlockErrors, Syntax) {
  EXPECT_THAT(blockError("  - n norm(x)\n"), StartsWith("m.yaml:13:7: error: expected '=' after 'n', found 'n'"));
  EXPECT_THAT(blockError("  - 1n = norm(x)\n"), StartsWith("m.yaml:13:5: error: '1n' is not a valid name"));
  EXPECT_THAT(blockError("  - n = norm(x\n"), StartsWith("m.yaml:13:15: error: expected ')' to close the argument list"));
  EXPECT_THAT(blockError("  - n = norm x\n"), StartsWith("m.yaml:13:14: error: expected '(' after 'norm', found 'x'"));
  EXPECT_THAT(blockError("  - n = norm(x) y\n"), StartsWith("m.yaml:13:17: error: unexpected 'y' after the statement"));
  EXPECT_THAT(blockError("  - n = norm(x,)\n"), StartsWith("m.yaml:13:16: error: expected an argument name, found ')'"));
  EXPECT_THAT(blockError("  - n-1 = norm(x)\n"), StartsWith("m.yaml:13:6: error: expected '=' after 'n', found '-'"));
  EXPECT_THAT(blockError("  - \"n = nrom(x)\"\n"), StartsWith("m.yaml:13:10: error: unknown op 'nrom'"));
  EXPECT_THAT(blockError("  - ''\n"), StartsWith("m.yaml:13:6: error: empty block statement"));
  EXPECT_THAT(parseError(kBase + "block: []\n"), StartsWith("m.yaml:12:8: error: the block is empty"));
}

TEST(Validate, ChecksProgrammaticSpecs) {
  ModelSpec spec = parseModelText(kBase, "m.yaml");
  EXPECT_NO_THROW(validateSpec(spec));
  ModelSpec bad_heads = spec;
  bad_heads.n_heads = 3;
  EXPECT_THAT(errorOf([&] { validateSpec(bad_heads); }), HasSubstr("heads (3) must divide d_model (32)"));
  ModelSpec bad_block = spec;
  bad_block.block[1].inputs = {"nowhere"};
  EXPECT_THAT(errorOf([&] { validateSpec(bad_block); }), HasSubstr("'nowhere' is not defined"));
  ModelSpec empty_name = spec;
  empty_name.name.clear();
  EXPECT_THAT(errorOf([&] { validateSpec(empty_name); }), HasSubstr("name must not be empty"));
}

TEST(SourceLocation, Formats) {
  EXPECT_EQ((SourceLoc{"f", 3, 7}).str(), "f:3:7");
  EXPECT_EQ((SourceLoc{"f", 3, 0}).str(), "f:3");
  EXPECT_EQ((SourceLoc{"f", 0, 0}).str(), "f");
  EXPECT_EQ(std::string(ModelError(SourceLoc{"f", 1, 2}, "bad").what()), "f:1:2: error: bad");
  EXPECT_EQ(std::string(ModelError(SourceLoc{}, "bad").what()), "error: bad");
}

}  // namespace
}  // namespace lathe
