// Token streams, the held-out split, batches and the LR schedule.
#include "DataLoader.h"
#include "Npy.h"
#include "Schedule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <numeric>

namespace lathe::train {
namespace {

using ::testing::HasSubstr;

/// Token i has value i, so a batch shows exactly which positions it read.
TokenStream positions(size_t count) {
  std::vector<int32_t> ids(count);
  std::iota(ids.begin(), ids.end(), 0);
  return TokenStream::fromTokens(std::move(ids));
}

std::string tempPath(const std::string& name) { return ::testing::TempDir() + "/" + name; }

TEST(DataLoader, SequentialBatchesFollowLlmCConvention) {
  const TokenStream stream = positions(100);
  DataLoader loader(stream, {0, 100}, /*batch=*/2, /*seq=*/3, /*shuffle=*/false, 0);
  const int64_t B = 2, T = 3;
  for (int64_t k = 0; k < 5; ++k) {
    const Batch batch = loader.next();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        EXPECT_EQ(batch.tokens[b * T + t], k * B * T + b * T + t) << "batch " << k;
        EXPECT_EQ(batch.targets[b * T + t], k * B * T + b * T + t + 1) << "batch " << k;
      }
  }
}

TEST(DataLoader, SequentialBatchesWrapAtTheEndOfTheSpan) {
  const TokenStream stream = positions(14);  // (14 - 1) / 6 = 2 whole batches
  DataLoader loader(stream, {0, 14}, 2, 3, false, 0);
  loader.next();
  EXPECT_EQ(loader.next().targets.back(), 12);
  EXPECT_EQ(loader.next().tokens.front(), 0);
}

TEST(DataLoader, ShuffledBatchesAreSeededAndResumable) {
  const TokenStream stream = positions(1000);
  DataLoader a(stream, {0, 1000}, 4, 8, true, 7), b(stream, {0, 1000}, 4, 8, true, 7), c(stream, {0, 1000}, 4, 8, true, 8);
  const Batch first_a = a.next(), first_b = b.next(), first_c = c.next();
  EXPECT_EQ(first_a.tokens, first_b.tokens);
  EXPECT_NE(first_a.tokens, first_c.tokens);
  const LoaderPosition saved = a.position();
  const Batch second = a.next();
  DataLoader resumed(stream, {0, 1000}, 4, 8, true, 99);
  resumed.setPosition(saved);
  EXPECT_EQ(resumed.next().tokens, second.tokens);
  // Each row is a contiguous window and its targets the window shifted by one.
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t t = 0; t < 8; ++t) {
      EXPECT_EQ(second.targets[r * 8 + t], second.tokens[r * 8 + t] + 1);
      if (t > 0) EXPECT_EQ(second.tokens[r * 8 + t], second.tokens[r * 8 + t - 1] + 1);
    }
}

TEST(DataLoader, HeldOutSplitIsDisjointFromTrainingBatches) {
  const TokenStream stream = positions(500);
  const Split split = splitStream(stream.size(), 0.1);
  EXPECT_EQ(split.train.end, 450u);
  EXPECT_EQ(split.validation.begin, 450u);
  EXPECT_EQ(split.validation.end, 500u);
  DataLoader loader(stream, split.train, 3, 10, true, 1);
  for (int i = 0; i < 200; ++i) {
    for (int32_t target : loader.next().targets) ASSERT_LT(target, 450) << "a training target reads held-out data";
  }
  DataLoader sequential(stream, split.train, 3, 10, false, 1);
  for (int i = 0; i < 40; ++i)
    for (int32_t target : sequential.next().targets) ASSERT_LT(target, 450);
  const std::vector<Batch> validation = validationBatches(stream, split.validation, 3, 10, 100);
  ASSERT_EQ(validation.size(), 2u);  // (50 - 1) / 10 = 4 rows: batches of 3 and 1
  EXPECT_EQ(validation[0].rows, 3);
  EXPECT_EQ(validation[1].rows, 1);
  for (const Batch& batch : validation)
    for (int32_t token : batch.tokens) EXPECT_GE(token, 450);
  EXPECT_EQ(validation[1].targets.back(), 490);
}

TEST(DataLoader, TooLittleDataIsRefused) {
  const TokenStream stream = positions(20);
  try {
    DataLoader loader(stream, {0, 12}, 2, 6, false, 0);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the training part holds 12 tokens; a batch of 2 x 6 needs 13"));
  }
  EXPECT_THROW(validationBatches(stream, {18, 20}, 2, 6, 8), DataError);
  EXPECT_THROW(splitStream(10, 1.0), DataError);
}

TEST(TokenStream, MapsOneDimensionalInt32Npy) {
  const std::string path = tempPath("stream.npy");
  const std::vector<int32_t> ids = {5, 0, 7, 3, 3, 9};
  npy::writeInt32(path, {6}, ids.data());
  const TokenStream stream = TokenStream::mapNpy(path);
  ASSERT_EQ(stream.size(), 6u);
  EXPECT_EQ(std::vector<int32_t>(stream.data(), stream.data() + 6), ids);
  EXPECT_NO_THROW(stream.checkVocab(10));
  try {
    stream.checkVocab(9);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr("token 5 is 9, outside the model's vocabulary [0, 9)"));
  }
}

TEST(TokenStream, RefusesOtherShapesDtypesAndTruncation) {
  const std::string two_d = tempPath("two_d.npy"), floats = tempPath("floats.npy"), cut = tempPath("cut.npy");
  const std::vector<int32_t> ids = {1, 2, 3, 4};
  npy::writeInt32(two_d, {2, 2}, ids.data());
  const std::vector<float> values = {1, 2};
  npy::writeFloat32(floats, {2}, values.data());
  EXPECT_THAT([&] { TokenStream::mapNpy(two_d); }, ::testing::ThrowsMessage<DataError>(HasSubstr("must be 1-D")));
  EXPECT_THAT([&] { TokenStream::mapNpy(floats); }, ::testing::ThrowsMessage<DataError>(HasSubstr("must be int32")));
  npy::writeInt32(cut, {4}, ids.data());
  std::ifstream in(cut, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(cut, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 3);
  EXPECT_THAT([&] { TokenStream::mapNpy(cut); }, ::testing::ThrowsMessage<DataError>(HasSubstr("truncated")));
  EXPECT_THROW(TokenStream::mapNpy(tempPath("missing.npy")), DataError);
}

TEST(Schedule, WarmsUpLinearlyThenDecaysToTheFloor) {
  Schedule s{ScheduleKind::Cosine, 1e-3, 10, 110, 0.1};
  EXPECT_DOUBLE_EQ(s.at(1), 1e-4);
  EXPECT_DOUBLE_EQ(s.at(10), 1e-3);
  EXPECT_NEAR(s.at(60), 1e-4 + 0.9e-3 * 0.5, 1e-15);  // halfway through the decay
  EXPECT_NEAR(s.at(110), 1e-4, 1e-15);
  EXPECT_GT(s.at(30), s.at(31));
  s.kind = ScheduleKind::Constant;
  EXPECT_DOUBLE_EQ(s.at(5), 5e-4);
  EXPECT_DOUBLE_EQ(s.at(100), 1e-3);
}

}  // namespace
}  // namespace lathe::train
