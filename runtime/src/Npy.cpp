#include "Npy.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace lathe::npy {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw NpyError("'" + path + "': " + what);
}

// The value text after "'key':" in the header dict, up to the next ',' at
// depth 0 (so "(2, 3)" stays whole).
std::string dictValue(const std::string& path, const std::string& dict, const std::string& key) {
  const std::string needle = "'" + key + "'";
  const size_t at = dict.find(needle);
  if (at == std::string::npos) fail(path, "corrupt header: no '" + key + "' key");
  size_t pos = dict.find(':', at + needle.size());
  if (pos == std::string::npos) fail(path, "corrupt header: no value for '" + key + "'");
  ++pos;
  int depth = 0;
  size_t end = pos;
  for (; end < dict.size(); ++end) {
    const char c = dict[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if ((c == ',' && depth == 0) || (c == '}' && depth == 0) || depth < 0) break;
  }
  std::string value = dict.substr(pos, end - pos);
  const size_t first = value.find_first_not_of(" ");
  const size_t last = value.find_last_not_of(" ");
  return first == std::string::npos ? "" : value.substr(first, last - first + 1);
}

std::vector<int64_t> parseShape(const std::string& path, const std::string& text) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') fail(path, "corrupt header: bad shape " + text);
  std::vector<int64_t> shape;
  std::stringstream items(text.substr(1, text.size() - 2));
  std::string item;
  while (std::getline(items, item, ',')) {
    const size_t first = item.find_first_not_of(" ");
    if (first == std::string::npos) continue;  // the trailing comma of "(5,)"
    item = item.substr(first, item.find_last_not_of(" ") - first + 1);
    if (item.find_first_not_of("0123456789") != std::string::npos || item.size() > 18) {
      fail(path, "corrupt header: bad shape " + text);
    }
    shape.push_back(std::stoll(item));
  }
  return shape;
}

Header parseHeader(const std::string& path, const std::string& bytes) {
  if (bytes.size() < kMagicSize + 4 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0) {
    fail(path, "not a .npy file (bad magic)");
  }
  const auto major = static_cast<uint8_t>(bytes[6]);
  size_t length = 0, start = 0;
  if (major == 1) {
    length = static_cast<uint8_t>(bytes[8]) | static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(path, "truncated header");
    for (int i = 3; i >= 0; --i) length = length << 8 | static_cast<uint8_t>(bytes[8 + i]);
    start = 12;
  } else {
    fail(path, "unsupported .npy format version " + std::to_string(major));
  }
  if (bytes.size() < start + length) fail(path, "truncated header");
  const std::string dict = bytes.substr(start, length);
  Header header;
  header.descr = dictValue(path, dict, "descr");
  const std::string fortran = dictValue(path, dict, "fortran_order");
  if (fortran != "False" && fortran != "True") fail(path, "corrupt header: bad fortran_order " + fortran);
  header.fortran_order = fortran == "True";
  header.shape = parseShape(path, dictValue(path, dict, "shape"));
  header.data_offset = start + length;
  return header;
}

std::string readFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw NpyError("cannot open '" + path + "': " + std::strerror(errno));
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

TokenArray readIds(const std::string& path, bool require_batch_by_time) {
  const std::string bytes = readFile(path);
  const Header header = parseHeader(path, bytes);
  if (header.fortran_order) fail(path, "Fortran-order arrays are not supported; save with C order");
  size_t item_size = 0;
  if (header.descr == "'<i4'" || header.descr == "'|i4'") item_size = 4;
  if (header.descr == "'<i8'" || header.descr == "'|i8'") item_size = 8;
  if (item_size == 0) fail(path, "dtype " + header.descr + " is not supported; token ids must be int32 or int64");
  if (require_batch_by_time && header.shape.size() != 2) {
    fail(path, "token ids must be a 2-D (B, T) array, got shape " + shapeText(header.shape));
  }
  TokenArray tokens;
  tokens.shape = header.shape;
  uint64_t count = 1;
  for (int64_t extent : header.shape) {
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(extent), &count)) fail(path, "shape is too large");
  }
  const uint64_t data_bytes = bytes.size() - header.data_offset;
  if (count > data_bytes / item_size || data_bytes != count * item_size) {
    fail(path, "has " + std::to_string(data_bytes) + " data bytes, but shape " + shapeText(header.shape) +
                   " needs " + (count > data_bytes ? std::string("more") : std::to_string(count * item_size)));
  }
  tokens.ids.resize(count);
  const char* data = bytes.data() + header.data_offset;
  if (item_size == 4) {
    std::memcpy(tokens.ids.data(), data, count * 4);
    return tokens;
  }
  for (uint64_t i = 0; i < count; ++i) {
    int64_t value = 0;
    std::memcpy(&value, data + i * 8, 8);
    if (value < INT32_MIN || value > INT32_MAX) {
      fail(path, "token id " + std::to_string(value) + " at flat index " + std::to_string(i) +
                     " does not fit in int32");
    }
    tokens.ids[i] = static_cast<int32_t>(value);
  }
  return tokens;
}

void writeArray(const std::string& path, const std::vector<int64_t>& shape, const char* descr, const void* data,
                size_t item_size) {
  uint64_t count = 1;
  for (int64_t extent : shape) {
    if (extent < 0) throw NpyError("'" + path + "': negative dimension in shape " + shapeText(shape));
    count *= static_cast<uint64_t>(extent);
  }
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " +
                       shapeText(shape) + ", }";
  // Magic (6) + version (2) + length (2) + dict + '\n' padded to a multiple of 64.
  const size_t unpadded = kMagicSize + 4 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string prefix(kMagic, kMagicSize);
  prefix += '\x01';
  prefix += '\x00';
  prefix += static_cast<char>(header.size() & 0xff);
  prefix += static_cast<char>(header.size() >> 8);

  const std::string temp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream file(temp, std::ios::binary | std::ios::trunc);
    if (!file) throw NpyError("cannot create '" + temp + "': " + std::strerror(errno));
    file << prefix << header;
    file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * item_size));
    file.flush();
    if (!file) {
      std::remove(temp.c_str());
      throw NpyError("cannot write '" + temp + "': " + std::strerror(errno));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temp.c_str());
    throw NpyError("cannot rename '" + temp + "' to '" + path + "': " + reason);
  }
}

}  // namespace

TokenArray readTokens(const std::string& path) { return readIds(path, true); }

TokenArray readTokenIds(const std::string& path) { return readIds(path, false); }

void writeFloat32(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  writeArray(path, shape, "<f4", data, sizeof(float));
}

void writeInt32(const std::string& path, const std::vector<int64_t>& shape, const int32_t* data) {
  writeArray(path, shape, "<i4", data, sizeof(int32_t));
}

}  // namespace lathe::npy
