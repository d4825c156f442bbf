// The training loop: K micro-batches per optimizer step, the LR schedule,
// periodic validation and checkpoints, JSON-lines metrics, and a clean stop
// on a non-finite loss or gradient norm.
#pragma once

#include "Checkpoint.h"
#include "DataLoader.h"
#include "Schedule.h"
#include "TrainingModel.h"

#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lathe::train {

struct TrainOptions {
  int64_t steps = 100;
  int64_t batch = 4;
  int64_t seq = 64;
  int64_t accum = 1;  // micro-batches per optimizer step
  Schedule schedule;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;
  double clip = 0.0;  // 0: no clipping
  uint64_t seed = 0;
  bool shuffle = true;
  double val_fraction = 0.1;
  int64_t eval_every = 0;  // 0: only at the end (when there is held-out data)
  int64_t eval_rows = 64;  // held-out sequences per validation
  std::string checkpoint_dir;
  int64_t checkpoint_every = 0;  // 0: only at the end
  bool resume = false;
  std::string log_path;  // JSON lines
  int64_t print_every = 10;  // progress lines when not on a terminal
};

/// A non-finite loss or gradient norm: the run stopped without saving.
class DivergedError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct StepRecord {
  int64_t step = 0;
  float loss = 0.0f;
  double lr = 0.0;
  float grad_norm = 0.0f;
  std::optional<float> val_loss;
};

struct TrainResult {
  int64_t first_step = 1;  // 1, or the resumed checkpoint's step + 1
  std::vector<StepRecord> steps;
  double seconds = 0.0;
  int64_t tokens = 0;
};

struct TrainHooks {
  /// The first step's summed gradients scaled by 1/K (grad state name -> values), before the optimizer.
  std::function<void(const std::map<std::string, CheckpointTensor>&)> on_first_gradients;
  /// Each finished step, e.g. for a progress line.
  std::function<void(const StepRecord&, const TrainResult&)> on_step;
};

class Trainer {
public:
  Trainer(TrainingModel& model, const TokenStream& data, const TrainOptions& options);
  /// Runs to options.steps. Throws DivergedError (after logging the bad step) on NaN/Inf.
  TrainResult run(const TrainHooks& hooks = {});
  /// Mean held-out loss over the validation batches (weighted by rows).
  float validationLoss();

private:
  std::string runJson() const;
  /// K micro-batches into the gradient states; their mean loss. Throws DivergedError on NaN/Inf.
  float accumulateMicroBatches(int64_t step);
  /// The gradient states times 1/K (what the optimizer sees).
  std::map<std::string, CheckpointTensor> scaledGradients() const;
  OptimizerHyper hyperFor(int64_t step, double lr) const;
  int64_t resume();
  void save(int64_t step);
  void openLog(int64_t keep_through_step);
  void logLine(const std::string& line);

  TrainingModel& model_;
  const TokenStream& data_;
  TrainOptions options_;
  Split split_;
  DataLoader loader_;
  std::vector<Batch> validation_;
  std::ofstream log_;
};

/// Keeps the lines of a metrics log whose "step" is at most `step` (for --resume).
std::string metricsThrough(const std::string& path, int64_t step);

}  // namespace lathe::train
