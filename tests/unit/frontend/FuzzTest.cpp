// Mutated model files (seeded byte flips, insertions, truncations) must only
// ever produce ModelError: no other exception, no crash.
#include "TestUtil.h"

#include <random>

namespace lathe {
namespace {

std::string mutate(std::string text, std::mt19937_64& rng) {
  // Bytes that are likely to matter to YAML and to the statement syntax.
  static const std::string kInteresting = ":-[]{}#&*!|>'\"%@`,=() \n\t0123456789xX_.";
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !text.empty(); ++e) {
    size_t at = rng() % text.size();
    char byte = rng() % 2 ? kInteresting[rng() % kInteresting.size()] : static_cast<char>(rng() % 256);
    switch (rng() % 4) {
      case 0:
        text[at] = byte;
        break;
      case 1:
        text.insert(at, 1, byte);
        break;
      case 2:
        text.erase(at, 1 + rng() % 8);
        break;
      default:
        text.resize(at);  // truncation
        break;
    }
  }
  return text;
}

TEST(Fuzz, MutatedModelFilesOnlyEverRaiseModelError) {
  std::vector<std::string> seeds;
  for (const char* file : {"gpt2.yaml", "llama.yaml", "tiny.yaml", "parallel_block.yaml"})
    seeds.push_back(test::readFile(test::examplePath(file)));
  std::mt19937_64 rng(20240607);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string& seed = seeds[static_cast<size_t>(i) % seeds.size()];
    std::string text = mutate(seed, rng);
    try {
      ModelSpec spec = parseModelText(text, "fuzz.yaml");
      validateSpec(spec);  // whatever parses must be valid
      specFromJson(specToJson(spec), "fuzz.json");
      ++accepted;
    } catch (const ModelError& error) {
      ASSERT_EQ(std::string(error.what()).rfind("fuzz.", 0), 0u) << error.what();
      ++rejected;
    } catch (const std::exception& error) {
      FAIL() << "case " << i << " threw a non-ModelError: " << error.what() << "\n--- input ---\n" << text;
    }
  }
  // Both outcomes must occur, or the mutations are too weak or too strong to test anything.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(rejected, 1000);
}

TEST(Fuzz, MutatedJsonDescriptionsOnlyEverRaiseModelError) {
  std::string seed = specToJson(parseModelFile(test::examplePath("parallel_block.yaml")));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    std::string text = mutate(seed, rng);
    try {
      specFromJson(text, "fuzz.json");
    } catch (const ModelError&) {
    } catch (const std::exception& error) {
      FAIL() << "case " << i << " threw a non-ModelError: " << error.what() << "\n--- input ---\n" << text;
    }
  }
}

TEST(Fuzz, HostileInputsRaiseModelError) {
  const std::string base = test::readFile(test::examplePath("tiny.yaml"));
  std::string unnamed = base;
  unnamed.erase(unnamed.find("name: tiny\n"), 11);
  const std::vector<std::string> inputs = {
      std::string(100000, '['),                       // deep nesting
      "a: " + std::string(20000, '{'),                //
      std::string("name: a\0b\n", 10) + unnamed,      // NUL inside the name
      "name: caf\xc3\xa9\n" + unnamed,                // non-ASCII name
      "\xff\xfe\x00\x01" + base,                      // binary junk
      "d: &a [*a]\n",                                 // self-referencing alias
      base + "heads: *undefined\n",                   // unknown anchor
      base + "? [a]\n: 1\n",                          // complex key
      base + "<<: {d_ff: 3}\n",                       // merge key
      "!!map {}\n",                                   // empty tagged mapping
  };
  for (const std::string& input : inputs) {
    EXPECT_THROW(parseModelText(input, "hostile.yaml"), ModelError) << input.substr(0, 40);
    EXPECT_THROW(specFromJson(input, "hostile.json"), ModelError) << input.substr(0, 40);
  }
}

}  // namespace
}  // namespace lathe
