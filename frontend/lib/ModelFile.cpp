// The Lathe model file: flat YAML keys read with yaml-cpp, every error
// pointing at the offending key or value. The JSON description is read by the
// same code (JSON is YAML), so both paths validate identically.
#include "Internal.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>

namespace lathe {
namespace frontend_detail {

namespace {

const std::vector<std::string> kKnownKeys = {
    "name",           "vocab_size", "context_length", "d_model",    "layers",     "heads",
    "kv_heads",       "d_ff",       "norm",           "norm_eps",   "norm_placement", "final_norm",
    "positions",      "rope_theta", "activation",     "bias",       "tied_embeddings", "dropout",
    "block"};
const std::vector<std::string> kRequiredKeys = {"vocab_size", "context_length", "d_model", "layers", "heads",
                                                "norm",       "positions",      "activation", "bias", "tied_embeddings"};

const char* nodeTypeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "a value";
  }
}

struct Entry {
  YAML::Node value;
  SourceLoc key_loc;
  SourceLoc value_loc;  // the key's location when the value is empty
};

class SpecReader {
public:
  SpecReader(const std::string& text, const std::string& file) : text_(text), file_(file) {}

  ModelSpec read() {
    YAML::Node root = loadSingleDocument();
    root_loc_ = locOf(root.Mark());
    collectEntries(root);
    for (const std::string& key : kRequiredKeys)
      if (!entries_.count(key)) throw ModelError(root_loc_, "missing required key '" + key + "'");
    ModelSpec spec = buildSpec();
    validateSpecAt(spec, [this](const std::string& key) {
      auto it = entries_.find(key);
      return it == entries_.end() ? root_loc_ : it->second.value_loc;
    });
    return spec;
  }

private:
  SourceLoc locOf(const YAML::Mark& mark) const {
    if (mark.is_null() || mark.line < 0) return SourceLoc{file_};
    return SourceLoc{file_, mark.line + 1, mark.column + 1};
  }

  YAML::Node loadSingleDocument() {
    std::vector<YAML::Node> documents;
    try {
      documents = YAML::LoadAll(text_);
    } catch (const YAML::Exception& error) {
      throw ModelError(locOf(error.mark), "invalid YAML: " + error.msg);
    }
    if (documents.empty() || (documents.size() == 1 && documents[0].IsNull()))
      throw ModelError(SourceLoc{file_}, "the model file is empty");
    if (documents.size() > 1)
      throw ModelError(locOf(documents[1].Mark()), "expected a single YAML document, found " +
                                                       std::to_string(documents.size()));
    const YAML::Node& root = documents[0];
    if (!root.IsMap())
      throw ModelError(locOf(root.Mark()),
                       std::string("expected a mapping of keys (like 'd_model: 768') at the top level, found ") +
                           nodeTypeName(root));
    return root;
  }

  void collectEntries(const YAML::Node& root) {
    for (auto it = root.begin(); it != root.end(); ++it) {
      SourceLoc key_loc = locOf(it->first.Mark());
      if (!it->first.IsScalar()) throw ModelError(key_loc, "keys must be plain names");
      const std::string& key = it->first.Scalar();
      auto known = std::find(kKnownKeys.begin(), kKnownKeys.end(), key) != kKnownKeys.end();
      if (!known) throw ModelError(key_loc, "unknown key '" + key + "'" + didYouMean(key, kKnownKeys));
      auto previous = entries_.find(key);
      if (previous != entries_.end())
        throw ModelError(key_loc, "duplicate key '" + key + "' (first given at " + previous->second.key_loc.str() + ")");
      SourceLoc value_loc = it->second.IsNull() ? key_loc : locOf(it->second.Mark());
      entries_[key] = Entry{it->second, key_loc, value_loc};
    }
  }

  /// The scalar text of `key`, rejecting empty and non-scalar values.
  const std::string& scalar(const std::string& key, const char* expected) const {
    const Entry& entry = entries_.at(key);
    if (entry.value.IsNull()) throw ModelError(entry.key_loc, key + " needs a value (" + expected + ")");
    if (!entry.value.IsScalar())
      throw ModelError(entry.value_loc, key + " must be " + expected + ", found " + nodeTypeName(entry.value));
    return entry.value.Scalar();
  }

  bool quoted(const std::string& key) const { return entries_.at(key).value.Tag() == "!"; }

  int64_t readInt(const std::string& key) const {
    const std::string& text = scalar(key, "an integer");
    int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    const SourceLoc& loc = entries_.at(key).value_loc;
    if (error == std::errc::result_out_of_range) throw ModelError(loc, key + " is out of range: " + text);
    if (error != std::errc() || end != text.data() + text.size() || quoted(key))
      throw ModelError(loc, key + " must be an integer, got '" + text + "'");
    return value;
  }

  double readReal(const std::string& key) const {
    const std::string& text = scalar(key, "a number");
    double value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    const SourceLoc& loc = entries_.at(key).value_loc;
    if (error != std::errc() || end != text.data() + text.size() || quoted(key))
      throw ModelError(loc, key + " must be a number, got '" + text + "'");
    return value;
  }

