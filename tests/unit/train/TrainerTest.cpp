// The training loop on FakeModel: accumulation, resume == uninterrupted,
// NaN stops with the last checkpoint intact, metrics lines.
#include "FakeModel.h"
#include "Trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace lathe::train::test {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string freshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/trainer_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TrainOptions smallRun(const std::string& dir) {
  TrainOptions o;
  o.steps = 12;
  o.batch = 3;
  o.seq = 5;
  o.accum = 2;
  o.schedule = {ScheduleKind::Cosine, 0.2, 3, 12, 0.1};
  o.weight_decay = 0.01;
  o.seed = 42;
  o.eval_every = 4;
  o.checkpoint_dir = dir + "/ckpt";
  o.checkpoint_every = 5;
  o.log_path = dir + "/metrics.jsonl";
  return o;
}

std::vector<float> losses(const TrainResult& result) {
  std::vector<float> values;
  for (const StepRecord& r : result.steps) values.push_back(r.loss);
  return values;
}

std::vector<nlohmann::json> logLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(Trainer, LossFallsAndMetricsAreLogged) {
  const std::string dir = freshDir("metrics");
  const TokenStream data = TokenStream::fromTokens(fakeTokens(2000));
  FakeModel model;
  Trainer trainer(model, data, smallRun(dir));
  const float before = trainer.validationLoss();
  const TrainResult result = trainer.run();
  ASSERT_EQ(result.steps.size(), 12u);
  EXPECT_EQ(model.optimizer_steps, 12);
  ASSERT_TRUE(result.steps.back().val_loss.has_value());
  EXPECT_LT(*result.steps.back().val_loss, 0.7f * before) << "before " << before;
  std::cout << "validation loss " << before << " -> " << *result.steps.back().val_loss << "\n";
  const std::vector<nlohmann::json> lines = logLines(dir + "/metrics.jsonl");
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(lines[0]["step"], 1);
  EXPECT_DOUBLE_EQ(lines[0]["lr"].get<double>(), 0.2 / 3);
  EXPECT_EQ(lines[0]["tokens"], 2 * 3 * 5);
  EXPECT_FALSE(lines[2].contains("val_loss"));
  EXPECT_TRUE(lines[3].contains("val_loss"));
  EXPECT_TRUE(lines[11].contains("val_loss"));
  EXPECT_EQ(lines[5]["loss"].get<float>(), result.steps[5].loss);
}

TEST(Trainer, AccumulatedMicroBatchesAverageTheirLossesAndGradients) {
  // K micro-batches of B rows with grad_scale 1/K equal one step over the K*B rows (sequential data).
  const std::string dir = freshDir("accum");
  const TokenStream data = TokenStream::fromTokens(fakeTokens(3000));
  TrainOptions accumulated = smallRun(dir);
  accumulated.shuffle = false;
  accumulated.checkpoint_dir.clear();
  accumulated.log_path.clear();
  accumulated.val_fraction = 0.0;
  accumulated.batch = 2;
  accumulated.accum = 3;
  TrainOptions whole = accumulated;
  whole.batch = 6;
  whole.accum = 1;
  FakeModel a, b;
  const TrainResult ra = Trainer(a, data, accumulated).run(), rb = Trainer(b, data, whole).run();
  for (size_t i = 0; i < ra.steps.size(); ++i) {
    EXPECT_NEAR(ra.steps[i].loss, rb.steps[i].loss, 1e-6f) << "step " << i + 1;
    EXPECT_NEAR(ra.steps[i].grad_norm, rb.steps[i].grad_norm, 1e-6f) << "step " << i + 1;
  }
}

