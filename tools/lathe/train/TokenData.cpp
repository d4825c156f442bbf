#include "TokenData.h"

#include "lathe/lathe.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lathe::train {

struct TokenStream::Mapping {
  void* address = MAP_FAILED;
  size_t length = 0;
  ~Mapping() {
    if (address != MAP_FAILED) munmap(address, length);
  }
};

TokenStream::TokenStream(TokenStream&&) noexcept = default;
TokenStream& TokenStream::operator=(TokenStream&&) noexcept = default;
TokenStream::~TokenStream() = default;

namespace {

/// The header dictionary of a .npy file, and where its data starts.
struct NpyHeader {
  std::string dict;
  size_t data_offset = 0;
};

NpyHeader parseNpyHeader(const uint8_t* bytes, size_t size, const std::string& path) {
  static const uint8_t kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(bytes, kMagic, sizeof(kMagic)) != 0)
    throw DataError(path + ": not a .npy file (bad magic)");
  const uint8_t major = bytes[6];
  if (major < 1 || major > 3) throw DataError(path + ": unsupported .npy version " + std::to_string(major));
  size_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    prefix = 10;
  } else {
    if (size < 12) throw DataError(path + ": truncated .npy header");
    header_len = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (static_cast<size_t>(bytes[11]) << 24);
    prefix = 12;
  }
  if (prefix + header_len > size) throw DataError(path + ": truncated .npy header");
  return {std::string(reinterpret_cast<const char*>(bytes + prefix), header_len), prefix + header_len};
}

/// The value text of `key` in the header dict, e.g. "'<i4'" or "(1000,)".
std::string dictValue(const std::string& dict, const std::string& key, const std::string& path) {
  const std::regex pattern("'" + key + "'\\s*:\\s*('[^']*'|\\([^)]*\\)|True|False)");
  std::smatch match;
  if (!std::regex_search(dict, match, pattern)) throw DataError(path + ": .npy header has no '" + key + "'");
  return match[1].str();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TokenStream TokenStream::mapNpy(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw DataError("cannot open '" + path + "': " + std::strerror(errno));
  struct stat info {};
  if (fstat(fd, &info) != 0 || info.st_size == 0) {
    close(fd);
    throw DataError(path + ": empty or unreadable file");
  }
  auto mapping = std::make_unique<Mapping>();
  mapping->length = static_cast<size_t>(info.st_size);
  mapping->address = mmap(nullptr, mapping->length, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (mapping->address == MAP_FAILED) throw DataError("cannot map '" + path + "': " + std::strerror(errno));
  const auto* bytes = static_cast<const uint8_t*>(mapping->address);
  const NpyHeader header = parseNpyHeader(bytes, mapping->length, path);
  const std::string descr = dictValue(header.dict, "descr", path);
  if (descr != "'<i4'" && descr != "'|i4'")
    throw DataError(path + ": token streams must be int32 ('<i4'), found dtype " + descr);
  if (dictValue(header.dict, "fortran_order", path) != "False")
    throw DataError(path + ": fortran_order arrays are not supported");
  const std::string shape = dictValue(header.dict, "shape", path);
  std::smatch match;
  if (!std::regex_match(shape, match, std::regex("\\(\\s*(\\d+)\\s*,?\\s*\\)")))
    throw DataError(path + ": token streams must be 1-D, found shape " + shape);
  const size_t count = std::stoull(match[1].str());
  if (header.data_offset % alignof(int32_t) != 0) throw DataError(path + ": misaligned .npy data");
  if (header.data_offset + count * sizeof(int32_t) > mapping->length)
    throw DataError(path + ": truncated: shape " + shape + " needs " + std::to_string(count * sizeof(int32_t)) +
                    " data bytes, the file has " + std::to_string(mapping->length - header.data_offset));
  TokenStream stream;
  stream.data_ = reinterpret_cast<const int32_t*>(bytes + header.data_offset);
  stream.size_ = count;
  stream.mapping_ = std::move(mapping);
  stream.source_ = path;
  return stream;
}

TokenStream TokenStream::encodeText(const std::string& path, const Tokenizer& tokenizer) {
  return fromTokens(tokenizer.encode(readFile(path)), path);
}

TokenStream TokenStream::fromTokens(std::vector<int32_t> tokens, std::string source) {
  TokenStream stream;
  stream.owned_ = std::move(tokens);
  stream.data_ = stream.owned_.data();
  stream.size_ = stream.owned_.size();
  stream.source_ = std::move(source);
  return stream;
}

void TokenStream::checkVocab(int64_t vocab) const {
  for (size_t i = 0; i < size_; ++i) {
    if (data_[i] < 0 || data_[i] >= vocab)
      throw DataError(source_ + ": token " + std::to_string(i) + " is " + std::to_string(data_[i]) +
                      ", outside the model's vocabulary [0, " + std::to_string(vocab) + ")");
  }
}

Split splitStream(size_t tokens, double val_fraction) {
  if (!(val_fraction >= 0.0 && val_fraction < 1.0))
    throw DataError("--val-fraction must lie in [0, 1), got " + std::to_string(val_fraction));
  const size_t held_out = static_cast<size_t>(std::floor(static_cast<double>(tokens) * val_fraction));
  return {{0, tokens - held_out}, {tokens - held_out, tokens}};
}

}  // namespace lathe::train
