// What the drivers that run an artifact's entry points (forward, train) share.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "lathe/lathe.hpp"

namespace lathe::bench {

/// Sizes the CPU device's thread pool, which reads LATHE_NUM_THREADS when a session is created.
inline void setCpuThreads(int threads) { setenv("LATHE_NUM_THREADS", std::to_string(threads).c_str(), 1); }

/// Throws when a (B, T) batch exceeds what `artifact` was compiled for.
inline void checkBatchFits(const lathe::Artifact& artifact, int64_t B, int64_t T) {
  if (B > artifact.maxBatch() || T > artifact.maxSeq())
    throw std::invalid_argument("B=" + std::to_string(B) + ", T=" + std::to_string(T) + " exceeds the artifact's " +
                                "max batch " + std::to_string(artifact.maxBatch()) + " / max seq " +
                                std::to_string(artifact.maxSeq()));
}

/// Runs `entry` once with profiling on; returns [{kind, microseconds, dispatches}] by descending time, for the
/// JSON output (bench.py prints them as a table).
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
