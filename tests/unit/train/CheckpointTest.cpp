// Checkpoint files: round trip, corruption and truncation, a crash mid-save.
#include "Checkpoint.h"
#include "FakeModel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace lathe::train::test {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string freshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/ckpt_" + name;
  fs::remove_all(dir);
  return dir;
}

std::vector<float> stateOf(const TrainingModel& model, const std::string& name) {
  std::vector<float> values(FakeModel::kVocab);
  model.readState(name, values.data(), values.size() * sizeof(float));
  return values;
}

/// A model whose parameters and moments moved away from their start.
FakeModel trainedModel() {
  FakeModel model;
  Batch batch{2, 3, {1, 2, 3, 4, 5, 6}, {2, 3, 4, 5, 6, 7}};
  for (int i = 0; i < 3; ++i) {
    model.microStep(batch);
    model.optimizerStep({0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 0.0f, 1.0f, static_cast<float>(i + 1)});
  }
  return model;
}

std::string readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(Checkpoint, RoundTripRestoresStatesStepAndDataPosition) {
  const std::string dir = freshDir("round_trip");
  const FakeModel trained = trainedModel();
  saveCheckpoint(dir, captureCheckpoint(trained, 3, {0xDEADBEEFCAFEull, 17}, "{\"batch\":2}"));
  const Checkpoint loaded = loadCheckpoint(dir);
  EXPECT_EQ(loaded.step, 3);
  EXPECT_EQ(loaded.data.rng, 0xDEADBEEFCAFEull);
  EXPECT_EQ(loaded.data.batches, 17u);
  EXPECT_EQ(loaded.run_json, "{\"batch\":2}");
  EXPECT_EQ(loaded.tensors.size(), 2u) << "parameters and moments, no gradients";
  FakeModel fresh;
  ASSERT_NE(stateOf(fresh, "param.w"), stateOf(trained, "param.w"));
  restoreCheckpoint(fresh, loaded, dir);
  EXPECT_EQ(stateOf(fresh, "param.w"), stateOf(trained, "param.w"));
  EXPECT_EQ(stateOf(fresh, "adam.m.w"), stateOf(trained, "adam.m.w"));
  EXPECT_FALSE(fs::exists(dir + "/checkpoint.safetensors.tmp." + std::to_string(getpid())));
}

TEST(Checkpoint, FlippedDataByteFailsTheChecksum) {
  const std::string dir = freshDir("corrupt");
  saveCheckpoint(dir, captureCheckpoint(trainedModel(), 3, {1, 2}, "{}"));
  const std::string path = checkpointFile(dir);
  std::string bytes = readBytes(path);
  bytes[bytes.size() - 5] ^= 0x40;
  writeBytes(path, bytes);
  EXPECT_THAT([&] { loadCheckpoint(dir); },
              ::testing::ThrowsMessage<CheckpointError>(HasSubstr("checksum mismatch")));
}

TEST(Checkpoint, TruncatedOrGarbageFilesAreRefusedClearly) {
  const std::string dir = freshDir("truncated");
  saveCheckpoint(dir, captureCheckpoint(trainedModel(), 3, {1, 2}, "{}"));
  const std::string path = checkpointFile(dir);
  const std::string bytes = readBytes(path);
  writeBytes(path, bytes.substr(0, bytes.size() - 16));
  EXPECT_THAT([&] { loadCheckpoint(path); }, ::testing::ThrowsMessage<CheckpointError>(HasSubstr("truncated")));
  writeBytes(path, bytes.substr(0, 100));
  EXPECT_THAT([&] { loadCheckpoint(path); }, ::testing::ThrowsMessage<CheckpointError>(HasSubstr("truncated")));
  writeBytes(path, bytes.substr(0, 4));
  EXPECT_THAT([&] { loadCheckpoint(path); }, ::testing::ThrowsMessage<CheckpointError>(HasSubstr("truncated")));
  std::string garbage = bytes;
  garbage[9] = '!';
  writeBytes(path, garbage);
  EXPECT_THAT([&] { loadCheckpoint(path); }, ::testing::ThrowsMessage<CheckpointError>(HasSubstr("not valid JSON")));
  EXPECT_THAT([&] { loadCheckpoint(freshDir("missing")); },
              ::testing::ThrowsMessage<CheckpointError>(HasSubstr("cannot open checkpoint")));
}

TEST(Checkpoint, StatesOfAnotherModelAreRefused) {
  const std::string dir = freshDir("other_model");
  Checkpoint checkpoint = captureCheckpoint(trainedModel(), 3, {1, 2}, "{}");
  checkpoint.tensors.erase("adam.m.w");
  saveCheckpoint(dir, checkpoint);
  FakeModel model;
  EXPECT_THAT([&] { restoreCheckpoint(model, loadCheckpoint(dir), dir); },
              ::testing::ThrowsMessage<CheckpointError>(HasSubstr("no tensor for state 'adam.m.w'")));
  checkpoint = captureCheckpoint(trainedModel(), 3, {1, 2}, "{}");
  checkpoint.model_json = "{\"other\": 1}";
  EXPECT_THAT([&] { restoreCheckpoint(model, checkpoint, dir); },
              ::testing::ThrowsMessage<CheckpointError>(HasSubstr("different model")));
}

TEST(CheckpointDeathTest, CrashDuringSaveLeavesThePreviousCheckpoint) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string dir = freshDir("crash");
  const FakeModel before = trainedModel();
  saveCheckpoint(dir, captureCheckpoint(before, 3, {1, 2}, "{}"));
  const size_t size = fs::file_size(checkpointFile(dir));
  FakeModel later = trainedModel();
  later.microStep({1, 2, {9, 9}, {3, 4}});
  later.optimizerStep({0.5f, 0.9f, 0.999f, 1e-8f, 0.0f, 0.0f, 1.0f, 4.0f});
  const Checkpoint next = captureCheckpoint(later, 4, {5, 6}, "{}");
  EXPECT_DEATH(
      {
        setenv("LATHE_TEST_CHECKPOINT_ABORT_AFTER_BYTES", std::to_string(size / 2).c_str(), 1);
        saveCheckpoint(dir, next);
      },
      "");
  bool found_partial = false;
  for (const auto& entry : fs::directory_iterator(dir))
    found_partial |= entry.path().filename().string().find(".tmp.") != std::string::npos;
  EXPECT_TRUE(found_partial) << "the child should have died with a half-written temporary file";
  const Checkpoint survivor = loadCheckpoint(dir);
  EXPECT_EQ(survivor.step, 3);
  FakeModel restored;
  restoreCheckpoint(restored, survivor, dir);
  EXPECT_EQ(stateOf(restored, "param.w"), stateOf(before, "param.w"));
}

}  // namespace
}  // namespace lathe::train::test
