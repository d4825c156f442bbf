// Open-addressing hash tables for the encoder's hot lookups: byte strings to
// token ids and token-id pairs to merges. Built once, then read-only.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace lathe::tokenizer {

inline uint64_t hashBytes(std::string_view bytes) {
  // FNV-1a over 8-byte words, then a final mix; good enough for short keys.
  uint64_t h = 0xcbf29ce484222325ull ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = (h ^ word) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  h = (h ^ tail) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 32);
}

inline uint64_t hashWord(uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return key;
}

inline size_t tableCapacity(size_t count) {
  size_t capacity = 16;
  while (capacity < count * 2) capacity *= 2;
  return capacity;
}

/// Byte strings (views into storage that outlives the map) to uint32 values.
class StringIdMap {
public:
  static constexpr uint32_t kMissing = UINT32_MAX;

  void reserve(size_t count) {
    slots_.assign(tableCapacity(count), Slot{});
    mask_ = slots_.size() - 1;
  }
  /// Inserts unless present; returns false when the key was already there.
  bool insert(std::string_view key, uint32_t value) {
    for (size_t i = hashBytes(key) & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.value == kMissing) {
        slot = {key.data(), static_cast<uint32_t>(key.size()), value};
        return true;
      }
      if (slot.size == key.size() && std::memcmp(slot.data, key.data(), key.size()) == 0) return false;
    }
  }
  uint32_t find(std::string_view key) const {
    for (size_t i = hashBytes(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.value == kMissing) return kMissing;
      if (slot.size == key.size() && std::memcmp(slot.data, key.data(), key.size()) == 0) return slot.value;
    }
  }

private:
  struct Slot {
    const char* data = nullptr;
    uint32_t size = 0;
    uint32_t value = kMissing;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

/// uint64 keys to uint64 values; key UINT64_MAX is reserved.
class WordMap {
public:
  static constexpr uint64_t kEmpty = UINT64_MAX;

  void reserve(size_t count) {
    slots_.assign(tableCapacity(count), Slot{});
    mask_ = slots_.size() - 1;
  }
  bool insert(uint64_t key, uint64_t value) {
    for (size_t i = hashWord(key) & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.key == kEmpty) {
        slot = {key, value};
        return true;
      }
      if (slot.key == key) return false;
    }
  }
  /// The value, or kEmpty.
  uint64_t find(uint64_t key) const {
    for (size_t i = hashWord(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return slot.value;
      if (slot.key == kEmpty) return kEmpty;
    }
  }

private:
  struct Slot {
    uint64_t key = kEmpty;
    uint64_t value = 0;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace lathe::tokenizer
