// Learning-rate schedule: linear warm-up over `warmup` steps, then cosine
// decay from `lr` to lr * min_lr_ratio at step `steps` (or constant).
#pragma once

#include <cstdint>

namespace lathe::train {

enum class ScheduleKind { Cosine, Constant };

struct Schedule {
  ScheduleKind kind = ScheduleKind::Cosine;
  double lr = 3e-4;
  int64_t warmup = 0;
  int64_t steps = 1;
  double min_lr_ratio = 0.1;

  /// The rate of optimizer step `step` (1-based).
  double at(int64_t step) const;
};

}  // namespace lathe::train
