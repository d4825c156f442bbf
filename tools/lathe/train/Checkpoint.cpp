#include "Checkpoint.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace lathe::train {
namespace {

constexpr const char* kFormat = "lathe-checkpoint";
constexpr const char* kVersion = "1";
constexpr const char* kFileName = "checkpoint.safetensors";

bool isDirectory(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool isStored(lathe_state_kind kind) { return kind == LATHE_STATE_PARAMETER || kind == LATHE_STATE_OPTIMIZER_MOMENT; }

uint32_t crc32Of(const std::map<std::string, CheckpointTensor>& tensors) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (const auto& [name, tensor] : tensors) {
    const auto* bytes = reinterpret_cast<const Bytef*>(tensor.values.data());
    size_t left = tensor.values.size() * sizeof(float);
    while (left > 0) {
      const uInt chunk = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
      crc = crc32(crc, bytes, chunk);
      bytes += chunk;
      left -= chunk;
    }
  }
  return static_cast<uint32_t>(crc);
}

std::string hex(uint32_t value) {
  char text[9];
  std::snprintf(text, sizeof(text), "%08x", value);
  return text;
}

/// Writes all of `data` to `fd`; for the crash test, aborts once `abort_after` bytes of the file are written.
void writeAll(int fd, const void* data, size_t size, size_t& written, size_t abort_after, const std::string& path) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    size_t chunk = size;
    if (abort_after > 0 && written + chunk > abort_after) chunk = abort_after - written;
    const ssize_t n = write(fd, bytes, chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw CheckpointError("cannot write '" + path + "': " + std::strerror(errno));
    bytes += n;
    size -= static_cast<size_t>(n);
    written += static_cast<size_t>(n);
    if (abort_after > 0 && written >= abort_after) {
      fsync(fd);
      std::abort();
    }
  }
}

size_t abortAfterBytes() {
  const char* value = std::getenv("LATHE_TEST_CHECKPOINT_ABORT_AFTER_BYTES");
  return value == nullptr ? 0 : std::strtoull(value, nullptr, 10);
}

void syncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw CheckpointError("cannot open directory '" + dir + "': " + std::strerror(errno));
  const int result = fsync(fd);
  close(fd);
  if (result != 0) throw CheckpointError("cannot sync directory '" + dir + "': " + std::strerror(errno));
}

std::string metadataString(const nlohmann::json& metadata, const char* key, const std::string& path) {
  if (!metadata.contains(key) || !metadata[key].is_string())
    throw CheckpointError(path + ": metadata has no string '" + key + "'");
  return metadata[key].get<std::string>();
}

uint64_t metadataNumber(const nlohmann::json& metadata, const char* key, const std::string& path) {
  const std::string text = metadataString(metadata, key, path);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    throw CheckpointError(path + ": metadata '" + key + "' is not a non-negative integer: '" + text + "'");
  return std::stoull(text);
}

}  // namespace

std::string checkpointFile(const std::string& dir) { return dir + "/" + kFileName; }

Checkpoint captureCheckpoint(const TrainingModel& model, int64_t step, const LoaderPosition& data,
                             const std::string& run_json) {
  Checkpoint checkpoint{step, data, model.modelJson(), run_json, {}};
  for (const StateInfo& state : model.states()) {
    if (!isStored(state.kind)) continue;
    CheckpointTensor tensor{state.shape, std::vector<float>(state.bytes / sizeof(float))};
    model.readState(state.name, tensor.values.data(), state.bytes);
    checkpoint.tensors.emplace(state.name, std::move(tensor));
  }
  return checkpoint;
}

