// lathe plot metrics.jsonl -o loss.png: train and validation loss against the step.
#include "Commands.h"

#include "Plot.h"

#include <iostream>
#include <memory>

namespace lathe::tool {

void addPlotCommand(CLI::App& app) {
  struct PlotOptions {
    std::string metrics;
    std::string output = "loss.png";
    std::string title = "Training loss";
    int width = 900;
    int height = 540;
  };
  auto o = std::make_shared<PlotOptions>();
  CLI::App* cmd = app.add_subcommand("plot", "Draw the loss curves of a `lathe train --log` metrics file as a PNG");
  cmd->add_option("metrics", o->metrics, "JSON-lines metrics file")->required();
  cmd->add_option("-o,--output", o->output, "PNG to write")->capture_default_str();
  cmd->add_option("--title", o->title, "chart title")->capture_default_str();
  cmd->add_option("--width", o->width, "pixels")->check(CLI::Range(200, 8000))->capture_default_str();
  cmd->add_option("--height", o->height, "pixels")->check(CLI::Range(150, 8000))->capture_default_str();
  cmd->callback([o] {
    const train::LossCurves curves = train::readMetrics(o->metrics);
    train::plotLoss(curves, o->output, o->title, o->width, o->height);
    std::cerr << "lathe: wrote " << o->output << " (" << curves.train.size() << " train, " << curves.validation.size()
              << " validation points)\n";
  });
}

}  // namespace lathe::tool
