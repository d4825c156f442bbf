// Structural (FlatBuffers Verifier) and semantic checks of an artifact.
#pragma once

#include <cstddef>
#include <cstdint>

#include "Artifact.h"

namespace lathe::runtime {

/// Throws Error (LATHE_ERROR_INVALID_ARTIFACT or LATHE_ERROR_UNSUPPORTED) with
/// a message naming what is wrong and where; returns the derived facts.
ArtifactFacts verifyArtifact(const uint8_t* data, size_t size);

/// Bytes per element of a dtype (0 for an unknown value).
size_t dtypeSize(fb::DType dtype);
const char* dtypeName(fb::DType dtype);

}  // namespace lathe::runtime
