// Minimal .npy (NumPy format 1.0-3.0) reading and writing for the tools:
// token ids in, float results out. Little-endian hosts only.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lathe::npy {

/// Bad or unsupported .npy content; the message names the file and the problem.
class NpyError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct TokenArray {
  std::vector<int64_t> shape;  // (B, T)
  std::vector<int32_t> ids;    // row-major
};

/// Reads a 2-D (B, T) C-order int32 array; int64 is accepted and converted
/// when every value fits in int32.
TokenArray readTokens(const std::string& path);

/// Like readTokens, for int32/int64 arrays of any rank (shape as stored).
TokenArray readTokenIds(const std::string& path);

/// Writes a C-order float32 array of any shape (rank 0 included) atomically:
/// to a temporary file next to `path`, then renamed over it.
void writeFloat32(const std::string& path, const std::vector<int64_t>& shape, const float* data);
/// The same for int32 (e.g. token ids from `lathe tokenizer encode -o`).
void writeInt32(const std::string& path, const std::vector<int64_t>& shape, const int32_t* data);

}  // namespace lathe::npy
