// Which of a kernel's cubins a GPU can run. A cubin for sm_XY runs on sm_XZ
// for Z >= Y (same major version); architecture-specific cubins ("sm_90a")
// run only on their own architecture. Without a usable cubin the driver JITs the PTX.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lathe::runtime::cu {

/// "sm_86" -> 86; nullopt for anything else.
inline std::optional<int> smNumber(const std::string& arch) {
  if (arch.size() < 5 || arch.compare(0, 3, "sm_") != 0) return std::nullopt;
  int value = 0;
  for (size_t i = 3; i < arch.size(); ++i) {
    if (arch[i] < '0' || arch[i] > '9' || value > 10000) return std::nullopt;
    value = value * 10 + (arch[i] - '0');
  }
  return value;
}

/// Index into `archs` of the cubin to load on a `device_arch` GPU: the exact
/// match, else the newest compatible one; nullopt when none runs there.
inline std::optional<size_t> chooseCubin(const std::vector<std::string>& archs, const std::string& device_arch) {
  const std::optional<int> device = smNumber(device_arch);
  std::optional<size_t> best;
  int best_number = -1;
  for (size_t i = 0; i < archs.size(); ++i) {
    if (archs[i] == device_arch) return i;
    const std::optional<int> number = smNumber(archs[i]);  // nullopt also for "sm_90a"
    if (!device || !number || *number / 10 != *device / 10 || *number > *device) continue;
    if (*number > best_number) best = i, best_number = *number;
  }
  return best;
}

}  // namespace lathe::runtime::cu
