// The kernels compiled for AVX-512 (see CMakeLists.txt for the flags).
#include <immintrin.h>

#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "Internal.h"
#include "TrainingInternal.h"
#include "ThreadPool.h"

#define LATHE_VEC_WIDTH 16
#define LATHE_USE_AVX512_INTRINSICS 1
#define LATHE_ISA_NAME "avx512"

namespace lathe::cpu::avx512 {
#include "KernelsImpl.inc"
#include "TrainingImpl.inc"
}  // namespace lathe::cpu::avx512

const lathe::cpu::detail::KernelTable& lathe::cpu::detail::avx512Kernels() { return avx512::kTable; }
const lathe::cpu::detail::TrainingKernelTable& lathe::cpu::detail::avx512TrainingKernels() {
  return avx512::kTrainingTable;
}
