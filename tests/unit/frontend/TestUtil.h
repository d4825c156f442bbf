// Helpers shared by the frontend tests.
#pragma once

#include "lathe/frontend/Frontend.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace lathe::test {

/// A fresh directory, removed with everything in it when the test ends.
class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "lathe_frontend_XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

inline void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string examplePath(const std::string& name) { return std::string(LATHE_EXAMPLES_DIR) + "/" + name; }

/// The message of the ModelError `action` throws; fails the test if it throws nothing or something else.
template <typename Action>
std::string errorOf(Action&& action) {
  try {
    action();
  } catch (const ModelError& error) {
    return error.what();
  } catch (const std::exception& error) {
    ADD_FAILURE() << "expected ModelError, got another exception: " << error.what();
    return "";
  }
  ADD_FAILURE() << "expected ModelError, nothing was thrown";
  return "";
}

/// A float32 tensor filled with a recognizable pattern (value = base + index / 1000).
inline Tensor patternTensor(const std::string& name, std::vector<int64_t> shape, float base) {
  Tensor tensor;
  tensor.name = name;
  tensor.shape = std::move(shape);
  tensor.data.resize(static_cast<size_t>(tensor.numel()) * sizeof(float));
  for (int64_t i = 0; i < tensor.numel(); ++i) tensor.f32()[i] = base + static_cast<float>(i) / 1000.0f;
  return tensor;
}

}  // namespace lathe::test
