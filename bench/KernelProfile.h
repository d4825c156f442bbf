// Per-kernel-kind device times of one profiled run, for the benchmark drivers'
// JSON output (bench.py prints them as a table).
#pragma once

#include <algorithm>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "lathe/lathe.hpp"

namespace lathe::bench {

/// Runs `entry` once with profiling on; returns [{kind, microseconds, dispatches}] by descending time.
inline nlohmann::json profileByKind(lathe::Session& session, const std::string& entry) {
  session.setProfiling(true);
  session.run(entry);
  session.setProfiling(false);
  std::map<std::string, std::pair<double, int>> by_kind;
  for (const lathe::DispatchTime& time : session.profile()) {
    by_kind[time.kind].first += time.microseconds;
    by_kind[time.kind].second += 1;
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [kind, totals] : by_kind)
    rows.push_back({{"kind", kind}, {"microseconds", totals.first}, {"dispatches", totals.second}});
  std::sort(rows.begin(), rows.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["microseconds"].get<double>() > b["microseconds"].get<double>();
  });
  return rows;
}

}  // namespace lathe::bench
