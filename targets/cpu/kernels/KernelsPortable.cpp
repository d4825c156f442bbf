// The kernels compiled for the baseline target (no AVX-512 assumed).
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "Internal.h"
#include "TrainingInternal.h"
#include "ThreadPool.h"

#define LATHE_VEC_WIDTH 4
#define LATHE_ISA_NAME "portable"

namespace lathe::cpu::portable {
#include "KernelsImpl.inc"
#include "TrainingImpl.inc"
}  // namespace lathe::cpu::portable

const lathe::cpu::detail::KernelTable& lathe::cpu::detail::portableKernels() { return portable::kTable; }
const lathe::cpu::detail::TrainingKernelTable& lathe::cpu::detail::portableTrainingKernels() {
  return portable::kTrainingTable;
}
