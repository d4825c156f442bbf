// safetensors: round trips, determinism, alignment, and every corruption the reader must reject.
#include "TestUtil.h"

#include <gmock/gmock.h>

#include <cmath>
#include <cstring>

namespace lathe {
namespace {

using test::errorOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

Tensor rawTensor(const std::string& name, DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> data) {
  Tensor tensor;
  tensor.name = name;
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.data = std::move(data);
  return tensor;
}

/// A safetensors file from a header text and raw data, no validation.
std::string rawFile(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

class SafetensorsTest : public ::testing::Test {
protected:
  std::string write(const std::string& bytes) {
    std::string path = dir_.file("w.safetensors");
    test::writeFile(path, bytes);
    return path;
  }
  std::string readError(const std::string& bytes) {
    std::string path = write(bytes);
    return errorOf([&] { readSafetensors(path); });
  }

  test::TempDir dir_;
};

TEST_F(SafetensorsTest, RoundTripsEveryDtype) {
  Weights weights;
  weights["b.f32"] = test::patternTensor("b.f32", {2, 3}, 1.5f);
  weights["a.f16"] = rawTensor("a.f16", DType::F16, {3}, {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00});
  weights["c.bf16"] = rawTensor("c.bf16", DType::BF16, {1, 1}, {0x80, 0x3f});
  weights["d.i32"] = rawTensor("d.i32", DType::I32, {2}, {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff});
  weights["e.empty"] = rawTensor("e.empty", DType::F32, {0, 4}, {});
  std::string path = dir_.file("m.safetensors");
  writeSafetensors(path, weights);
  Weights back = readSafetensors(path);
  ASSERT_EQ(back.size(), weights.size());
  for (const auto& [name, tensor] : weights) {
    SCOPED_TRACE(name);
    ASSERT_EQ(back.count(name), 1u);
    EXPECT_EQ(back.at(name).name, name);
    EXPECT_EQ(back.at(name).dtype, tensor.dtype);
    EXPECT_EQ(back.at(name).shape, tensor.shape);
    EXPECT_EQ(back.at(name).data, tensor.data);
  }
}

TEST_F(SafetensorsTest, WritesDeterministicAlignedFilesAtomically) {
  Weights weights;
  weights["x"] = test::patternTensor("x", {5}, 0.0f);
  weights["y"] = test::patternTensor("y", {3, 3}, 2.0f);
  std::string first = dir_.file("a.safetensors"), second = dir_.file("b.safetensors");
  writeSafetensors(first, weights);
  writeSafetensors(second, weights);
  std::string bytes = test::readFile(first);
  EXPECT_EQ(bytes, test::readFile(second));
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  EXPECT_EQ((8 + header_size) % 8, 0u);
  std::string header = bytes.substr(8, header_size);
  EXPECT_THAT(header, StartsWith("{\"__metadata__\":{\"format\":\"pt\"},\"x\":{\"dtype\":\"F32\",\"shape\":[5],"
                                 "\"data_offsets\":[0,20]},\"y\""));
  EXPECT_EQ(bytes.size(), 8 + header_size + (5 + 9) * 4);
  // Overwriting goes through a temporary in the same directory and leaves nothing behind.
  writeSafetensors(first, weights);
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) files += entry.is_regular_file();
  EXPECT_EQ(files, 2u);
}

TEST_F(SafetensorsTest, WriteRejectsInconsistentTensors) {
  Weights weights;
  weights["bad"] = rawTensor("bad", DType::F32, {3}, {0, 0, 0, 0});
  std::string path = dir_.file("bad.safetensors");
  EXPECT_THAT(errorOf([&] { writeSafetensors(path, weights); }),
              HasSubstr("tensor 'bad' has shape [3] but holds 4 bytes, expected 12"));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(SafetensorsTest, RejectsCorruptFiles) {
  const std::string good_header = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data(8, '\x01');
  ASSERT_NO_THROW(readSafetensors(write(rawFile(good_header, data))));
  const std::string p = dir_.file("w.safetensors") + ": error: ";

  EXPECT_EQ(readError("abc"), p + "too short for a safetensors file (3 bytes)");
  std::string full = rawFile(good_header, data);
  EXPECT_THAT(readError(full.substr(0, full.size() - 3)),
              HasSubstr("tensor 't': data_offsets [0,8] run past the end of the data (5 bytes)"));
  EXPECT_THAT(readError(full.substr(0, 20)), StartsWith(p + "header length 54 exceeds the file size (20 bytes)"));
  std::string huge_length = full;
  huge_length[7] = '\x7f';
  EXPECT_THAT(readError(huge_length), StartsWith(p + "header length"));
  EXPECT_THAT(readError(rawFile("{\"t\": [", data)), StartsWith(p + "the header is not valid JSON"));
  EXPECT_THAT(readError(rawFile("[1]", data)), StartsWith(p + "the header must be a JSON object"));
  EXPECT_THAT(readError(rawFile(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", data)),
              StartsWith(p + "tensor 't': data_offsets [0,16] run past the end of the data (8 bytes)"));
  EXPECT_THAT(readError(rawFile(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data)),
              StartsWith(p + "tensor 't': shape [3] of F32 needs 12 bytes, but data_offsets [0,8] span 8"));
  EXPECT_THAT(readError(rawFile(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", data)),
              HasSubstr("end before they begin"));
  EXPECT_THAT(readError(rawFile(R"({"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", data)),
              StartsWith(p + "tensor 't': unsupported dtype 'I64'"));
  EXPECT_THAT(readError(rawFile(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data)),
              HasSubstr("tensor 't': a shape dimension must be a non-negative integer, got -2"));
  EXPECT_THAT(readError(rawFile(R"({"t":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}})", data)),
              HasSubstr("is too large"));
  EXPECT_THAT(readError(rawFile(R"({"t":{"dtype":"F32","shape":[2]}})", data)), HasSubstr("tensor 't': missing 'data_offsets'"));
  EXPECT_THAT(readError(rawFile(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", data)),
              HasSubstr("data_offsets must be [begin, end]"));
  EXPECT_THAT(readError(rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                data)),
              StartsWith(p + "tensors 'a' and 'b' overlap in the data"));
  EXPECT_THAT(readError(rawFile(R"({"__metadata__":{"format":1}})", "")), HasSubstr("__metadata__ value 'format' must be a string"));
  EXPECT_THAT(errorOf([&] { readSafetensors(dir_.file("absent.safetensors")); }), HasSubstr("no such file"));
}

TEST(ToF32, WidensHalfAndBfloat16Exactly) {
  // F16: 1.0, -2.0, smallest subnormal 2^-24, 65504 (max), +inf.
  Tensor half = rawTensor("h", DType::F16, {5}, {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0xff, 0x7b, 0x00, 0x7c});
  Tensor wide = toF32(half);
  ASSERT_EQ(wide.dtype, DType::F32);
  ASSERT_EQ(wide.shape, half.shape);
  EXPECT_EQ(wide.f32()[0], 1.0f);
  EXPECT_EQ(wide.f32()[1], -2.0f);
  EXPECT_EQ(wide.f32()[2], std::ldexp(1.0f, -24));
  EXPECT_EQ(wide.f32()[3], 65504.0f);
  EXPECT_TRUE(std::isinf(wide.f32()[4]));
  // BF16: 1.0, -0.5 (0xBF00), 3.140625 (0x4049).
  Tensor bf16 = rawTensor("b", DType::BF16, {3}, {0x80, 0x3f, 0x00, 0xbf, 0x49, 0x40});
  Tensor bf = toF32(bf16);
  EXPECT_EQ(bf.f32()[0], 1.0f);
  EXPECT_EQ(bf.f32()[1], -0.5f);
  EXPECT_EQ(bf.f32()[2], 3.140625f);
  Tensor f32 = test::patternTensor("f", {4}, 3.0f);
  EXPECT_EQ(toF32(f32).data, f32.data);
  EXPECT_THAT(errorOf([] { toF32(rawTensor("ids", DType::I32, {1}, {0, 0, 0, 0})); }), HasSubstr("tensor 'ids' is I32"));
}

}  // namespace
}  // namespace lathe
