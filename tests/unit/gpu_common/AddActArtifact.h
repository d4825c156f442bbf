// The small two-dispatch model the GPU backend tests share: inputs x, y
// (B, T, 4) -> Binary add -> arena -> Unary `act` -> output out (B, T, 4),
// with the GPU program a test supplies; and helpers to open artifacts through the C API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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

struct ArtifactCloser {
  void operator()(lathe_artifact* a) const { lathe_artifact_close(a); }
};
struct SessionDestroyer {
  void operator()(lathe_session* s) const { lathe_session_destroy(s); }
};
using ArtifactHandle = std::unique_ptr<lathe_artifact, ArtifactCloser>;
using SessionHandle = std::unique_ptr<lathe_session, SessionDestroyer>;

/// Null on failure, with the status in *status.
ArtifactHandle openArtifact(const fb::ArtifactT& artifact, lathe_status* status = nullptr);

}  // namespace lathe::test
