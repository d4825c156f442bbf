// Loss plots: metrics parsing, tick choice, and a real PNG with both curves.
#include "Plot.h"

#include <cairo.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>

namespace lathe::train {
namespace {

using ::testing::ElementsAre;

TEST(Plot, NiceTicksUseOneTwoFiveSteps) {
  EXPECT_THAT(niceTicks(0, 100, 5), ElementsAre(0, 20, 40, 60, 80, 100));
  EXPECT_THAT(niceTicks(2.13, 2.61, 5), ElementsAre(2.2, 2.3, 2.4, 2.5, 2.6));
}

TEST(Plot, ReadsTrainAndValidationLossAndNamesBadLines) {
  const std::string path = ::testing::TempDir() + "/plot_metrics.jsonl";
  std::ofstream(path) << "{\"step\":1,\"loss\":4.0}\n{\"step\":2,\"loss\":3.0,\"val_loss\":3.5}\n"
                         "{\"step\":3,\"error\":\"loss is nan\"}\n";
  const LossCurves curves = readMetrics(path);
  ASSERT_EQ(curves.train.size(), 2u);
  ASSERT_EQ(curves.validation.size(), 1u);
  EXPECT_EQ(curves.validation[0].loss, 3.5);
  std::ofstream(path, std::ios::app) << "not json\n";
  try {
    readMetrics(path);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::EndsWith("plot_metrics.jsonl:4: not a JSON object"));
  }
}

/// Counts the pixels whose (red, green, blue) satisfy `matches`.
int countPixels(cairo_surface_t* image, const std::function<bool(int, int, int)>& matches) {
  const int width = cairo_image_surface_get_width(image), height = cairo_image_surface_get_height(image);
  const int stride = cairo_image_surface_get_stride(image);
  const unsigned char* data = cairo_image_surface_get_data(image);
  int count = 0;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const uint32_t pixel = *reinterpret_cast<const uint32_t*>(data + y * stride + x * 4);
      if (matches((pixel >> 16) & 255, (pixel >> 8) & 255, pixel & 255)) ++count;
    }
  return count;
}

/// Counts pixels whose channels are all below `limit` (text, ticks and axes are near-black).
int countDark(cairo_surface_t* image, int limit) {
  return countPixels(image, [limit](int r, int g, int b) { return r < limit && g < limit && b < limit; });
}

/// Counts pixels close to an RGB color.
int countColor(cairo_surface_t* image, int r, int g, int b) {
  return countPixels(image, [r, g, b](int pr, int pg, int pb) {
    return std::abs(pr - r) < 12 && std::abs(pg - g) < 12 && std::abs(pb - b) < 12;
  });
}

TEST(Plot, WritesAPngWithBothCurvesAndText) {
  LossCurves curves;
  for (int step = 1; step <= 200; ++step) curves.train.push_back({double(step), 6.0 * std::exp(-step / 60.0) + 1.5});
  for (int step = 50; step <= 200; step += 50) curves.validation.push_back({double(step), 6.0 * std::exp(-step / 60.0) + 1.8});
  const std::string path = ::testing::TempDir() + "/loss.png";
  plotLoss(curves, path, "test run", 640, 400);
  cairo_surface_t* image = cairo_image_surface_create_from_png(path.c_str());
  ASSERT_EQ(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
  EXPECT_EQ(cairo_image_surface_get_width(image), 640);
  EXPECT_EQ(cairo_image_surface_get_height(image), 400);
  EXPECT_GT(countColor(image, 31, 120, 181), 300) << "train curve (blue)";
  EXPECT_GT(countColor(image, 214, 38, 41), 100) << "validation curve (red)";
  EXPECT_GT(countDark(image, 110), 2000) << "axes, ticks and labels (dark)";
  cairo_surface_destroy(image);
  EXPECT_THROW(plotLoss({}, path, "empty"), std::runtime_error);
}

}  // namespace
}  // namespace lathe::train
