#include "Plot.h"

#include <cairo.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <stdexcept>

namespace lathe::train {
namespace {

struct Rgb {
  double r, g, b;
};
constexpr Rgb kTrainColor{0.12, 0.47, 0.71};       // blue
constexpr Rgb kValidationColor{0.84, 0.15, 0.16};  // red
constexpr Rgb kAxisColor{0.15, 0.15, 0.15};
constexpr Rgb kGridColor{0.88, 0.88, 0.88};

void setColor(cairo_t* cr, Rgb color) { cairo_set_source_rgb(cr, color.r, color.g, color.b); }

std::string tickLabel(double value) {
  char text[32];
  if (value != 0.0 && (std::fabs(value) >= 1e5 || std::fabs(value) < 1e-3)) std::snprintf(text, sizeof(text), "%.0e", value);
  else std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

/// Where the data lands on the canvas.
struct Frame {
  double left, top, right, bottom;
  double x_low, x_high, y_low, y_high;
  double x(double value) const { return left + (value - x_low) / (x_high - x_low) * (right - left); }
  double y(double value) const { return bottom - (value - y_low) / (y_high - y_low) * (bottom - top); }
};

void drawText(cairo_t* cr, const std::string& text, double x, double y, double align_x, double align_y) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  cairo_move_to(cr, x - extents.width * align_x - extents.x_bearing, y - extents.height * align_y - extents.y_bearing);
  cairo_show_text(cr, text.c_str());
}

void drawCurve(cairo_t* cr, const Frame& frame, const std::vector<LossPoint>& points, Rgb color, bool markers) {
  if (points.empty()) return;
  setColor(cr, color);
  cairo_set_line_width(cr, 2.0);
  cairo_move_to(cr, frame.x(points[0].step), frame.y(points[0].loss));
  for (const LossPoint& point : points) cairo_line_to(cr, frame.x(point.step), frame.y(point.loss));
  cairo_stroke(cr);
  if (!markers) return;
  for (const LossPoint& point : points) {
    cairo_arc(cr, frame.x(point.step), frame.y(point.loss), 3.5, 0, 2 * M_PI);
    cairo_fill(cr);
  }
}

void drawLegend(cairo_t* cr, const Frame& frame, const LossCurves& curves) {
  std::vector<std::pair<std::string, Rgb>> entries;
  if (!curves.train.empty()) entries.push_back({"train loss", kTrainColor});
  if (!curves.validation.empty()) entries.push_back({"validation loss", kValidationColor});
  double y = frame.top + 18;
  for (const auto& [label, color] : entries) {
    setColor(cr, color);
    cairo_set_line_width(cr, 2.5);
    cairo_move_to(cr, frame.right - 150, y);
    cairo_line_to(cr, frame.right - 125, y);
    cairo_stroke(cr);
    setColor(cr, kAxisColor);
    drawText(cr, label, frame.right - 118, y, 0.0, 0.5);
    y += 20;
  }
}

}  // namespace

std::vector<double> niceTicks(double low, double high, int target_count) {
  if (!(high > low)) return {low};
  const double raw = (high - low) / std::max(target_count, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    step = factor * magnitude;
    if (step >= raw) break;
  }
  // k * step computed as k * factor / 10^n for fractional steps, so 0.1-steps land on the nearest doubles.
  const double factor = step / magnitude, inverse = magnitude < 1.0 ? std::round(1.0 / magnitude) : 0.0;
  std::vector<double> ticks;
  for (double k = std::ceil(low / step - 1e-9); k * step <= high + step * 1e-9; k += 1.0)
    ticks.push_back(inverse > 0.0 ? k * factor / inverse : k * step);
  return ticks;
}

LossCurves readMetrics(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open metrics file '" + path + "'");
  LossCurves curves;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object())
      throw std::runtime_error(path + ":" + std::to_string(number) + ": not a JSON object");
    if (!record.contains("step") || !record["step"].is_number()) continue;
    const double step = record["step"].get<double>();
    if (record.contains("loss") && record["loss"].is_number()) curves.train.push_back({step, record["loss"].get<double>()});
    if (record.contains("val_loss") && record["val_loss"].is_number())
      curves.validation.push_back({step, record["val_loss"].get<double>()});
  }
  return curves;
}

