// The block graph: statement syntax, graph checks and the preset blocks.
#include "Internal.h"

#include <cctype>
#include <map>
#include <set>

namespace lathe::frontend_detail {

namespace {

const std::vector<std::string> kOpNames = {"norm", "attention", "mlp", "add"};

bool isWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool isIdentifier(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!isWordChar(c)) return false;
  return true;
}

size_t arityOf(NodeKind kind) { return kind == NodeKind::Add ? 2 : 1; }

/// A cursor over one statement string that knows the source column of each character.
class StatementLexer {
public:
  StatementLexer(const std::string& text, const SourceLoc& start) : text_(text), start_(start) {}

  SourceLoc locAt(size_t offset) const {
    SourceLoc loc = start_;
    if (loc.column > 0) loc.column += static_cast<int>(offset);
    return loc;
  }
  SourceLoc here() const { return locAt(pos_); }

  void skipSpaces() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool atEnd() {
    skipSpaces();
    return pos_ >= text_.size();
  }
  bool accept(char c) {
    skipSpaces();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  /// Reads a name; `what` says what was expected, for the error message.
  std::string name(const std::string& what, SourceLoc& loc) {
    skipSpaces();
    loc = here();
    size_t begin = pos_;
    while (pos_ < text_.size() && isWordChar(text_[pos_])) ++pos_;
    std::string word = text_.substr(begin, pos_ - begin);
    if (word.empty()) throw ModelError(loc, "expected " + what + ", found " + describeNext());
    if (!isIdentifier(word))
      throw ModelError(loc, "'" + word + "' is not a valid name: names start with a letter or '_'");
    return word;
  }

  void expect(char c, const std::string& context) {
    if (!accept(c)) throw ModelError(here(), std::string("expected '") + c + "' " + context + ", found " + describeNext());
  }

  std::string describeNext() {
    skipSpaces();
    if (pos_ >= text_.size()) return "the end of the statement";
    return std::string("'") + text_[pos_] + "'";
  }

private:
  const std::string& text_;
  SourceLoc start_;
  size_t pos_ = 0;
};

}  // namespace

Statement parseStatement(const std::string& text, const SourceLoc& start) {
  StatementLexer lexer(text, start);
  if (lexer.atEnd()) throw ModelError(start, "empty block statement; expected NAME = OP(ARGS)");
  Statement statement;
  statement.node.name = lexer.name("a value name (NAME = OP(ARGS))", statement.name_loc);
  statement.node.loc = statement.name_loc;
  lexer.expect('=', "after '" + statement.node.name + "'");
  std::string op = lexer.name("an op (norm, attention, mlp or add)", statement.op_loc);
  auto kind = parseNodeKind(op);
  if (!kind)
    throw ModelError(statement.op_loc,
                     "unknown op '" + op + "'; expected norm, attention, mlp or add" + didYouMean(op, kOpNames));
  statement.node.kind = *kind;
  lexer.expect('(', "after '" + op + "'");
  if (!lexer.accept(')')) {
    do {
      SourceLoc arg_loc;
      statement.node.inputs.push_back(lexer.name("an argument name", arg_loc));
      statement.arg_locs.push_back(arg_loc);
    } while (lexer.accept(','));
    lexer.expect(')', "to close the argument list");
  }
  if (!lexer.atEnd()) throw ModelError(lexer.here(), "unexpected " + lexer.describeNext() + " after the statement");
  return statement;
}

std::string formatStatement(const BlockNode& node) {
  std::string text = node.name + " = " + nodeKindName(node.kind) + "(";
  for (size_t i = 0; i < node.inputs.size(); ++i) text += (i ? ", " : "") + node.inputs[i];
  return text + ")";
}

void checkBlockGraph(const std::vector<Statement>& statements, const SourceLoc& block_loc) {
  if (statements.empty()) throw ModelError(block_loc, "the block is empty; it needs at least one statement");
  std::map<std::string, size_t> index_of;  // name -> statement index
  for (size_t i = 0; i < statements.size(); ++i) {
    const Statement& statement = statements[i];
    const BlockNode& node = statement.node;
    if (!isIdentifier(node.name))
      throw ModelError(statement.name_loc, "'" + node.name + "' is not a valid name: use letters, digits and '_'");
    if (node.name == "x") throw ModelError(statement.name_loc, "'x' is the block input and cannot be redefined");
    if (node.inputs.size() != arityOf(node.kind)) {
      size_t arity = arityOf(node.kind);
      throw ModelError(statement.op_loc, std::string(nodeKindName(node.kind)) + " takes " + std::to_string(arity) +
                                             (arity == 1 ? " argument" : " arguments") + ", got " +
                                             std::to_string(node.inputs.size()));
    }
    for (size_t a = 0; a < node.inputs.size(); ++a) {
      const std::string& arg = node.inputs[a];
      if (arg == "x" || index_of.count(arg)) continue;
      const SourceLoc& arg_loc = a < statement.arg_locs.size() ? statement.arg_locs[a] : statement.name_loc;
      throw ModelError(arg_loc, "'" + arg + "' is not defined before this statement (a statement may use 'x' and " +
                                    "names defined above it)");
    }
    auto [it, inserted] = index_of.emplace(node.name, i);
    if (!inserted)
      throw ModelError(statement.name_loc,
                       "'" + node.name + "' is already defined by statement " + std::to_string(it->second + 1));
  }
  // Walk back from the output; anything not reached is dead.
  std::vector<bool> used(statements.size(), false);
  used.back() = true;
  for (size_t i = statements.size(); i-- > 0;) {
    if (!used[i]) continue;
    for (const std::string& arg : statements[i].node.inputs)
      if (arg != "x") used[index_of.at(arg)] = true;
  }
  for (size_t i = 0; i < statements.size(); ++i) {
    if (used[i]) continue;
    throw ModelError(statements[i].name_loc, "'" + statements[i].node.name +
                                                 "' is never used: it does not reach the block output '" +
                                                 statements.back().node.name + "' (the last statement)");
  }
}

std::vector<Statement> statementsOf(const std::vector<BlockNode>& block) {
  std::vector<Statement> statements;
  for (const BlockNode& node : block) {
    Statement statement;
    statement.node = node;
    statement.name_loc = statement.op_loc = node.loc;
    statement.arg_locs.assign(node.inputs.size(), node.loc);
    statements.push_back(statement);
  }
  return statements;
}

std::vector<BlockNode> defaultBlock(NormPlacement placement) {
  auto node = [](const char* name, NodeKind kind, std::vector<std::string> inputs) {
    return BlockNode{name, kind, std::move(inputs), {}};
  };
  if (placement == NormPlacement::Pre)
    return {node("ln_1", NodeKind::Norm, {"x"}),       node("attn", NodeKind::Attention, {"ln_1"}),
            node("h", NodeKind::Add, {"x", "attn"}),   node("ln_2", NodeKind::Norm, {"h"}),
            node("mlp", NodeKind::MLP, {"ln_2"}),      node("out", NodeKind::Add, {"h", "mlp"})};
  return {node("attn", NodeKind::Attention, {"x"}), node("h", NodeKind::Add, {"x", "attn"}),
          node("ln_1", NodeKind::Norm, {"h"}),      node("mlp", NodeKind::MLP, {"ln_1"}),
          node("h2", NodeKind::Add, {"ln_1", "mlp"}), node("ln_2", NodeKind::Norm, {"h2"})};
}

std::optional<PreBlockNames> matchPreBlock(const std::vector<BlockNode>& block) {
  if (block.size() != 6) return std::nullopt;
  auto is = [&](size_t i, NodeKind kind, std::multiset<std::string> inputs) {
    const BlockNode& node = block[i];
    return node.kind == kind && std::multiset<std::string>(node.inputs.begin(), node.inputs.end()) == inputs;
  };
  const std::string& n0 = block[0].name;
  const std::string& n1 = block[1].name;
  const std::string& n2 = block[2].name;
  const std::string& n3 = block[3].name;
  const std::string& n4 = block[4].name;
  bool matches = is(0, NodeKind::Norm, {"x"}) && is(1, NodeKind::Attention, {n0}) && is(2, NodeKind::Add, {"x", n1}) &&
                 is(3, NodeKind::Norm, {n2}) && is(4, NodeKind::MLP, {n3}) && is(5, NodeKind::Add, {n2, n4});
  if (!matches) return std::nullopt;
  return PreBlockNames{n0, n1, n3, n4};
}

}  // namespace lathe::frontend_detail
