// lathe: compile models to artifacts, run them, export weights, tokenize text.
#include "Commands.h"

#include "lathe/frontend/ModelSpec.h"

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"Lathe: ahead-of-time compiler and runtime for Transformer models"};
  app.require_subcommand(1);
  lathe::tool::addCompileCommand(app);
  lathe::tool::addRunCommand(app);
  lathe::tool::addExportCommand(app);
  lathe::tool::addTokenizerCommand(app);
  lathe::tool::addSampleCommand(app);
  lathe::tool::addTrainCommand(app);
  lathe::tool::addPlotCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const lathe::ModelError& e) {
    std::cerr << e.what() << "\n";  // already "file:line:col: error: ..."
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "lathe: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
