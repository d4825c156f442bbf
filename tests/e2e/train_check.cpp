// lathe-train-check: drives the training entry points of a `lathe compile
// --train` artifact through the runtime's Session, for test_train.py.
//
//   lathe-train-check grads ARTIFACT OUT [--seed S] TOKENS.npy TARGETS.npy [TOKENS.npy TARGETS.npy ...]
//       one train_micro_step per (tokens, targets) pair; writes OUT/losses.npy
//       and every gradient state as OUT/<state name>.npy. With dropout, pair i
//       runs with rng [S, i] (S = 0 by default).
//   lathe-train-check train ARTIFACT OUT TOKENS.npy TARGETS.npy HYPER.f32
//       TOKENS/TARGETS (steps, B, T), HYPER raw float32 (steps, 8): per step one
//       train_micro_step and one optimizer_step; writes OUT/losses.npy,
//       OUT/grad_norms.npy, OUT/eval_loss.npy (eval_loss on the first batch
//       after training) and every parameter state as OUT/<state name>.npy.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "Artifact.h"
#include "Npy.h"
#include "Session.h"

namespace {

using lathe::runtime::Session;

struct Batch {
  std::vector<int64_t> shape;  // (B, T)
  std::vector<int32_t> ids;
};

/// Splits a (steps, B, T) or (B, T) id array into per-step (B, T) batches.
std::vector<Batch> readBatches(const std::string& path) {
  lathe::npy::TokenArray array = lathe::npy::readTokenIds(path);
  if (array.shape.size() == 2) return {{array.shape, array.ids}};
  if (array.shape.size() != 3) throw std::runtime_error(path + ": expected a (B, T) or (steps, B, T) array");
  std::vector<Batch> batches;
  const size_t step_size = static_cast<size_t>(array.shape[1] * array.shape[2]);
  for (int64_t s = 0; s < array.shape[0]; ++s)
    batches.push_back({{array.shape[1], array.shape[2]},
                       {array.ids.begin() + s * step_size, array.ids.begin() + (s + 1) * step_size}});
  return batches;
}

/// HYPER.f32: steps x 8 raw little-endian float32 values, one row per optimizer step.
std::vector<std::vector<float>> readHyper(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error("cannot open " + path);
  std::vector<std::vector<float>> rows;
  std::vector<float> row(8);
  while (std::fread(row.data(), sizeof(float), row.size(), file) == row.size()) rows.push_back(row);
  const bool trailing = std::fgetc(file) != EOF;
  std::fclose(file);
  if (rows.empty() || trailing) throw std::runtime_error(path + ": expected a whole number of 8-float rows");
  return rows;
}

/// Sets train_micro_step's `rng` input [seed, step] when the model has dropout (the entry point takes it).
void setDropoutRng(Session& session, int32_t seed, int32_t step) {
  const lathe::fb::EntryPoint& entry =
      session.artifact().entryPoint(session.artifact().entryPointIndex("train_micro_step"));
  for (const lathe::fb::TensorSpec* input : *entry.inputs()) {
    if (input->name()->str() != "rng") continue;
    const int32_t rng[2] = {seed, step};
    session.setInput("train_micro_step", "rng", lathe::fb::DType::I32, {2}, rng);
  }
}

float runLoss(Session& session, const std::string& entry, const Batch& tokens, const Batch& targets) {
  session.setInput(entry, "tokens", lathe::fb::DType::I32, tokens.shape, tokens.ids.data());
  session.setInput(entry, "targets", lathe::fb::DType::I32, targets.shape, targets.ids.data());
  session.run(entry);
  float loss = 0;
  session.readOutput(entry, "loss", &loss, sizeof(loss));
  return loss;
}

void writeStates(const Session& session, lathe::fb::StateKind kind, const std::string& out) {
  const lathe::runtime::Artifact& artifact = session.artifact();
  for (size_t i = 0; i < artifact.stateCount(); ++i) {
    const lathe::fb::TensorSpec& spec = artifact.state(i);
    if (spec.kind() != kind) continue;
    std::vector<int64_t> shape;
    int64_t count = 1;
    for (const lathe::fb::Dim* dim : *spec.shape()) {
      shape.push_back(dim->coefficient());
      count *= dim->coefficient();
    }
    std::vector<float> data(static_cast<size_t>(count));
    session.readState(spec.name()->str(), data.data(), data.size() * sizeof(float));
    lathe::npy::writeFloat32(out + "/" + spec.name()->str() + ".npy", shape, data.data());
  }
}

void writeVector(const std::string& path, const std::vector<float>& values) {
  lathe::npy::writeFloat32(path, {static_cast<int64_t>(values.size())}, values.data());
}

int run(int argc, char** argv) {
  std::string device = "cpu";
  if (argc > 2 && std::string(argv[1]) == "--device") {
    device = argv[2];
    argc -= 2;
    argv += 2;
  }
  if (argc < 6) {
    std::fprintf(stderr, "usage: lathe-train-check [--device DEV] grads|train ARTIFACT OUT TOKENS.npy TARGETS.npy ...\n");
    return 2;
  }
  const std::string mode = argv[1], out = argv[3];
  Session session(lathe::runtime::Artifact::openFile(argv[2]), device);
  std::vector<float> losses;
  if (mode == "grads") {
    int first = 4;
    int32_t seed = 0;
    if (std::string(argv[4]) == "--seed") {
      seed = static_cast<int32_t>(std::stol(argv[5]));
      first = 6;
    }
    for (int i = first; i + 1 < argc; i += 2) {
      setDropoutRng(session, seed, static_cast<int32_t>(losses.size()));
      losses.push_back(runLoss(session, "train_micro_step", readBatches(argv[i])[0], readBatches(argv[i + 1])[0]));
    }
    writeVector(out + "/losses.npy", losses);
    writeStates(session, lathe::fb::StateKind::Gradient, out);
    return 0;
  }
  if (mode != "train" || argc != 7) throw std::runtime_error("unknown mode or argument count: " + mode);
  const std::vector<Batch> tokens = readBatches(argv[4]), targets = readBatches(argv[5]);
  const std::vector<std::vector<float>> hypers = readHyper(argv[6]);
  std::vector<float> norms;
  if (tokens.size() != hypers.size() || targets.size() != hypers.size())
    throw std::runtime_error("TOKENS, TARGETS and HYPER must have the same number of steps");
  for (size_t s = 0; s < hypers.size(); ++s) {
    setDropoutRng(session, 0, static_cast<int32_t>(s));
    losses.push_back(runLoss(session, "train_micro_step", tokens[s], targets[s]));
    session.setInput("optimizer_step", "hyper", lathe::fb::DType::F32, {8}, hypers[s].data());
    session.run("optimizer_step");
    float norm = 0;
    session.readOutput("optimizer_step", "grad_norm", &norm, sizeof(norm));
    norms.push_back(norm);
  }
  writeVector(out + "/losses.npy", losses);
  writeVector(out + "/grad_norms.npy", norms);
  writeVector(out + "/eval_loss.npy", {runLoss(session, "eval_loss", tokens[0], targets[0])});
  writeStates(session, lathe::fb::StateKind::Parameter, out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "lathe-train-check: %s\n", error.what());
    return 1;
  }
}
