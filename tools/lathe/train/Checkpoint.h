// Training checkpoints: one safetensors file, DIR/checkpoint.safetensors.
//
// Tensors: every parameter and optimizer-moment state of the session under
// its state name (param.<w>, adam.m.<w>, adam.v.<w>), F32. Gradients are zero
// between steps and are not stored. The "__metadata__" map (string values)
// holds:
//   format "lathe-checkpoint", version "1",
//   step (optimizer steps done), data_rng + data_batches (the loader position),
//   crc32 (hex, of the whole data section), model_json (the model
//   description), run (JSON: the options a resume must share).
// Writing is atomic: a temporary file in DIR, fsync, rename, fsync of DIR, so
// a crash leaves the previous checkpoint whole. Loading checks the header,
// offsets, sizes, the checksum, and that the states match the session's.
#pragma once

#include "DataLoader.h"
#include "TrainingModel.h"

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace lathe::train {

/// A checkpoint that is missing, corrupt, truncated or does not fit the model.
class CheckpointError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct CheckpointTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct Checkpoint {
  int64_t step = 0;
  LoaderPosition data;
  std::string model_json;
  std::string run_json;  // options a resume must match
  std::map<std::string, CheckpointTensor> tensors;
};

/// The file inside a checkpoint directory.
std::string checkpointFile(const std::string& dir);

/// Reads the parameter and optimizer states of `model` into a checkpoint.
Checkpoint captureCheckpoint(const TrainingModel& model, int64_t step, const LoaderPosition& data,
                             const std::string& run_json);
/// Writes DIR/checkpoint.safetensors atomically (creates DIR). For crash tests,
/// LATHE_TEST_CHECKPOINT_ABORT_AFTER_BYTES=N aborts the process after N bytes of the temporary file.
void saveCheckpoint(const std::string& dir, const Checkpoint& checkpoint);
/// Reads and fully checks a checkpoint file (or DIR/checkpoint.safetensors).
Checkpoint loadCheckpoint(const std::string& path);
/// Writes the checkpoint's states into `model` after checking that names and sizes match.
void restoreCheckpoint(TrainingModel& model, const Checkpoint& checkpoint, const std::string& path);

}  // namespace lathe::train
