// First-fit bookkeeping of the free byte ranges of one memory block, shared by
// the GPU backends' sub-allocators (targets/vulkan, targets/cuda): which
// ranges are free, taking an aligned range, and giving one back (coalesced).
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <optional>

namespace lathe::runtime {

class FreeRanges {
public:
  explicit FreeRanges(uint64_t size) : size_(size) {
    if (size > 0) free_[0] = size;
  }

  /// The offset of `size` bytes at a multiple of `alignment` (first fit), now taken; nullopt if none fits.
  std::optional<uint64_t> take(uint64_t size, uint64_t alignment = 1) {
    for (auto [offset, free_size] : free_) {
      const uint64_t start = (offset + alignment - 1) / alignment * alignment;
      if (start + size > offset + free_size) continue;
      free_.erase(offset);
      if (start > offset) free_[offset] = start - offset;
      if (offset + free_size > start + size) free_[start + size] = offset + free_size - start - size;
      return start;
    }
    return std::nullopt;
  }

  /// Returns a range `take` gave out, merging it with free neighbours.
  void give(uint64_t offset, uint64_t size) {
    auto [it, inserted] = free_.emplace(offset, size);
    if (!inserted) return;
    auto next = std::next(it);
    if (next != free_.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free_.erase(next);
    }
    if (it != free_.begin()) {
      auto previous = std::prev(it);
      if (previous->first + previous->second == it->first) {
        previous->second += it->second;
        free_.erase(it);
      }
    }
  }

  /// Nothing is taken.
  bool empty() const { return free_.size() == 1 && free_.begin()->first == 0 && free_.begin()->second == size_; }

private:
  uint64_t size_;
  std::map<uint64_t, uint64_t> free_;  // offset -> size, coalesced
};

}  // namespace lathe::runtime
