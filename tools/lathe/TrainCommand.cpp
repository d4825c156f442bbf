// lathe train MODEL_OR_ARTIFACT --data FILE --steps N --batch B --seq T --lr LR [...]
// Trains the parameters of a --train artifact (compiling a model file first),
// with a live progress line, JSON-lines metrics, checkpoints and a loss plot.
#include "Commands.h"

#include "Plot.h"
#include "Trainer.h"
#include "lathe/frontend/Frontend.h"

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <map>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

namespace lathe::tool {
namespace {

struct TrainCommandOptions {
  std::string model;
  std::string data;
  std::string tokenizer;
  std::string device = "cpu";
  std::string schedule = "cosine";
  double lr = 3e-4;
  std::string dump_grads;
  std::string plot;
  uint64_t init_seed = 0;  // random weights of a model file
  train::TrainOptions train;
};

bool endsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The artifact to train: the file itself, or a model compiled with --train next to the checkpoint/run.
Artifact openTrainingArtifact(const TrainCommandOptions& o) {
  if (endsWith(o.model, ".lathe")) return Artifact(o.model);
  CompileRequest request;
  request.model = o.model;
  request.max_batch = o.train.batch;
  request.max_seq = o.train.seq;
  request.seed = o.init_seed;
  request.tokenizer = o.tokenizer;
  request.train = true;
  request.device = o.device;
  const std::vector<uint8_t> bytes = compileModel(request);
  return Artifact::fromMemory(bytes.data(), bytes.size());
}

train::TokenStream loadData(const TrainCommandOptions& o, const Artifact& artifact) {
  if (endsWith(o.data, ".npy")) return train::TokenStream::mapNpy(o.data);
  std::optional<Tokenizer> tokenizer;
  if (!o.tokenizer.empty()) tokenizer = openTokenizer(o.tokenizer);
  else {
    try {
      tokenizer = Tokenizer::fromArtifact(artifact);
    } catch (const RuntimeError& e) {
      if (e.status() != LATHE_ERROR_NOT_FOUND) throw;
      throw std::runtime_error("--data '" + o.data +
                               "' is text, but the artifact has no tokenizer: give --tokenizer DIR, or a 1-D int32 .npy "
                               "of token ids");
    }
  }
  return train::TokenStream::encodeText(o.data, *tokenizer);
}

/// Gradients under Hugging Face names when the model has that form, canonical names otherwise.
void dumpGradients(const std::string& path, const std::string& model_json,
                   const std::map<std::string, train::CheckpointTensor>& gradients) {
  Model model;
  model.spec = specFromJson(model_json, "artifact");
  for (const auto& [state, tensor] : gradients) {
    const std::string name = state.substr(std::string("grad.").size());
    Tensor t;
    t.name = name;
    t.shape = tensor.shape;
    t.data.resize(tensor.values.size() * sizeof(float));
    std::memcpy(t.data.data(), tensor.values.data(), t.data.size());
    model.weights.emplace(name, std::move(t));
  }
  const std::string staging = path + ".hf.tmp";
  try {
    exportModel(model, staging, "hf");
    std::filesystem::rename(staging + "/model.safetensors", path);
    std::filesystem::remove_all(staging);
    std::cerr << "lathe: wrote the first step's gradients to " << path << " (Hugging Face names)\n";
  } catch (const ModelError&) {
    std::filesystem::remove_all(staging);
    writeSafetensors(path, model.weights);
    std::cerr << "lathe: wrote the first step's gradients to " << path << " (canonical names)\n";
  }
}

std::string duration(double seconds) {
  char text[32];
  const long s = static_cast<long>(std::lround(seconds));
  if (s >= 3600) std::snprintf(text, sizeof(text), "%ldh%02ldm", s / 3600, s / 60 % 60);
  else std::snprintf(text, sizeof(text), "%ldm%02lds", s / 60, s % 60);
  return text;
}

/// One progress line: redrawn in place on a terminal, printed every print_every steps otherwise.
class Progress {
public:
  Progress(int64_t steps, int64_t print_every) : steps_(steps), print_every_(print_every), tty_(isatty(2) != 0) {}

