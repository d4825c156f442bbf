// The small two-dispatch model the GPU backend tests share: inputs x, y
// (B, T, 4) -> Binary add -> arena -> Unary `act` -> output out (B, T, 4),
// with the GPU program a test supplies; and helpers to open and run artifacts through the C API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "CApiHandles.h"
#include "artifact_generated.h"
#include "lathe/lathe.h"

namespace lathe::test {

struct AddActShape {
  static constexpr int64_t kChannels = 4, kMaxBatch = 3, kMaxSeq = 5;
};

/// Targets "cpu,<program->target>"; dispatch 0 (sum) runs program kernel 0, dispatch 1 (act) kernel 1.
fb::ArtifactT addActArtifact(int act, const std::string& producer, std::unique_ptr<fb::GpuProgramT> program);
/// act: 3 relu, 4 silu, else none.
std::vector<float> addActReference(int act, const std::vector<float>& x, const std::vector<float>& y);

std::vector<uint8_t> pack(const fb::ArtifactT& artifact);
std::vector<float> seededValues(size_t count, uint32_t seed);

/// Null on failure, with the status in *status.
ArtifactHandle openArtifact(const fb::ArtifactT& artifact, lathe_status* status = nullptr);

/// Expects `artifact` to be refused as invalid with a message containing `problem`.
void expectInvalidArtifact(const fb::ArtifactT& artifact, const std::string& problem);

/// A session on `device`, expected to be created.
SessionHandle createSession(const lathe_artifact* artifact, const char* device);
/// out = act(x + y) for one call of `session` on (B, T, kChannels) inputs.
std::vector<float> runAddAct(lathe_session* session, int64_t B, int64_t T, const std::vector<float>& x,
                             const std::vector<float>& y);
void expectNear(const std::vector<float>& actual, const std::vector<float>& expected);

}  // namespace lathe::test
