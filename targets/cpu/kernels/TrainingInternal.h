// The per-ISA table of the training kernels (TrainingKernels.h), filled by
// TrainingImpl.inc in each kernel translation unit, as Internal.h's KernelTable.
#pragma once

#include <cstdint>

#include "Internal.h"
#include "TrainingKernels.h"

namespace lathe::cpu::detail {

struct TrainingKernelTable {
  const char* name;
  void (*biasBackward)(ThreadPool&, const float*, int64_t, float*, int64_t, int64_t);
  void (*layerNormForward)(ThreadPool&, const float*, const float*, const float*, float*, float*, float*, int64_t,
                           int64_t, float);
  void (*layerNormBackward)(ThreadPool&, const float*, const float*, const float*, const float*, const float*, float*,
                            float*, float*, int64_t, int64_t);
  void (*rmsNormForward)(ThreadPool&, const float*, const float*, float*, float*, int64_t, int64_t, float);
  void (*rmsNormBackward)(ThreadPool&, const float*, const float*, const float*, const float*, float*, float*, int64_t,
                          int64_t);
  void (*attentionForward)(ThreadPool&, const AttentionArgs&, float*);
  void (*attentionBackward)(ThreadPool&, const AttentionBackwardArgs&);
  void (*ropeBackward)(ThreadPool&, float*, int64_t, int64_t, int64_t, int64_t, float, int64_t);
  void (*unaryBackward)(ThreadPool&, Act, const float*, const float*, float*, int64_t);
  void (*swigluBackward)(ThreadPool&, const float*, const float*, const float*, float*, float*, int64_t);
  void (*mulBackward)(ThreadPool&, const float*, const float*, const float*, float*, float*, int64_t);
  void (*embeddingBackward)(ThreadPool&, const int32_t*, const float*, float*, int64_t, int64_t);
  void (*learnedPositionsBackward)(ThreadPool&, const float*, float*, int64_t, int64_t, int64_t, int64_t);
  void (*crossEntropyForward)(ThreadPool&, const CrossEntropyArgs&);
  void (*crossEntropyBackward)(ThreadPool&, const CrossEntropyArgs&, float);
  void (*crossEntropyForwardBackward)(ThreadPool&, const CrossEntropyArgs&, float);
  // bias1 = 1 - beta1^t and bias2 = 1 - beta2^t, computed once in double by the caller.
  void (*adamw)(ThreadPool&, const AdamWArgs&, double bias1, double bias2);
  double (*sumOfSquares)(ThreadPool&, const float*, int64_t);
};

const TrainingKernelTable& avx512TrainingKernels();
const TrainingKernelTable& portableTrainingKernels();
/// The build activeKernels() uses.
const TrainingKernelTable& activeTrainingKernels();

}  // namespace lathe::cpu::detail
