#include "Schedule.h"

#include <algorithm>
#include <cmath>

namespace lathe::train {

double Schedule::at(int64_t step) const {
  if (warmup > 0 && step <= warmup) return lr * static_cast<double>(step) / static_cast<double>(warmup);
  if (kind == ScheduleKind::Constant || steps <= warmup) return lr;
  const double progress =
      std::clamp(static_cast<double>(step - warmup) / static_cast<double>(steps - warmup), 0.0, 1.0);
  const double floor = lr * min_lr_ratio;
  return floor + (lr - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace lathe::train
