// The tokenizer an artifact may carry: rebuilt from the schema's Tokenizer
// table and checked when the artifact is opened.
#pragma once

#include <memory>

#include "artifact_generated.h"
#include "tokenizer/Tokenizer.h"

namespace lathe::runtime {

/// Null when the artifact has no tokenizer; throws invalidArtifact (or
/// LATHE_ERROR_UNSUPPORTED for an unknown kind) naming the problem.
std::shared_ptr<const tokenizer::Tokenizer> readArtifactTokenizer(const fb::Artifact& artifact);

}  // namespace lathe::runtime
