// The runtime's one exception type. Every user-facing failure is thrown as an
// Error with a status; the C API turns it into a status code plus
// lathe_last_error(), so no exception crosses the C boundary.
#pragma once

#include <stdexcept>
#include <string>

#include "lathe/lathe.h"

namespace lathe::runtime {

class Error : public std::runtime_error {
public:
  Error(lathe_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  lathe_status status() const { return status_; }

private:
  lathe_status status_;
};

/// The error for a file or buffer that fails the artifact's checks.
inline Error invalidArtifact(const std::string& what) {
  return Error(LATHE_ERROR_INVALID_ARTIFACT, "invalid Lathe artifact: " + what);
}

}  // namespace lathe::runtime
