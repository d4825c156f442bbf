// Loss curves as PNG line charts (cairo): train loss and validation loss
// against the step, with axes, ticks, grid and labels.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lathe::train {

struct LossPoint {
  double step = 0.0;
  double loss = 0.0;
};

struct LossCurves {
  std::vector<LossPoint> train;
  std::vector<LossPoint> validation;
};

/// Reads "loss" and "val_loss" per "step" from a JSON-lines metrics file
/// (lines without them, e.g. errors, are skipped). Throws on an unreadable file
/// or a line that is not JSON (naming the line).
LossCurves readMetrics(const std::string& path);

/// Writes a width x height PNG; throws when there is nothing to plot or the file cannot be written.
void plotLoss(const LossCurves& curves, const std::string& png_path, const std::string& title, int width = 900,
              int height = 540);

/// "Nice" tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten.
std::vector<double> niceTicks(double low, double high, int target_count);

}  // namespace lathe::train
