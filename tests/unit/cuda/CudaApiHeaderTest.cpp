// CudaApi.h declares the driver API's types and constants itself (so the
// runtime builds without the toolkit); where the toolkit's cuda.h is found at
// build time, this checks every value against it. The exported symbol names
// are checked at run time by the cuda_stub_driver test, which loads them all.
#include <cuda.h>

#include <gtest/gtest.h>

#include "CudaApi.h"

namespace lathe::runtime::cu {
namespace {

static_assert(sizeof(CUdeviceptr) == sizeof(::CUdeviceptr), "CUdeviceptr");
static_assert(sizeof(CUdevice) == sizeof(::CUdevice), "CUdevice");
static_assert(CUDA_SUCCESS == ::CUDA_SUCCESS && CUDA_ERROR_OUT_OF_MEMORY == ::CUDA_ERROR_OUT_OF_MEMORY &&
              CUDA_ERROR_NO_DEVICE == ::CUDA_ERROR_NO_DEVICE, "CUresult values");
static_assert(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK == ::CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK &&
              CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X == ::CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X &&
              CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X + 1 == ::CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y &&
              CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X + 2 == ::CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z &&
              CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR == ::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR &&
              CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR == ::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR &&
              CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN ==
                  ::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
              "CUdevice_attribute values");
static_assert(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK == ::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK &&
              CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES == ::CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES &&
              CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES == ::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
              "CUfunction_attribute values");
static_assert(CU_JIT_ERROR_LOG_BUFFER == ::CU_JIT_ERROR_LOG_BUFFER &&
              CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES == ::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, "CUjit_option values");
static_assert(CU_STREAM_NON_BLOCKING == ::CU_STREAM_NON_BLOCKING && CU_EVENT_DEFAULT == ::CU_EVENT_DEFAULT &&
              CU_STREAM_CAPTURE_MODE_THREAD_LOCAL == ::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL, "flag values");

TEST(CudaApiHeader, MatchesTheToolkitsCudaH) { SUCCEED() << "checked at compile time against CUDA " << CUDA_VERSION; }

}  // namespace
}  // namespace lathe::runtime::cu