void saveCheckpoint(const std::string& dir, const Checkpoint& checkpoint) {
  if (!isDirectory(dir) && mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    throw CheckpointError("cannot create checkpoint directory '" + dir + "': " + std::strerror(errno));
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", kFormat},
                            {"version", kVersion},
                            {"step", std::to_string(checkpoint.step)},
                            {"data_rng", std::to_string(checkpoint.data.rng)},
                            {"data_batches", std::to_string(checkpoint.data.batches)},
                            {"crc32", hex(crc32Of(checkpoint.tensors))},
                            {"model_json", checkpoint.model_json},
                            {"run", checkpoint.run_json}};
  size_t offset = 0;
  for (const auto& [name, tensor] : checkpoint.tensors) {
    const size_t bytes = tensor.values.size() * sizeof(float);
    header[name] = {{"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  const uint64_t header_size = header_text.size();

  const std::string path = checkpointFile(dir);
  const std::string temp = path + ".tmp." + std::to_string(getpid());
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw CheckpointError("cannot create '" + temp + "': " + std::strerror(errno));
  try {
    size_t written = 0;
    const size_t abort_after = abortAfterBytes();
    writeAll(fd, &header_size, sizeof(header_size), written, abort_after, temp);
    writeAll(fd, header_text.data(), header_text.size(), written, abort_after, temp);
    for (const auto& [name, tensor] : checkpoint.tensors)
      writeAll(fd, tensor.values.data(), tensor.values.size() * sizeof(float), written, abort_after, temp);
    if (fsync(fd) != 0) throw CheckpointError("cannot sync '" + temp + "': " + std::strerror(errno));
  } catch (...) {
    close(fd);
    unlink(temp.c_str());
    throw;
  }
  if (close(fd) != 0 || rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    unlink(temp.c_str());
    throw CheckpointError("cannot move '" + temp + "' to '" + path + "': " + reason);
  }
  syncDirectory(dir);
}

Checkpoint loadCheckpoint(const std::string& given) {
  const std::string path = isDirectory(given) ? checkpointFile(given) : given;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw CheckpointError("cannot open checkpoint '" + path + "': " + std::strerror(errno));
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  uint64_t header_size = 0;
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(&header_size), 8))
    throw CheckpointError(path + ": truncated: the file has " + std::to_string(file_size) +
                          " bytes, too few for a safetensors header");
  if (header_size > file_size - 8)
    throw CheckpointError(path + ": truncated or corrupt: the header claims " + std::to_string(header_size) +
                          " bytes, the file has " + std::to_string(file_size - 8) + " after the size field");
  std::string header_text(header_size, '\0');
  in.read(header_text.data(), static_cast<std::streamsize>(header_size));
  nlohmann::json header = nlohmann::json::parse(header_text, nullptr, false);
  if (header.is_discarded() || !header.is_object()) throw CheckpointError(path + ": the header is not valid JSON");
  if (!header.contains("__metadata__") || !header["__metadata__"].is_object())
    throw CheckpointError(path + ": not a Lathe checkpoint (no __metadata__)");
  const nlohmann::json& metadata = header["__metadata__"];
  if (metadataString(metadata, "format", path) != kFormat)
    throw CheckpointError(path + ": not a Lathe checkpoint (format '" + metadataString(metadata, "format", path) + "')");
  if (metadataString(metadata, "version", path) != kVersion)
    throw CheckpointError(path + ": checkpoint version '" + metadataString(metadata, "version", path) +
                          "' is not supported (this build reads version " + kVersion + ")");
  Checkpoint checkpoint;
  checkpoint.step = static_cast<int64_t>(metadataNumber(metadata, "step", path));
  checkpoint.data = {metadataNumber(metadata, "data_rng", path), metadataNumber(metadata, "data_batches", path)};
  checkpoint.model_json = metadataString(metadata, "model_json", path);
  checkpoint.run_json = metadataString(metadata, "run", path);

  const uint64_t data_start = 8 + header_size, data_size = file_size - data_start;
  uint64_t expected_end = 0;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string where = path + ": tensor '" + name + "'";
    if (!entry.is_object() || entry.value("dtype", "") != "F32" || !entry.contains("shape") ||
        !entry["shape"].is_array() || !entry.contains("data_offsets") || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2)
      throw CheckpointError(where + " needs dtype F32, a shape and two data_offsets");
    CheckpointTensor tensor;
    uint64_t count = 1;
    for (const auto& extent : entry["shape"]) {
      if (!extent.is_number_unsigned()) throw CheckpointError(where + " has a bad shape " + entry["shape"].dump());
      tensor.shape.push_back(extent.get<int64_t>());
      count *= extent.get<uint64_t>();
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      throw CheckpointError(where + " has bad data_offsets " + offsets.dump());
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (end < begin || end - begin != count * sizeof(float))
      throw CheckpointError(where + ": data_offsets " + offsets.dump() + " do not hold shape " +
                            entry["shape"].dump() + " of F32");
    if (end > data_size)
      throw CheckpointError(path + ": truncated: tensor '" + name + "' ends at data byte " + std::to_string(end) +
                            ", the file holds " + std::to_string(data_size));
    tensor.values.resize(count);
    in.seekg(static_cast<std::streamoff>(data_start + begin));
    if (!in.read(reinterpret_cast<char*>(tensor.values.data()), static_cast<std::streamsize>(end - begin)))
      throw CheckpointError(where + ": cannot read its data");
    expected_end = std::max(expected_end, end);
    checkpoint.tensors.emplace(name, std::move(tensor));
  }
  if (expected_end != data_size)
    throw CheckpointError(path + ": the data section has " + std::to_string(data_size) + " bytes, the tensors " +
                          std::to_string(expected_end));
  const std::string crc = hex(crc32Of(checkpoint.tensors));
  if (crc != metadataString(metadata, "crc32", path))
    throw CheckpointError(path + ": checksum mismatch (stored crc32 " + metadataString(metadata, "crc32", path) +
                          ", data has " + crc + "): the file is corrupt");
  return checkpoint;
}

void restoreCheckpoint(TrainingModel& model, const Checkpoint& checkpoint, const std::string& path) {
  if (checkpoint.model_json != model.modelJson())
    throw CheckpointError(path + ": the checkpoint was trained from a different model than the artifact's");
  size_t restored = 0;
  for (const StateInfo& state : model.states()) {
    if (!isStored(state.kind)) continue;
    auto it = checkpoint.tensors.find(state.name);
    if (it == checkpoint.tensors.end())
      throw CheckpointError(path + ": the checkpoint has no tensor for state '" + state.name + "'");
    if (it->second.values.size() * sizeof(float) != state.bytes)
      throw CheckpointError(path + ": tensor '" + state.name + "' has " +
                            std::to_string(it->second.values.size() * sizeof(float)) + " bytes, the state " +
                            std::to_string(state.bytes));
    model.writeState(state.name, it->second.values.data(), state.bytes);
    ++restored;
  }
  if (restored != checkpoint.tensors.size())
    throw CheckpointError(path + ": the checkpoint holds " + std::to_string(checkpoint.tensors.size()) +
                          " tensors, the model " + std::to_string(restored));
}

}  // namespace lathe::train
