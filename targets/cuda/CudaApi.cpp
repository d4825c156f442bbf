#include "CudaApi.h"

#include <dlfcn.h>

#include "Error.h"

namespace lathe::runtime::cu {

constexpr const char* kDriverLibrary = "libcuda.so.1";

Api::Api() {
  library_ = dlopen(kDriverLibrary, RTLD_NOW | RTLD_LOCAL);
  if (library_ == nullptr) {
    const char* reason = dlerror();
    throw Error(LATHE_ERROR_UNSUPPORTED, std::string("no CUDA driver (") + kDriverLibrary + " not found): " +
                                             (reason ? reason : "dlopen failed") +
                                             "; install the NVIDIA driver to run on a CUDA GPU");
  }
#define LATHE_CU_LOAD(name, symbol, type)                                                               \
  name = reinterpret_cast<std::add_pointer_t<type>>(dlsym(library_, symbol));                                             \
  if (name == nullptr) {                                                                                \
    dlclose(library_);                                                                                  \
    throw Error(LATHE_ERROR_UNSUPPORTED, std::string("the CUDA driver ") + kDriverLibrary + " lacks " symbol \
                                         " (driver too old; CUDA 11.4 or newer is needed)");           \
  }
  LATHE_CU_FUNCTIONS(LATHE_CU_LOAD)
#undef LATHE_CU_LOAD
}

Api::~Api() { dlclose(library_); }

std::string resultText(const Api& api, CUresult result) {
  const char* name = nullptr;
  const char* description = nullptr;
  if (api.cuGetErrorName(result, &name) != CUDA_SUCCESS || name == nullptr) {
    return "CUresult " + std::to_string(result);
  }
  api.cuGetErrorString(result, &description);
  return description ? std::string(name) + " (" + description + ")" : std::string(name);
}

void check(const Api& api, CUresult result, const std::string& what) {
  if (result == CUDA_SUCCESS) return;
  throw Error(result == CUDA_ERROR_OUT_OF_MEMORY ? LATHE_ERROR_OUT_OF_MEMORY : LATHE_ERROR_INTERNAL,
              "cuda: " + what + ": " + resultText(api, result));
}

}  // namespace lathe::runtime::cu
