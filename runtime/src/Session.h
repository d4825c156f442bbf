// A session: one artifact on one device, with the weights uploaded, one
// arena, and per entry point the input/output buffers at their maximum sizes.
// Not thread-safe; use one session per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "Artifact.h"
#include "Device.h"

namespace lathe::runtime {

class Session {
public:
  Session(std::shared_ptr<const Artifact> artifact, const std::string& device_spec);
  ~Session();

  const Artifact& artifact() const { return *artifact_; }
  /// Copies row-major `data` of `shape` into the input after checking it.
  void setInput(const std::string& entry, const std::string& name, fb::DType dtype, const std::vector<int64_t>& shape,
                const void* data);
  void run(const std::string& entry);
  /// The output's shape at the last run's B and T.
  std::vector<int64_t> outputShape(const std::string& entry, const std::string& name) const;
  /// Copies the output of the last run; `bytes` must be at least its size.
  void readOutput(const std::string& entry, const std::string& name, void* dst, size_t bytes) const;
  /// Zeroes the KV-cache states, as at creation; training states are kept.
  void resetStates();
  /// Index of the state named `name`; throws LATHE_ERROR_NOT_FOUND.
  size_t stateIndex(const std::string& name) const;
  /// Copies a whole state to or from host memory; `bytes` must equal its size.
  void readState(const std::string& name, void* dst, size_t bytes) const;
  void writeState(const std::string& name, const void* src, size_t bytes);
  /// Per-dispatch times of later runs (Device::setProfiling).
  void setProfiling(bool enabled) { device_->setProfiling(enabled); }
  /// The dispatch times of the last run made while profiling.
  const std::vector<DispatchTiming>& lastProfile() const { return device_->lastProfile(); }

private:
  struct EntryState;
  /// Parameters start as copies of their weights, everything else at zero.
  void initializeStates();
  size_t checkedStateBytes(const std::string& name, const void* data, size_t bytes, size_t* index) const;
  const EntryState& ranState(const std::string& entry, size_t* entry_index) const;
  /// Lengths and cache positions must fit the call's T and the cache.
  void checkInputRanges(size_t entry_index, int64_t B, int64_t T) const;

  std::shared_ptr<const Artifact> artifact_;
  std::unique_ptr<Device> device_;
  std::unique_ptr<Buffer> arena_;
  std::vector<std::unique_ptr<Buffer>> states_;
  std::vector<std::unique_ptr<Buffer>> weights_;
  std::vector<EntryState> entries_;
};

}  // namespace lathe::runtime