  bool readBool(const std::string& key) const {
    const std::string& text = scalar(key, "true or false");
    if (!quoted(key)) {
      if (text == "true" || text == "True" || text == "TRUE") return true;
      if (text == "false" || text == "False" || text == "FALSE") return false;
    }
    throw ModelError(entries_.at(key).value_loc, key + " must be true or false, got '" + text + "'");
  }

  template <typename Enum>
  Enum readEnum(const std::string& key, std::optional<Enum> (*parse)(const std::string&),
                const std::vector<std::string>& options) const {
    std::string expected = "one of";
    for (const std::string& option : options) expected += " " + option;
    const std::string& text = scalar(key, expected.c_str());
    if (auto value = parse(text)) return *value;
    throw ModelError(entries_.at(key).value_loc,
                     key + " must be " + expected + ", got '" + text + "'" + didYouMean(text, options));
  }

  std::vector<BlockNode> readBlock() const {
    const Entry& entry = entries_.at("block");
    if (!entry.value.IsSequence())
      throw ModelError(entry.value_loc, std::string("block must be a list of statements like '- h = add(x, attn)', found ") +
                                            nodeTypeName(entry.value));
    std::vector<Statement> statements;
    for (const YAML::Node& item : entry.value) {
      SourceLoc loc = locOf(item.Mark());
      if (!item.IsScalar())
        throw ModelError(loc, std::string("a block statement must be a string like 'h = add(x, attn)', found ") +
                                  nodeTypeName(item));
      statements.push_back(parseStatement(item.Scalar(), statementStart(item.Mark(), loc)));
    }
    checkBlockGraph(statements, entry.value_loc);
    std::vector<BlockNode> block;
    for (const Statement& statement : statements) block.push_back(statement.node);
    return block;
  }

  /// Where the statement's first character is: past the opening quote of a quoted scalar.
  SourceLoc statementStart(const YAML::Mark& mark, SourceLoc loc) const {
    if (mark.pos >= 0 && static_cast<size_t>(mark.pos) < text_.size()) {
      char first = text_[static_cast<size_t>(mark.pos)];
      if ((first == '"' || first == '\'') && loc.column > 0) ++loc.column;
    }
    return loc;
  }

  ModelSpec buildSpec() const {
    ModelSpec spec;
    spec.name = has("name") ? scalar("name", "a string") : defaultName();
    spec.vocab_size = readInt("vocab_size");
    spec.context_length = readInt("context_length");
    spec.d_model = readInt("d_model");
    spec.n_layers = readInt("layers");
    spec.n_heads = readInt("heads");
    spec.n_kv_heads = has("kv_heads") ? readInt("kv_heads") : spec.n_heads;
    const bool d_model_fits = spec.d_model <= std::numeric_limits<int64_t>::max() / 4;
    spec.d_ff = has("d_ff") ? readInt("d_ff") : (d_model_fits ? 4 * spec.d_model : 0);
    spec.norm = readEnum<NormKind>("norm", parseNorm, {"layernorm", "rmsnorm"});
    if (has("norm_eps")) spec.norm_eps = readReal("norm_eps");
    if (has("norm_placement")) spec.norm_placement = readEnum<NormPlacement>("norm_placement", parsePlacement, {"pre", "post"});
    spec.final_norm = has("final_norm") ? readBool("final_norm") : spec.norm_placement == NormPlacement::Pre;
    spec.positions = readEnum<PositionKind>("positions", parsePosition, {"learned", "sinusoidal", "rope"});
    if (has("rope_theta")) {
      if (spec.positions != PositionKind::Rope)
        throw ModelError(entries_.at("rope_theta").key_loc, "rope_theta is only used with 'positions: rope'");
      spec.rope_theta = readReal("rope_theta");
    }
    spec.activation =
        readEnum<Activation>("activation", parseActivation, {"gelu", "gelu_tanh", "relu", "silu", "swiglu"});
    spec.bias = readBool("bias");
    spec.tied_embeddings = readBool("tied_embeddings");
    if (has("dropout")) spec.dropout = readReal("dropout");
    if (has("block")) {
      spec.block = readBlock();
    } else {
      spec.block = defaultBlock(spec.norm_placement);
      SourceLoc preset_loc = has("norm_placement") ? entries_.at("norm_placement").value_loc : root_loc_;
      for (BlockNode& node : spec.block) node.loc = preset_loc;
    }
    return spec;
  }

  bool has(const std::string& key) const { return entries_.count(key) != 0; }

  std::string defaultName() const {
    std::string stem = std::filesystem::path(file_).stem().string();
    return stem.empty() ? "model" : stem;
  }

  const std::string& text_;
  std::string file_;
  SourceLoc root_loc_;
  std::map<std::string, Entry> entries_;
};

}  // namespace

}  // namespace frontend_detail

ModelSpec parseModelText(const std::string& text, const std::string& filename) {
  return frontend_detail::SpecReader(text, filename).read();
}

ModelSpec parseModelFile(const std::string& path) {
  return parseModelText(frontend_detail::readTextFile(path), path);
}

}  // namespace lathe
