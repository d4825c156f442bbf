// The CUDA driver API functions the device uses, loaded at run time from
// libcuda.so.1 so that the runtime library builds without the CUDA toolkit
// and has no link-time dependency on the driver. The few types and constants
// are declared here with the values of the driver API's cuda.h (ABI-stable).
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>

namespace lathe::runtime::cu {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st*;
using CUmodule = struct CUmod_st*;
using CUfunction = struct CUfunc_st*;
using CUstream = struct CUstream_st*;
using CUevent = struct CUevent_st*;
using CUgraph = struct CUgraph_st*;
using CUgraphExec = struct CUgraphExec_st*;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;
constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;

// CUdevice_attribute
constexpr int CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1;
constexpr int CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5;  // Y = 6, Z = 7
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
// CUfunction_attribute
constexpr int CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0;
constexpr int CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1;
constexpr int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
// CUjit_option
constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr unsigned CU_STREAM_NON_BLOCKING = 1;
constexpr unsigned CU_EVENT_DEFAULT = 0;
constexpr int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;

// name, exported symbol (the versioned one cuda.h maps the name to), function type.
#define LATHE_CU_FUNCTIONS(X)                                                                                       \
  X(cuInit, "cuInit", CUresult(unsigned))                                                                       \
  X(cuDriverGetVersion, "cuDriverGetVersion", CUresult(int*))                                                   \
  X(cuGetErrorName, "cuGetErrorName", CUresult(CUresult, const char**))                                         \
  X(cuGetErrorString, "cuGetErrorString", CUresult(CUresult, const char**))                                     \
  X(cuDeviceGetCount, "cuDeviceGetCount", CUresult(int*))                                                       \
  X(cuDeviceGet, "cuDeviceGet", CUresult(CUdevice*, int))                                                       \
  X(cuDeviceGetName, "cuDeviceGetName", CUresult(char*, int, CUdevice))                                         \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute", CUresult(int*, int, CUdevice))                                \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", CUresult(CUcontext*, CUdevice))                       \
  X(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", CUresult(CUdevice))                              \
  X(cuCtxPushCurrent, "cuCtxPushCurrent_v2", CUresult(CUcontext))                                               \
  X(cuCtxPopCurrent, "cuCtxPopCurrent_v2", CUresult(CUcontext*))                                               \
  X(cuMemAlloc, "cuMemAlloc_v2", CUresult(CUdeviceptr*, size_t))                                                \
  X(cuMemFree, "cuMemFree_v2", CUresult(CUdeviceptr))                                                           \
  X(cuMemAllocHost, "cuMemAllocHost_v2", CUresult(void**, size_t))                                              \
  X(cuMemFreeHost, "cuMemFreeHost", CUresult(void*))                                                            \
  X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", CUresult(CUdeviceptr, const void*, size_t, CUstream))           \
  X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", CUresult(void*, CUdeviceptr, size_t, CUstream))                 \
  X(cuMemsetD8Async, "cuMemsetD8Async", CUresult(CUdeviceptr, unsigned char, size_t, CUstream))                 \
  X(cuStreamCreate, "cuStreamCreate", CUresult(CUstream*, unsigned))                                            \
  X(cuStreamDestroy, "cuStreamDestroy_v2", CUresult(CUstream))                                                  \
  X(cuStreamSynchronize, "cuStreamSynchronize", CUresult(CUstream))                                             \
  X(cuStreamBeginCapture, "cuStreamBeginCapture_v2", CUresult(CUstream, int))                                   \
  X(cuStreamEndCapture, "cuStreamEndCapture", CUresult(CUstream, CUgraph*))                                     \
  X(cuGraphInstantiate, "cuGraphInstantiateWithFlags", CUresult(CUgraphExec*, CUgraph, unsigned long long))    \
  X(cuGraphLaunch, "cuGraphLaunch", CUresult(CUgraphExec, CUstream))                                            \
  X(cuGraphExecDestroy, "cuGraphExecDestroy", CUresult(CUgraphExec))                                            \
  X(cuGraphDestroy, "cuGraphDestroy", CUresult(CUgraph))                                                        \
  X(cuEventCreate, "cuEventCreate", CUresult(CUevent*, unsigned))                                               \
  X(cuEventDestroy, "cuEventDestroy_v2", CUresult(CUevent))                                                     \
  X(cuEventRecord, "cuEventRecord", CUresult(CUevent, CUstream))                                                \
  X(cuEventSynchronize, "cuEventSynchronize", CUresult(CUevent))                                                \
  X(cuEventElapsedTime, "cuEventElapsedTime", CUresult(float*, CUevent, CUevent))                               \
  X(cuModuleLoadDataEx, "cuModuleLoadDataEx", CUresult(CUmodule*, const void*, unsigned, int*, void**))         \
  X(cuModuleUnload, "cuModuleUnload", CUresult(CUmodule))                                                       \
  X(cuModuleGetFunction, "cuModuleGetFunction", CUresult(CUfunction*, CUmodule, const char*))                   \
  X(cuFuncGetAttribute, "cuFuncGetAttribute", CUresult(int*, int, CUfunction))                                  \
  X(cuFuncSetAttribute, "cuFuncSetAttribute", CUresult(CUfunction, int, int))                                   \
  X(cuLaunchKernel, "cuLaunchKernel",                                                                               \
    CUresult(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void**, \
                 void**))

#define LATHE_CU_DECLARE(name, symbol, type) std::add_pointer_t<type> name = nullptr;

/// The driver's entry points; loading fails with a clear error on machines
/// without the driver or with a driver too old for one of them.
struct Api {
  LATHE_CU_FUNCTIONS(LATHE_CU_DECLARE)

  /// Opens libcuda.so.1 and looks up every function; throws
  /// Error(LATHE_ERROR_UNSUPPORTED) "no CUDA driver (libcuda.so.1 not found): ..." without it.
  Api();
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

private:
  void* library_ = nullptr;
};

#undef LATHE_CU_DECLARE

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)", from the driver.
std::string resultText(const Api& api, CUresult result);

/// Throws Error (LATHE_ERROR_OUT_OF_MEMORY for CUDA_ERROR_OUT_OF_MEMORY, else
/// LATHE_ERROR_INTERNAL) "cuda: <what>: <result text>" unless result is CUDA_SUCCESS.
void check(const Api& api, CUresult result, const std::string& what);

}  // namespace lathe::runtime::cu
