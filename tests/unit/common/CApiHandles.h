// Owning handles for the C API's artifacts and sessions, shared by the test suites.
#pragma once

#include <memory>

#include "lathe/lathe.h"

namespace lathe::test {

struct ArtifactCloser {
  void operator()(lathe_artifact* a) const { lathe_artifact_close(a); }
};
struct SessionDestroyer {
  void operator()(lathe_session* s) const { lathe_session_destroy(s); }
};
using ArtifactHandle = std::unique_ptr<lathe_artifact, ArtifactCloser>;
using SessionHandle = std::unique_ptr<lathe_session, SessionDestroyer>;

}  // namespace lathe::test
