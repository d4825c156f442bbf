// The device abstraction: buffers are device handles, and a device runs a
// prepared entry point of a verified artifact. Backends live in targets/<kind>/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "artifact_generated.h"

namespace lathe::runtime {

class Artifact;

/// Device memory. Only the device that made it knows what is inside.
class Buffer {
public:
  explicit Buffer(size_t bytes) : bytes_(bytes) {}
  virtual ~Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  size_t bytes() const { return bytes_; }

private:
  size_t bytes_;
};

/// An entry point translated once into the device's own form.
class PreparedEntry {
public:
  virtual ~PreparedEntry() = default;
};

/// The buffers a run reads and writes, indexed like the artifact's BufferRefs.
struct Bindings {
  Buffer* arena = nullptr;
  std::vector<Buffer*> weights;
  std::vector<Buffer*> inputs;
  std::vector<Buffer*> outputs;
  std::vector<Buffer*> states;
};

/// How long one dispatch of a profiled run took on the device.
struct DispatchTiming {
  std::string name;     // Dispatch.name
  std::string kind;     // the kernel kind, e.g. "Gemm"
  double microseconds;
};

class Device {
public:
  virtual ~Device() = default;
  /// The artifact target this device runs: "cpu", "vulkan", "cuda".
  virtual std::string kind() const = 0;
  /// 64-byte aligned, uninitialized. Throws Error(LATHE_ERROR_OUT_OF_MEMORY).
  virtual std::unique_ptr<Buffer> allocate(size_t bytes) = 0;
  /// A read-only buffer holding `bytes` from host memory that outlives the
  /// buffer (the artifact's weights); a device may use the memory in place.
  virtual std::unique_ptr<Buffer> importConstant(const void* data, size_t bytes);
  virtual void upload(Buffer& dst, const void* src, size_t bytes) = 0;
  virtual void download(const Buffer& src, void* dst, size_t bytes) = 0;
  /// Sets every byte of `buffer` to zero.
  virtual void zero(Buffer& buffer);
  /// Entry point `entry` of `artifact`, which outlives the result.
  virtual std::unique_ptr<PreparedEntry> prepare(const Artifact& artifact, size_t entry) = 0;
  /// Runs every dispatch in order with the call's batch B and sequence T.
  virtual void run(const PreparedEntry& entry, const Bindings& bindings, int64_t B, int64_t T) = 0;

  /// While enabled, each run records per-dispatch times (off by default: it
  /// costs a clock read or timestamp query around every dispatch).
  virtual void setProfiling(bool enabled) { profiling_ = enabled; }
  bool profiling() const { return profiling_; }
  /// The dispatch times of the last run made while profiling, in dispatch order.
  const std::vector<DispatchTiming>& lastProfile() const { return profile_; }

protected:
  bool profiling_ = false;
  std::vector<DispatchTiming> profile_;
};

/// "cpu", "vulkan", "vulkan:N", "vulkan:<name substring>", "cuda" (GPU 0) or
/// "cuda:N" ("vulkan" in a build without the Vulkan headers is refused with
/// "not available in this build").
std::unique_ptr<Device> createDevice(const std::string& spec);

}  // namespace lathe::runtime
