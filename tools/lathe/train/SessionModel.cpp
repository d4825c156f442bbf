#include "TrainingModel.h"

#include <algorithm>
#include <stdexcept>

namespace lathe::train {

SessionModel::SessionModel(const Artifact& artifact, const std::string& device)
    : artifact_(artifact), session_(artifact, device) {
  const std::vector<std::string> entries = artifact.entryPoints();
  for (const char* needed : {"train_micro_step", "optimizer_step", "eval_loss"}) {
    if (std::find(entries.begin(), entries.end(), needed) == entries.end())
      throw std::runtime_error(std::string("the artifact has no '") + needed +
                               "' entry point; compile the model with `lathe compile --train`");
  }
}

float SessionModel::runLoss(const std::string& entry, const Batch& batch) {
  session_.setInput(entry, "tokens", {batch.rows, batch.seq}, batch.tokens);
  session_.setInput(entry, "targets", {batch.rows, batch.seq}, batch.targets);
  session_.run(entry);
  float loss = 0.0f;
  session_.readOutput(entry, "loss", &loss, sizeof(loss));
  return loss;
}

float SessionModel::microStep(const Batch& batch) { return runLoss("train_micro_step", batch); }

float SessionModel::evalLoss(const Batch& batch) { return runLoss("eval_loss", batch); }

float SessionModel::optimizerStep(const OptimizerHyper& hyper) {
  session_.setInput("optimizer_step", "hyper", LATHE_DTYPE_F32, {8}, hyper.data());
  session_.run("optimizer_step");
  float grad_norm = 0.0f;
  session_.readOutput("optimizer_step", "grad_norm", &grad_norm, sizeof(grad_norm));
  return grad_norm;
}

}  // namespace lathe::train
