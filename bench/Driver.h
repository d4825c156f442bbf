// What every benchmark driver shares: its options are read with CLI11, and it
// ends the same way (exit 2 with the usage on a bad command line, exit 1 with
// the message when the benchmark fails), so bench/bench.py can tell the two apart.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace lathe::bench {

/// A numeric option check: `description` is shown in --help, `what` in the error, which names the bound (CLI11's
/// own ranges print the type's whole span).
inline CLI::Validator numberCheck(const std::string& description, const std::string& what,
                                  const std::function<bool(double)>& accepts) {
  return CLI::Validator(
      [what, accepts](std::string& text) {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        const bool ok = !text.empty() && *end == '\0' && accepts(value);
        return ok ? std::string() : "'" + text + "' is not " + what;
      },
      description);
}

inline CLI::Validator atLeast(int64_t min) {
  const std::string bound = std::to_string(min);
  return numberCheck("min " + bound, "a number >= " + bound, [min](double value) { return value >= min; });
}

/// Above zero; NaN is not.
inline CLI::Validator positive() {
  return numberCheck("POSITIVE", "a number > 0", [](double value) { return value > 0; });
}

/// Reads the command line into `app`'s options (named after the executable), then runs `benchmark`; returns the
/// exit status.
inline int runDriver(CLI::App& app, int argc, char** argv, const std::function<int()>& benchmark) {
  for (CLI::Option* option : app.get_options()) option->capture_default_str();  // the usage shows the defaults
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& error) {
    std::cerr << app.get_name() << ": " << error.what() << "\n" << app.help();
    return 2;
  }
  try {
    return benchmark();
  } catch (const std::exception& error) {
    std::cerr << app.get_name() << ": " << error.what() << "\n";
    return 1;
  }
}

/// The middle value (the upper one of an even count); `values` is not empty.
inline double median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

inline double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace lathe::bench