  void update(const train::StepRecord& r, const train::TrainResult& result) {
    const int64_t done = r.step - result.first_step + 1;
    const double per_step = result.seconds / static_cast<double>(done);
    char line[256];
    std::snprintf(line, sizeof(line), "step %lld/%lld  loss %.4f%s  lr %.2e  grad norm %.3f  %.0f tok/s  ETA %s",
                  static_cast<long long>(r.step), static_cast<long long>(steps_), r.loss, valText(r).c_str(), r.lr,
                  r.grad_norm, result.tokens / std::max(result.seconds, 1e-9),
                  duration(per_step * static_cast<double>(steps_ - r.step)).c_str());
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s%s", line, r.step == steps_ || r.val_loss ? "\n" : "");
    } else if (r.step == result.first_step || r.step == steps_ || r.step % print_every_ == 0 || r.val_loss) {
      std::fprintf(stderr, "%s\n", line);
    }
  }

private:
  static std::string valText(const train::StepRecord& r) {
    if (!r.val_loss) return "";
    char text[32];
    std::snprintf(text, sizeof(text), "  val %.4f", *r.val_loss);
    return text;
  }
  int64_t steps_, print_every_;
  bool tty_;
};

void runTraining(TrainCommandOptions& o) {
  o.train.schedule.kind = o.schedule == "constant" ? train::ScheduleKind::Constant : train::ScheduleKind::Cosine;
  o.train.schedule.lr = o.lr;
  o.train.schedule.steps = o.train.steps;
  const Artifact artifact = openTrainingArtifact(o);
  train::TokenStream data = loadData(o, artifact);
  train::SessionModel model(artifact, o.device);
  data.checkVocab(specFromJson(artifact.modelJson(), "artifact").vocab_size);
  train::Trainer trainer(model, data, o.train);
  std::cerr << "lathe: training on " << data.size() << " tokens of " << o.data << " (" << o.train.steps
            << " steps of " << o.train.accum << " x " << o.train.batch << " x " << o.train.seq << " tokens)\n";

  Progress progress(o.train.steps, o.train.print_every);
  train::TrainHooks hooks;
  hooks.on_step = [&](const train::StepRecord& r, const train::TrainResult& result) { progress.update(r, result); };
  if (!o.dump_grads.empty()) {
    hooks.on_first_gradients = [&](const std::map<std::string, train::CheckpointTensor>& gradients) {
      dumpGradients(o.dump_grads, artifact.modelJson(), gradients);
    };
  }
  train::TrainResult result;
  try {
    result = trainer.run(hooks);
  } catch (const train::DivergedError& e) {
    std::fprintf(stderr, "\n");
    std::string note = o.train.checkpoint_dir.empty()
                           ? ""
                           : "; the last checkpoint in '" + o.train.checkpoint_dir + "' is intact";
    throw std::runtime_error(std::string(e.what()) + note);
  }
  if (!o.plot.empty()) {
    train::LossCurves curves;
    if (!o.train.log_path.empty()) {
      curves = train::readMetrics(o.train.log_path);
    } else {
      for (const train::StepRecord& r : result.steps) {
        curves.train.push_back({static_cast<double>(r.step), r.loss});
        if (r.val_loss) curves.validation.push_back({static_cast<double>(r.step), *r.val_loss});
      }
    }
    train::plotLoss(curves, o.plot, "Training loss: " + std::filesystem::path(o.model).filename().string());
    std::cerr << "lathe: wrote " << o.plot << "\n";
  }
  std::cerr << "lathe: trained " << result.steps.size() << " steps in " << duration(result.seconds) << " ("
            << static_cast<long long>(result.tokens / std::max(result.seconds, 1e-9)) << " tokens/s)\n";
}

}  // namespace

void addTrainCommand(CLI::App& app) {
  auto o = std::make_shared<TrainCommandOptions>();
  train::TrainOptions& t = o->train;
  CLI::App* cmd = app.add_subcommand("train", "Train a model (file, directory, or --train artifact) on a token stream");
  cmd->add_option("model", o->model, "artifact compiled with --train (.lathe), or a model to compile with --train")
      ->required();
  cmd->add_option("--data", o->data, "text file (encoded with the tokenizer) or 1-D int32 .npy of token ids")
      ->required();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer for text data (default: the artifact's)");
  cmd->add_option("--device", o->device, "cpu")->capture_default_str();
  cmd->add_option("--steps", t.steps, "optimizer steps")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch", t.batch, "sequences per micro-batch (B)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--seq", t.seq, "tokens per sequence (T)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lr", o->lr, "peak learning rate")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--warmup", t.schedule.warmup, "linear warm-up steps")->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--schedule", o->schedule, "cosine (decay to min-lr-ratio x lr) or constant")
      ->check(CLI::IsMember({"cosine", "constant"}))->capture_default_str();
  cmd->add_option("--min-lr-ratio", t.schedule.min_lr_ratio, "cosine floor as a fraction of --lr")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--weight-decay", t.weight_decay, "AdamW decoupled weight decay (2-D non-embedding weights)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--beta1", t.beta1, "AdamW beta1")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--beta2", t.beta2, "AdamW beta2")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--eps", t.eps, "AdamW epsilon")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--clip", t.clip, "clip the global gradient norm to this (0: off)")->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--accum", t.accum, "micro-batches per optimizer step")->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--seed", t.seed, "seed of the batch order and of the dropout masks")->capture_default_str();
  cmd->add_option("--init-seed", o->init_seed, "seed for random weights when compiling a model file")
      ->capture_default_str();
  cmd->add_flag("!--no-shuffle", t.shuffle, "sequential batches: batch k reads tokens kBT ... (k+1)BT");
  cmd->add_option("--val-fraction", t.val_fraction, "held-out tail of the data for validation")
      ->check(CLI::Range(0.0, 0.9))->capture_default_str();
  cmd->add_option("--eval-every", t.eval_every, "validation loss every E steps (and at the end)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--eval-rows", t.eval_rows, "held-out sequences per validation")->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--checkpoint", t.checkpoint_dir, "directory for checkpoint.safetensors");
  cmd->add_option("--checkpoint-every", t.checkpoint_every, "save every N steps (and at the end)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--resume", t.resume, "continue from the checkpoint in --checkpoint");
  cmd->add_option("--log", t.log_path, "JSON-lines metrics file");
  cmd->add_option("--print-every", t.print_every, "progress line period when stderr is not a terminal")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--dump-grads", o->dump_grads, "write the first step's gradients (safetensors, Hugging Face names)");
  cmd->add_option("--plot", o->plot, "write a loss-curve PNG when done");
  cmd->callback([o] { runTraining(*o); });
}

}  // namespace lathe::tool
