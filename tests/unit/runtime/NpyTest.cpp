// .npy helpers: token ids in (int32/int64), float32 out, clear errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "Npy.h"

namespace lathe::npy {
namespace {

using ::testing::HasSubstr;

std::string tempPath(const std::string& name) {
  return ::testing::TempDir() + "/npy_" + std::to_string(getpid()) + "_" + name + ".npy";
}

// A version 1.0 file with the given dict and raw data, as NumPy writes it.
void writeNpy(const std::string& path, const std::string& dict, const std::string& data, char major = 1) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes("\x93NUMPY", 6);
  bytes += major;
  bytes += '\0';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  std::ofstream(path, std::ios::binary) << bytes << header << data;
}

template <typename T>
std::string raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::string readAll(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void expectReadError(const std::string& path, const std::string& message) {
  try {
    readTokens(path);
    FAIL() << "reading " << path << " succeeded";
  } catch (const NpyError& error) {
    EXPECT_THAT(error.what(), HasSubstr(message));
    EXPECT_THAT(error.what(), HasSubstr(path));
  }
}

TEST(Npy, ReadsInt32Tokens) {
  const std::string path = tempPath("i32");
  writeNpy(path, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", raw<int32_t>({1, 2, 3, 4, 5, 6}));
  const TokenArray tokens = readTokens(path);
  EXPECT_EQ(tokens.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(tokens.ids, (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  std::remove(path.c_str());
}

TEST(Npy, ConvertsInt64TokensWithRangeCheck) {
  const std::string path = tempPath("i64");
  writeNpy(path, "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }", raw<int64_t>({7, 50256}));
  EXPECT_EQ(readTokens(path).ids, (std::vector<int32_t>{7, 50256}));
  writeNpy(path, "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }", raw<int64_t>({7, 1LL << 40}));
  expectReadError(path, "token id 1099511627776 at flat index 1 does not fit in int32");
  std::remove(path.c_str());
}

TEST(Npy, RejectsUnsupportedLayoutsAndCorruptFiles) {
  const std::string path = tempPath("bad");
  writeNpy(path, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 1), }", raw<int32_t>({1, 2}));
  expectReadError(path, "Fortran-order arrays are not supported");
  writeNpy(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", raw<float>({1, 2}));
  expectReadError(path, "dtype '<f4' is not supported; token ids must be int32 or int64");
  writeNpy(path, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", raw<int32_t>({1, 2, 3}));
  expectReadError(path, "token ids must be a 2-D (B, T) array, got shape (3,)");
  writeNpy(path, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", raw<int32_t>({1, 2}));
  expectReadError(path, "has 8 data bytes, but shape (2, 3) needs 24");
  writeNpy(path, "{'descr': '<i4', 'fortran_order': False, }", raw<int32_t>({1}));
  expectReadError(path, "corrupt header: no 'shape' key");
  writeNpy(path, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, x), }", raw<int32_t>({1, 2}));
  expectReadError(path, "corrupt header: bad shape (2, x)");
  writeNpy(path, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1), }", raw<int32_t>({1}), 9);
  expectReadError(path, "unsupported .npy format version 9");
  std::ofstream(path, std::ios::binary) << "PK\x03\x04 not numpy";
  expectReadError(path, "not a .npy file (bad magic)");
  std::ofstream(path, std::ios::binary) << std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 17);
  expectReadError(path, "truncated header");
  expectReadError(tempPath("missing"), "cannot open");
  std::remove(path.c_str());
}

TEST(Npy, WritesFloat32ThatReadsBack) {
  const std::string path = tempPath("f32");
  const std::vector<float> values = {1.5f, -2.0f, 3.25f, 0.0f, 8.0f, -0.5f};
  writeFloat32(path, {2, 1, 3}, values.data());
  const std::string bytes = readAll(path);
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_size = static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8;
  EXPECT_EQ((10 + header_size) % 64, 0u);
  const std::string header = bytes.substr(10, header_size);
  EXPECT_THAT(header, HasSubstr("'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 3), }"));
  EXPECT_EQ(header.back(), '\n');
  ASSERT_EQ(bytes.size(), 10 + header_size + values.size() * 4);
  std::vector<float> data(values.size());
  std::memcpy(data.data(), bytes.data() + 10 + header_size, data.size() * 4);
  EXPECT_EQ(data, values);
  // No temporary file is left behind.
  EXPECT_FALSE(std::ifstream(path + ".tmp." + std::to_string(getpid())).good());
  std::remove(path.c_str());
}

TEST(Npy, WritesScalarsAndVectors) {
  const std::string path = tempPath("shapes");
  const float value = 4.0f;
  writeFloat32(path, {}, &value);
  EXPECT_THAT(readAll(path), HasSubstr("'shape': (), }"));
  writeFloat32(path, {1}, &value);
  EXPECT_THAT(readAll(path), HasSubstr("'shape': (1,), }"));
  std::remove(path.c_str());
}

TEST(Npy, WriteReportsUnwritableDirectory) {
  const float value = 1.0f;
  try {
    writeFloat32("/nonexistent/dir/out.npy", {1}, &value);
    FAIL() << "writing into a missing directory succeeded";
  } catch (const NpyError& error) {
    EXPECT_THAT(error.what(), HasSubstr("cannot create '/nonexistent/dir/out.npy.tmp."));
  }
}

}  // namespace
}  // namespace lathe::npy