TEST(Trainer, ResumeEqualsAnUninterruptedRun) {
  const TokenStream data = TokenStream::fromTokens(fakeTokens(2000));
  const std::string whole_dir = freshDir("whole"), split_dir = freshDir("split");
  FakeModel whole;
  const TrainResult uninterrupted = Trainer(whole, data, smallRun(whole_dir)).run();

  // Crash after step 7: the checkpoint holds step 5, and the log has lines through 7.
  struct Crash {};
  FakeModel first;
  TrainHooks crash;
  crash.on_step = [](const StepRecord& r, const TrainResult&) {
    if (r.step == 7) throw Crash{};
  };
  EXPECT_THROW(Trainer(first, data, smallRun(split_dir)).run(crash), Crash);
  EXPECT_EQ(loadCheckpoint(split_dir + "/ckpt").step, 5);

  TrainOptions resumed = smallRun(split_dir);
  resumed.resume = true;
  FakeModel second;
  const TrainResult rest = Trainer(second, data, resumed).run();
  EXPECT_EQ(rest.first_step, 6);
  const std::vector<float> all = losses(uninterrupted), tail = losses(rest);
  EXPECT_EQ(std::vector<float>(all.begin() + 5, all.end()), tail) << "the loss sequence must be bitwise identical";
  std::vector<float> w_whole(FakeModel::kVocab), w_resumed(FakeModel::kVocab);
  whole.readState("param.w", w_whole.data(), w_whole.size() * sizeof(float));
  second.readState("param.w", w_resumed.data(), w_resumed.size() * sizeof(float));
  EXPECT_EQ(w_whole, w_resumed);
  const std::vector<nlohmann::json> lines = logLines(split_dir + "/metrics.jsonl");
  ASSERT_EQ(lines.size(), 12u) << "lines after the checkpoint's step are replaced, not repeated";
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i]["step"], static_cast<int>(i + 1));
}

TEST(Trainer, ResumeWithDifferentDataSettingsIsRefused) {
  const TokenStream data = TokenStream::fromTokens(fakeTokens(2000));
  const std::string dir = freshDir("mismatch");
  FakeModel model;
  Trainer(model, data, smallRun(dir)).run();
  TrainOptions other = smallRun(dir);
  other.resume = true;
  other.batch = 4;
  other.steps = 20;
  FakeModel fresh;
  EXPECT_THAT([&] { Trainer(fresh, data, other).run(); },
              ::testing::ThrowsMessage<CheckpointError>(HasSubstr("differ from this run's")));
}

TEST(Trainer, NonFiniteLossStopsWithTheLastCheckpointIntact) {
  // Sequential batches of 3 x 5 with accum 2 read 30 tokens per step; the poison at token 250 falls in step 9.
  std::vector<int32_t> tokens = fakeTokens(2000, /*avoid=*/15);
  tokens[250] = 15;
  const TokenStream data = TokenStream::fromTokens(tokens);
  const std::string dir = freshDir("nan");
  TrainOptions o = smallRun(dir);
  o.shuffle = false;
  o.checkpoint_every = 2;
  FakeModel model(/*poison=*/15);
  try {
    Trainer(model, data, o).run();
    FAIL() << "expected DivergedError";
  } catch (const DivergedError& e) {
    EXPECT_THAT(e.what(), HasSubstr("step 9: the loss is nan (micro-batch 1 of 2)"));
  }
  EXPECT_EQ(model.optimizer_steps, 8) << "no update after the bad loss";
  const Checkpoint last = loadCheckpoint(o.checkpoint_dir);
  EXPECT_EQ(last.step, 8);
  const std::vector<nlohmann::json> lines = logLines(o.log_path);
  EXPECT_EQ(lines.back()["step"], 9);
  EXPECT_EQ(lines.back()["error"], "loss is nan");
}

TEST(Trainer, BatchesLargerThanTheArtifactAreRefused) {
  const TokenStream data = TokenStream::fromTokens(fakeTokens(2000));
  TrainOptions o = smallRun(freshDir("too_big"));
  o.seq = 64;
  FakeModel model;
  EXPECT_THAT([&] { Trainer(model, data, o); },
              ::testing::ThrowsMessage<DataError>(HasSubstr("exceeds the artifact's max batch 8 / max seq 32")));
}

}  // namespace
}  // namespace lathe::train::test
