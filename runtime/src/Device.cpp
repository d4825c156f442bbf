#include "Device.h"

#include "CpuDevice.h"
#include "CudaDevice.h"
#include "Error.h"
#ifdef LATHE_HAVE_VULKAN
#include "VulkanDevice.h"
#endif

#include <cstdint>
#include <vector>

namespace lathe::runtime {

std::unique_ptr<Buffer> Device::importConstant(const void* data, size_t bytes) {
  std::unique_ptr<Buffer> buffer = allocate(bytes);
  upload(*buffer, data, bytes);
  return buffer;
}

void Device::zero(Buffer& buffer) {
  const std::vector<char> zeros(buffer.bytes(), 0);
  upload(buffer, zeros.data(), zeros.size());
}

namespace {

// "cuda:1" -> "cuda"; the index must be a plain non-negative number.
std::string deviceKind(const std::string& spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) return spec;
  const std::string index = spec.substr(colon + 1);
  if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos) {
    throw Error(LATHE_ERROR_INVALID_ARGUMENT, "bad device '" + spec + "': expected KIND or KIND:INDEX");
  }
  return spec.substr(0, colon);
}

// The N of "KIND:N" (0 without one); indices too long to parse are out of any range.
int64_t deviceIndex(const std::string& spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) return 0;
  const std::string index = spec.substr(colon + 1);
  return index.size() > 9 ? INT64_MAX : std::stoll(index);
}

}  // namespace

std::unique_ptr<Device> createDevice(const std::string& spec) {
#ifdef LATHE_HAVE_VULKAN
  // "vulkan", "vulkan:N" or "vulkan:<name substring>".
  if (spec == "vulkan") return makeVulkanDevice("");
  if (spec.rfind("vulkan:", 0) == 0) {
    const std::string selector = spec.substr(7);
    if (selector.empty()) {
      throw Error(LATHE_ERROR_INVALID_ARGUMENT, "bad device '" + spec + "': expected vulkan:INDEX or vulkan:NAME");
    }
    return makeVulkanDevice(selector);
  }
#endif
  const std::string kind = deviceKind(spec);
  if (kind == "cpu") {
    if (kind != spec) throw Error(LATHE_ERROR_INVALID_ARGUMENT, "bad device '" + spec + "': the cpu has no index");
    return makeCpuDevice();
  }
  // The CUDA backend needs no headers or libraries to build: always present.
  if (kind == "cuda") return makeCudaDevice(deviceIndex(spec), spec);
  if (kind == "vulkan") {
    throw Error(LATHE_ERROR_UNSUPPORTED, "device '" + kind + "' is not available in this build");
  }
  throw Error(LATHE_ERROR_INVALID_ARGUMENT, "unknown device '" + spec + "' (known: cpu, vulkan[:N], cuda[:N])");
}

}  // namespace lathe::runtime
