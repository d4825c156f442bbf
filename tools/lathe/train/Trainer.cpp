#include "Trainer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <sstream>

namespace lathe::train {
namespace {

using Clock = std::chrono::steady_clock;

std::string notFinite(float value) { return std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf"); }

}  // namespace

Trainer::Trainer(TrainingModel& model, const TokenStream& data, const TrainOptions& options)
    : model_(model),
      data_(data),
      options_(options),
      split_(splitStream(data.size(), options.val_fraction)),
      loader_(data, split_.train, options.batch, options.seq, options.shuffle, options.seed) {
  if (options.steps < 1) throw DataError("--steps must be at least 1");
  if (options.accum < 1) throw DataError("--accum must be at least 1");
  if (options.batch > model.maxBatch() || options.seq > model.maxSeq())
    throw DataError("--batch " + std::to_string(options.batch) + " --seq " + std::to_string(options.seq) +
                    " exceeds the artifact's max batch " + std::to_string(model.maxBatch()) + " / max seq " +
                    std::to_string(model.maxSeq()) + "; compile with larger --max-batch / --max-seq");
  if (options.resume && options.checkpoint_dir.empty()) throw DataError("--resume needs --checkpoint DIR");
  if (split_.validation.size() > 0)
    validation_ = validationBatches(data, split_.validation, options.batch, options.seq, options.eval_rows);
}

std::string Trainer::runJson() const {
  nlohmann::ordered_json run = {{"batch", options_.batch},          {"seq", options_.seq},
                                {"accum", options_.accum},          {"seed", options_.seed},
                                {"shuffle", options_.shuffle},      {"val_fraction", options_.val_fraction},
                                {"data_tokens", data_.size()}};
  return run.dump();
}

float Trainer::validationLoss() {
  double weighted = 0.0;
  int64_t rows = 0;
  for (const Batch& batch : validation_) {
    weighted += static_cast<double>(model_.evalLoss(batch)) * static_cast<double>(batch.rows);
    rows += batch.rows;
  }
  return rows == 0 ? 0.0f : static_cast<float>(weighted / static_cast<double>(rows));
}

int64_t Trainer::resume() {
  const std::string path = checkpointFile(options_.checkpoint_dir);
  const Checkpoint checkpoint = loadCheckpoint(path);
  if (checkpoint.run_json != runJson())
    throw CheckpointError(path + ": the checkpoint's run settings " + checkpoint.run_json +
                          " differ from this run's " + runJson() + "; resume with the same data and options");
  if (checkpoint.step > options_.steps)
    throw CheckpointError(path + ": the checkpoint is at step " + std::to_string(checkpoint.step) +
                          ", beyond --steps " + std::to_string(options_.steps));
  restoreCheckpoint(model_, checkpoint, path);
  loader_.setPosition(checkpoint.data);
  return checkpoint.step;
}

void Trainer::save(int64_t step) {
  saveCheckpoint(options_.checkpoint_dir, captureCheckpoint(model_, step, loader_.position(), runJson()));
}

std::string metricsThrough(const std::string& path, int64_t step) {
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_discarded() && record.contains("step") && record["step"].is_number_integer() &&
        record["step"].get<int64_t>() <= step)
      kept += line + "\n";
  }
  return kept;
}

void Trainer::openLog(int64_t keep_through_step) {
  if (options_.log_path.empty()) return;
  const std::string kept = keep_through_step > 0 ? metricsThrough(options_.log_path, keep_through_step) : "";
  log_.open(options_.log_path, std::ios::trunc);
  if (!log_) throw DataError("cannot write the metrics log '" + options_.log_path + "'");
  log_ << kept;
  log_.flush();
}

void Trainer::logLine(const std::string& line) {
  if (!log_.is_open()) return;
  log_ << line << "\n";
  log_.flush();
}

float Trainer::accumulateMicroBatches(int64_t step) {
  double loss_sum = 0.0;
  for (int64_t k = 0; k < options_.accum; ++k) {
    const float loss = model_.microStep(loader_.next());
    if (!std::isfinite(loss)) {
      logLine(nlohmann::json{{"step", step}, {"error", "loss is " + notFinite(loss)}}.dump());
      throw DivergedError("step " + std::to_string(step) + ": the loss is " + notFinite(loss) + " (micro-batch " +
                          std::to_string(k + 1) + " of " + std::to_string(options_.accum) + "); stopped");
    }
    loss_sum += loss;
  }
  return static_cast<float>(loss_sum / static_cast<double>(options_.accum));
}

std::map<std::string, CheckpointTensor> Trainer::scaledGradients() const {
  std::map<std::string, CheckpointTensor> gradients;
  for (const StateInfo& state : model_.states()) {
    if (state.kind != LATHE_STATE_GRADIENT) continue;
    CheckpointTensor tensor{state.shape, std::vector<float>(state.bytes / sizeof(float))};
    model_.readState(state.name, tensor.values.data(), state.bytes);
    for (float& value : tensor.values) value /= static_cast<float>(options_.accum);
    gradients.emplace(state.name, std::move(tensor));
  }
  return gradients;
}

OptimizerHyper Trainer::hyperFor(int64_t step, double lr) const {
  return {static_cast<float>(lr),
          static_cast<float>(options_.beta1),
          static_cast<float>(options_.beta2),
          static_cast<float>(options_.eps),
          static_cast<float>(options_.weight_decay),
          static_cast<float>(options_.clip),
          1.0f / static_cast<float>(options_.accum),
          static_cast<float>(step)};
}

TrainResult Trainer::run(const TrainHooks& hooks) {
  const int64_t done = options_.resume ? resume() : 0;
  openLog(done);
  TrainResult result;
  result.first_step = done + 1;
  const auto start = Clock::now();
  const int64_t step_tokens = options_.batch * options_.seq * options_.accum;
  for (int64_t step = done + 1; step <= options_.steps; ++step) {
    StepRecord record;
    record.step = step;
    record.loss = accumulateMicroBatches(step);
    if (step == 1 && hooks.on_first_gradients) hooks.on_first_gradients(scaledGradients());
    record.lr = options_.schedule.at(step);
    record.grad_norm = model_.optimizerStep(hyperFor(step, record.lr));
    if (!std::isfinite(record.grad_norm)) {
      logLine(nlohmann::json{{"step", step}, {"error", "grad_norm is " + notFinite(record.grad_norm)}}.dump());
      throw DivergedError("step " + std::to_string(step) + ": the gradient norm is " + notFinite(record.grad_norm) +
                          "; stopped");
    }
    result.tokens += step_tokens;
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    nlohmann::ordered_json line = {{"step", step},
                                   {"loss", record.loss},
                                   {"lr", record.lr},
                                   {"grad_norm", record.grad_norm},
                                   {"tokens", step * step_tokens},
                                   {"tokens_per_s", result.tokens / std::max(result.seconds, 1e-9)},
                                   {"elapsed_s", result.seconds}};
    const bool last = step == options_.steps;
    if (!validation_.empty() && ((options_.eval_every > 0 && step % options_.eval_every == 0) || last)) {
      record.val_loss = validationLoss();
      if (!std::isfinite(*record.val_loss))
        throw DivergedError("step " + std::to_string(step) + ": the validation loss is " + notFinite(*record.val_loss));
      line["val_loss"] = *record.val_loss;
    }
    logLine(line.dump());
    result.steps.push_back(record);
    if (!options_.checkpoint_dir.empty() &&
        ((options_.checkpoint_every > 0 && step % options_.checkpoint_every == 0) || last))
      save(step);
    if (hooks.on_step) hooks.on_step(record, result);
  }
  return result;
}

}  // namespace lathe::train
