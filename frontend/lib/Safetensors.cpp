// safetensors: u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then the data, offsets relative to the end of the header.
#include "Internal.h"
#include "lathe/support/Float16.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace lathe {

using namespace frontend_detail;

namespace {

// The reference implementation refuses larger headers too.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr uint64_t kMaxDimension = 1ull << 40;

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

uint64_t readU64LE(const unsigned char* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

/// A non-negative JSON integer, or an error describing `what`.
uint64_t readOffset(const nlohmann::json& value, const SourceLoc& file, const std::string& what) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) return value.get<uint64_t>();
  throw ModelError(file, what + " must be a non-negative integer, got " + value.dump());
}

Entry parseEntry(const std::string& name, const nlohmann::json& info, uint64_t data_size, const SourceLoc& file) {
  const std::string where = "tensor '" + name + "'";
  if (!info.is_object()) throw ModelError(file, where + ": expected an object with dtype, shape and data_offsets");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!info.contains(field)) throw ModelError(file, where + ": missing '" + field + "'");
  const auto& dtype_json = info["dtype"];
  if (!dtype_json.is_string()) throw ModelError(file, where + ": dtype must be a string");
  auto dtype = parseDType(dtype_json.get<std::string>());
  if (!dtype)
    throw ModelError(file, where + ": unsupported dtype '" + dtype_json.get<std::string>() +
                               "' (supported: F32, F16, BF16, I32)");
  Entry entry{name, *dtype, {}, 0, 0};

  const auto& shape_json = info["shape"];
  if (!shape_json.is_array()) throw ModelError(file, where + ": shape must be a list of integers");
  uint64_t bytes = dtypeSize(*dtype);
  for (const auto& dim_json : shape_json) {
    uint64_t dim = readOffset(dim_json, file, where + ": a shape dimension");
    if (dim > kMaxDimension || (dim != 0 && bytes > UINT64_MAX / dim))
      throw ModelError(file, where + ": shape " + shape_json.dump() + " is too large");
    bytes *= dim;
    entry.shape.push_back(static_cast<int64_t>(dim));
  }

  const auto& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    throw ModelError(file, where + ": data_offsets must be [begin, end]");
  entry.begin = readOffset(offsets[0], file, where + ": data_offsets[0]");
  entry.end = readOffset(offsets[1], file, where + ": data_offsets[1]");
  if (entry.begin > entry.end) throw ModelError(file, where + ": data_offsets " + offsets.dump() + " end before they begin");
  if (entry.end > data_size)
    throw ModelError(file, where + ": data_offsets " + offsets.dump() + " run past the end of the data (" +
                               std::to_string(data_size) + " bytes)");
  if (entry.end - entry.begin != bytes)
    throw ModelError(file, where + ": shape " + formatShape(entry.shape) + " of " + dtypeName(*dtype) + " needs " +
                               std::to_string(bytes) + " bytes, but data_offsets " + offsets.dump() + " span " +
                               std::to_string(entry.end - entry.begin));
  return entry;
}

void checkMetadata(const nlohmann::json& metadata, const SourceLoc& file) {
  if (!metadata.is_object()) throw ModelError(file, "__metadata__ must be an object of strings");
  for (const auto& [key, value] : metadata.items())
    if (!value.is_string()) throw ModelError(file, "__metadata__ value '" + key + "' must be a string");
}

void checkNoOverlap(std::vector<Entry>& entries, const SourceLoc& file) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  const Entry* previous = nullptr;
  for (const Entry& entry : entries) {
    if (entry.begin == entry.end) continue;  // empty tensors occupy nothing
    if (previous && entry.begin < previous->end)
      throw ModelError(file, "tensors '" + previous->name + "' and '" + entry.name + "' overlap in the data");
    previous = &entry;
  }
}

}  // namespace

Weights readSafetensors(const std::string& path) {
  const SourceLoc file{path};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw ModelError(file, std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) throw ModelError(file, "cannot open file");
  if (file_size < 8) throw ModelError(file, "too short for a safetensors file (" + std::to_string(file_size) + " bytes)");

  unsigned char length_bytes[8];
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  const uint64_t header_size = readU64LE(length_bytes);
  if (header_size > file_size - 8)
    throw ModelError(file, "header length " + std::to_string(header_size) + " exceeds the file size (" +
                               std::to_string(file_size) + " bytes)");
  if (header_size > kMaxHeaderBytes)
    throw ModelError(file, "header length " + std::to_string(header_size) + " is larger than 100 MiB");
  std::string header_text(header_size, '\0');
  in.read(header_text.data(), static_cast<std::streamsize>(header_size));
  if (!in) throw ModelError(file, "cannot read the header");

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::parse_error& error) {
    throw ModelError(file, std::string("the header is not valid JSON: ") + error.what());
  }
  if (!header.is_object()) throw ModelError(file, "the header must be a JSON object");

  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = file_size - data_start;
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__")
      checkMetadata(info, file);
    else
      entries.push_back(parseEntry(name, info, data_size, file));
  }
  checkNoOverlap(entries, file);

  Weights weights;
  for (const Entry& entry : entries) {
    Tensor tensor;
    tensor.name = entry.name;
    tensor.dtype = entry.dtype;
    tensor.shape = entry.shape;
    tensor.data.resize(entry.end - entry.begin);
    in.seekg(static_cast<std::streamoff>(data_start + entry.begin));
    in.read(reinterpret_cast<char*>(tensor.data.data()), static_cast<std::streamsize>(tensor.data.size()));
    if (!in) throw ModelError(file, "tensor '" + entry.name + "': cannot read its data");
    weights.emplace(entry.name, std::move(tensor));
  }
  return weights;
}

void writeSafetensors(const std::string& path, const Weights& weights) {
  // transformers refuses files whose metadata lacks a known "format".
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  std::vector<ByteSpan> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : weights) {
    const uint64_t bytes = static_cast<uint64_t>(tensor.numel()) * dtypeSize(tensor.dtype);
    if (tensor.data.size() != bytes)
      throw ModelError({path}, "tensor '" + name + "' has shape " + formatShape(tensor.shape) + " but holds " +
                                   std::to_string(tensor.data.size()) + " bytes, expected " + std::to_string(bytes));
    header[name] = {{"dtype", dtypeName(tensor.dtype)}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + bytes}}};
    data.push_back({tensor.data.data(), tensor.data.size()});
    offset += bytes;
  }
  std::string header_text = header.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // data starts 8-byte aligned

  unsigned char length_bytes[8];
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<unsigned char>(header_text.size() >> (8 * i));
  std::vector<ByteSpan> pieces = {{length_bytes, 8}, {header_text.data(), header_text.size()}};
  pieces.insert(pieces.end(), data.begin(), data.end());
  writeFileAtomic(path, pieces);
}

Tensor toF32(const Tensor& tensor) {
  if (tensor.dtype == DType::F32) return tensor;
  if (tensor.dtype == DType::I32)
    throw ModelError({}, "tensor '" + tensor.name + "' is I32; only F32, F16 and BF16 tensors can be weights");
  Tensor out;
  out.name = tensor.name;
  out.dtype = DType::F32;
  out.shape = tensor.shape;
  const size_t count = tensor.data.size() / 2;
  out.data.resize(count * sizeof(float));
  float* values = out.f32();
  for (size_t i = 0; i < count; ++i) {
    uint16_t raw = static_cast<uint16_t>(tensor.data[2 * i] | (tensor.data[2 * i + 1] << 8));
    values[i] = tensor.dtype == DType::F16 ? halfToFloat(raw) : bfloat16ToFloat(raw);
  }
  return out;
}

}  // namespace lathe
