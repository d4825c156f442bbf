// A loaded, fully verified artifact: the bytes (memory-mapped file or an owned
// 64-byte aligned copy) and the facts the verifier derived from them. After
// construction every field the runtime reads is known to be present and
// consistent, so sessions and devices do not re-check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "KernelLayout.h"
#include "artifact_generated.h"
#include "SchemaVersion.h"
#include "tokenizer/Tokenizer.h"

namespace lathe::runtime {

using fb::kSchemaVersion;

/// What verification learned beyond the raw schema.
struct ArtifactFacts {
  /// [entry][input]: vocab size for token-id inputs (smallest table read by
  /// an Embedding of that input), 0 for other inputs.
  std::vector<std::vector<int64_t>> input_vocab;
  /// [entry][input]: the values an i32 input may hold (lengths, cache positions).
  std::vector<std::vector<IntRange>> input_range;
};

class Artifact {
public:
  static std::shared_ptr<const Artifact> openFile(const std::string& path);
  static std::shared_ptr<const Artifact> openMemory(const void* data, size_t size);
  ~Artifact();
  Artifact(const Artifact&) = delete;
  Artifact& operator=(const Artifact&) = delete;

  const fb::Artifact& root() const { return *root_; }
  /// Whether `target` ("cpu", "vulkan") is one the artifact was compiled for.
  bool hasTarget(const std::string& target) const;
  /// The code for GPU target `target`; null when the artifact has none.
  const fb::GpuProgram* gpuProgram(const std::string& target) const;
  int64_t maxBatch() const { return root_->max_batch(); }
  int64_t maxSeq() const { return root_->max_seq(); }
  size_t entryPointCount() const { return root_->entry_points()->size(); }
  const fb::EntryPoint& entryPoint(size_t index) const { return *root_->entry_points()->Get(index); }
  /// Index of the entry point named `name`; throws LATHE_ERROR_NOT_FOUND.
  size_t entryPointIndex(const std::string& name) const;
  int64_t inputVocab(size_t entry, size_t input) const { return facts_.input_vocab[entry][input]; }
  /// The artifact's tokenizer, checked at open; null when it has none.
  const std::shared_ptr<const tokenizer::Tokenizer>& tokenizer() const { return tokenizer_; }
  IntRange inputRange(size_t entry, size_t input) const { return facts_.input_range[entry][input]; }
  size_t stateCount() const { return root_->states() == nullptr ? 0 : root_->states()->size(); }
  const fb::TensorSpec& state(size_t index) const { return *root_->states()->Get(static_cast<flatbuffers::uoffset_t>(index)); }

  /// "[B, T, 768]".
  static std::string shapeString(const fb::TensorSpec& spec);

private:
  struct Storage;
  explicit Artifact(std::unique_ptr<Storage> storage);

  std::unique_ptr<Storage> storage_;
  const fb::Artifact* root_ = nullptr;
  ArtifactFacts facts_;
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer_;
};

/// "cpu,vulkan" -> {"cpu", "vulkan"}.
std::vector<std::string> targetList(const std::string& targets);

/// Index of the input/output named `name` in `list`; throws LATHE_ERROR_NOT_FOUND naming `what` and the entry.
size_t tensorIndex(const flatbuffers::Vector<flatbuffers::Offset<fb::TensorSpec>>& list, const std::string& name,
                   const char* what, const fb::EntryPoint& entry);

}  // namespace lathe::runtime
