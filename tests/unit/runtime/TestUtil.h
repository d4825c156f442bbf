// Shared helpers for the runtime tests: open packed artifacts through the C API.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "CApiHandles.h"
#include "TestArtifacts.h"
#include "lathe/lathe.h"

namespace lathe::test {

/// Opens `bytes`; on failure returns null and stores the status and message.
inline ArtifactHandle openBytes(const std::vector<uint8_t>& bytes, lathe_status* status = nullptr,
                                std::string* error = nullptr) {
  lathe_artifact* artifact = nullptr;
  const lathe_status result = lathe_artifact_open_memory(bytes.data(), bytes.size(), &artifact);
  if (status != nullptr) *status = result;
  if (error != nullptr) *error = result == LATHE_OK ? "" : lathe_last_error();
  return ArtifactHandle(artifact);
}

/// Expects opening `artifact` to fail with `status` and a message containing `message`.
inline void expectRejected(const fb::ArtifactT& artifact, lathe_status status, const std::string& message) {
  lathe_status result = LATHE_OK;
  std::string error;
  ArtifactHandle handle = openBytes(pack(artifact), &result, &error);
  EXPECT_EQ(handle, nullptr);
  EXPECT_EQ(result, status) << error;
  EXPECT_THAT(error, ::testing::HasSubstr(message));
}

inline SessionHandle makeSession(const lathe_artifact* artifact, const char* device = "cpu") {
  lathe_session* session = nullptr;
  EXPECT_EQ(lathe_session_create(artifact, device, &session), LATHE_OK) << lathe_last_error();
  return SessionHandle(session);
}

}  // namespace lathe::test