void plotLoss(const LossCurves& curves, const std::string& png_path, const std::string& title, int width, int height) {
  if (curves.train.empty() && curves.validation.empty()) throw std::runtime_error("no loss values to plot");
  double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low, y_low = x_low, y_high = -x_low;
  for (const auto* points : {&curves.train, &curves.validation}) {
    for (const LossPoint& p : *points) {
      if (!std::isfinite(p.loss)) continue;
      x_low = std::min(x_low, p.step), x_high = std::max(x_high, p.step);
      y_low = std::min(y_low, p.loss), y_high = std::max(y_high, p.loss);
    }
  }
  if (!std::isfinite(y_low)) throw std::runtime_error("no finite loss values to plot");
  if (x_high <= x_low) x_high = x_low + 1;
  const double pad = std::max((y_high - y_low) * 0.05, 1e-3);
  y_low -= pad, y_high += pad;

  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height), cairo_surface_destroy);
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> context(cairo_create(surface.get()), cairo_destroy);
  cairo_t* cr = context.get();
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  const Frame frame{80, 50, width - 30.0, height - 65.0, x_low, x_high, y_low, y_high};
  cairo_set_font_size(cr, 12);
  cairo_set_line_width(cr, 1.0);
  for (double tick : niceTicks(y_low, y_high, 6)) {
    setColor(cr, kGridColor);
    cairo_move_to(cr, frame.left, frame.y(tick));
    cairo_line_to(cr, frame.right, frame.y(tick));
    cairo_stroke(cr);
    setColor(cr, kAxisColor);
    drawText(cr, tickLabel(tick), frame.left - 8, frame.y(tick), 1.0, 0.5);
  }
  for (double tick : niceTicks(x_low, x_high, 8)) {
    setColor(cr, kGridColor);
    cairo_move_to(cr, frame.x(tick), frame.top);
    cairo_line_to(cr, frame.x(tick), frame.bottom);
    cairo_stroke(cr);
    setColor(cr, kAxisColor);
    cairo_move_to(cr, frame.x(tick), frame.bottom);
    cairo_line_to(cr, frame.x(tick), frame.bottom + 5);
    cairo_stroke(cr);
    drawText(cr, tickLabel(tick), frame.x(tick), frame.bottom + 8, 0.5, 0.0);
  }
  setColor(cr, kAxisColor);
  cairo_set_line_width(cr, 1.5);
  cairo_rectangle(cr, frame.left, frame.top, frame.right - frame.left, frame.bottom - frame.top);
  cairo_stroke(cr);

  cairo_save(cr);
  cairo_rectangle(cr, frame.left, frame.top, frame.right - frame.left, frame.bottom - frame.top);
  cairo_clip(cr);
  drawCurve(cr, frame, curves.train, kTrainColor, curves.train.size() < 2);
  drawCurve(cr, frame, curves.validation, kValidationColor, true);
  cairo_restore(cr);

  setColor(cr, kAxisColor);
  cairo_set_font_size(cr, 14);
  drawText(cr, "step", (frame.left + frame.right) / 2, height - 12.0, 0.5, 1.0);
  cairo_save(cr);
  cairo_translate(cr, 22, (frame.top + frame.bottom) / 2);
  cairo_rotate(cr, -M_PI / 2);
  drawText(cr, "loss (cross-entropy, nats)", 0, 0, 0.5, 0.5);
  cairo_restore(cr);
  cairo_set_font_size(cr, 16);
  drawText(cr, title, (frame.left + frame.right) / 2, 18, 0.5, 0.0);
  cairo_set_font_size(cr, 12);
  drawLegend(cr, frame, curves);

  cairo_surface_flush(surface.get());
  const std::string temp = png_path + ".tmp";
  if (cairo_surface_write_to_png(surface.get(), temp.c_str()) != CAIRO_STATUS_SUCCESS ||
      std::rename(temp.c_str(), png_path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw std::runtime_error("cannot write the plot '" + png_path + "'");
  }
}

}  // namespace lathe::train
