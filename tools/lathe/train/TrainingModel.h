// What the training driver needs from a model: the compiled training entry
// points and whole-state access. SessionModel runs a --train artifact;
// tests substitute small analytic models.
#pragma once

#include "DataLoader.h"

#include "lathe/lathe.hpp"

#include <array>
#include <string>
#include <vector>

namespace lathe::train {

/// optimizer_step's input: [lr, beta1, beta2, eps, weight_decay, clip, grad_scale, step].
using OptimizerHyper = std::array<float, 8>;

class TrainingModel {
public:
  virtual ~TrainingModel() = default;
  virtual std::vector<StateInfo> states() const = 0;
  virtual void readState(const std::string& name, void* dst, size_t bytes) const = 0;
  virtual void writeState(const std::string& name, const void* src, size_t bytes) = 0;
  /// Forward + loss + backward; gradients accumulate in the grad states. Returns the loss.
  virtual float microStep(const Batch& batch) = 0;
  /// AdamW on the accumulated gradients, which it then zeroes. Returns the gradient norm.
  virtual float optimizerStep(const OptimizerHyper& hyper) = 0;
  /// Loss without changing any state.
  virtual float evalLoss(const Batch& batch) = 0;
  /// The canonical model description (frontend specToJson), to match checkpoints.
  virtual std::string modelJson() const = 0;
  /// The largest batch (rows) one call accepts.
  virtual int64_t maxBatch() const = 0;
  virtual int64_t maxSeq() const = 0;
};

/// The entry points train_micro_step, optimizer_step and eval_loss of an artifact compiled with --train.
class SessionModel : public TrainingModel {
public:
  /// Throws std::runtime_error naming what is missing when the artifact was not compiled with --train.
  SessionModel(const Artifact& artifact, const std::string& device);

  std::vector<StateInfo> states() const override { return artifact_.states(); }
  void readState(const std::string& name, void* dst, size_t bytes) const override {
    session_.readState(name, dst, bytes);
  }
  void writeState(const std::string& name, const void* src, size_t bytes) override {
    session_.writeState(name, src, bytes);
  }
  float microStep(const Batch& batch) override;
  float optimizerStep(const OptimizerHyper& hyper) override;
  float evalLoss(const Batch& batch) override;
  std::string modelJson() const override { return artifact_.modelJson(); }
  int64_t maxBatch() const override { return artifact_.maxBatch(); }
  int64_t maxSeq() const override { return artifact_.maxSeq(); }
  Session& session() { return session_; }

private:
  float runLoss(const std::string& entry, const Batch& batch);

  Artifact artifact_;
  Session session_;
};

}  // namespace lathe::train
