// Helpers shared by the frontend's source files; not part of the public API.
#pragma once

#include "lathe/frontend/Frontend.h"
#include "lathe/frontend/ModelSpec.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lathe::frontend_detail {

// --- Spelling of enums in model files, JSON and messages -------------------
const char* normName(NormKind kind);
const char* placementName(NormPlacement placement);
const char* positionName(PositionKind kind);
const char* activationName(Activation activation);
const char* nodeKindName(NodeKind kind);
const char* dtypeName(DType dtype);  // safetensors spelling: "F32", "F16", ...
size_t dtypeSize(DType dtype);

std::optional<NormKind> parseNorm(const std::string& text);
std::optional<NormPlacement> parsePlacement(const std::string& text);
std::optional<PositionKind> parsePosition(const std::string& text);
std::optional<Activation> parseActivation(const std::string& text);
std::optional<NodeKind> parseNodeKind(const std::string& text);
std::optional<DType> parseDType(const std::string& text);

/// The candidate closest to `word` by edit distance, if it is close enough to
/// be a plausible typo.
std::optional<std::string> closestMatch(const std::string& word, const std::vector<std::string>& candidates);
/// " (did you mean 'x'?)" or "".
std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates);

std::string formatShape(const std::vector<int64_t>& shape);

// --- Block graph ------------------------------------------------------------
/// A block statement with the location of each name in it, so errors can
/// point inside the statement string.
struct Statement {
  BlockNode node;
  SourceLoc name_loc;
  SourceLoc op_loc;
  std::vector<SourceLoc> arg_locs;
};

/// Parses "NAME = OP(ARG, ...)"; `start` is where the first character of
/// `text` is in the source. Throws ModelError at the offending column.
Statement parseStatement(const std::string& text, const SourceLoc& start);
std::string formatStatement(const BlockNode& node);

/// Checks names, arity, definition order and that every statement reaches the output.
void checkBlockGraph(const std::vector<Statement>& statements, const SourceLoc& block_loc);
std::vector<Statement> statementsOf(const std::vector<BlockNode>& block);

std::vector<BlockNode> defaultBlock(NormPlacement placement);

/// The node names of a block that has the structure of the default pre-norm
/// block (the only block GPT-2 and Llama checkpoints can express).
struct PreBlockNames {
  std::string norm_1, attention, norm_2, mlp;
};
std::optional<PreBlockNames> matchPreBlock(const std::vector<BlockNode>& block);

// --- Validation -------------------------------------------------------------
/// Where the value of a spec key was written (the file only when unknown).
using KeyLocator = std::function<SourceLoc(const std::string& key)>;
void validateSpecAt(const ModelSpec& spec, const KeyLocator& locate);

/// Throws ModelError at `where` unless `weights` holds exactly the expected
/// names with the expected shapes (dtype is checked to be F32).
void checkWeights(const ModelSpec& spec, const Weights& weights, const SourceLoc& where);

/// Writes config.json + model.safetensors as GPT-2 or Llama, or explains why neither fits.
void exportHuggingFace(const Model& model, const std::string& dir);

// --- Files --------------------------------------------------------------------
std::string readTextFile(const std::string& path);
/// Writes via a temporary file in the same directory, fsync and rename.
/// `pieces` are written back to back.
struct ByteSpan {
  const void* data;
  size_t size;
};
void writeFileAtomic(const std::string& path, const std::vector<ByteSpan>& pieces);
void writeFileAtomic(const std::string& path, const std::string& text);

/// Line/column (1-based) of byte `offset` in `text`.
SourceLoc locateOffset(const std::string& text, size_t offset, const std::string& file);

}  // namespace lathe::frontend_detail
