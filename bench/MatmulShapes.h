// The GEMM shapes every matmul benchmark reports (cpu and GPU drivers).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace lathe::bench {

struct MatmulShape {
  const char* name;
  int64_t M, N, K;
  bool trans_b;  // B is (N, K), as in a linear layer
};

// Square sizes and Transformer linears (GPT-2 124M: C=768, MLP 3072, vocab 50257).
inline constexpr MatmulShape kMatmulShapes[] = {
    {"square_1024", 1024, 1024, 1024, false},
    {"square_2048", 2048, 2048, 2048, false},
    {"qkv_M256", 256, 2304, 768, true},
    {"mlp_up_M1024", 1024, 3072, 768, true},
    {"mlp_down_M1024", 1024, 768, 3072, true},
    {"lm_head_M256", 256, 50257, 768, true},
};

// Larger products only fast GPUs run within a benchmark's time: the GPT-2
// train step's MLP at B=16, T=1024 (M = 16384) and a square size that fills an H200.
inline constexpr MatmulShape kLargeMatmulShapes[] = {
    {"mlp_up_M16384", 16384, 3072, 768, true},
    {"square_4096", 4096, 4096, 4096, false},
};

/// kMatmulShapes, then kLargeMatmulShapes when `large`.
inline std::vector<MatmulShape> matmulShapes(bool large = false) {
  std::vector<MatmulShape> shapes(std::begin(kMatmulShapes), std::end(kMatmulShapes));
  if (large) shapes.insert(shapes.end(), std::begin(kLargeMatmulShapes), std::end(kLargeMatmulShapes));
  return shapes;
}

/// The names `--shape` accepts.
inline std::vector<std::string> matmulShapeNames(bool large = false) {
  std::vector<std::string> names;
  for (const MatmulShape& shape : matmulShapes(large)) names.push_back(shape.name);
  return names;
}

/// The shapes named in `names` in table order; all of them when `names` is empty.
inline std::vector<MatmulShape> selectedShapes(const std::vector<std::string>& names, bool large = false) {
  std::vector<MatmulShape> shapes;
  for (const MatmulShape& shape : matmulShapes(large))
    if (names.empty() || std::find(names.begin(), names.end(), shape.name) != names.end()) shapes.push_back(shape);
  return shapes;
}

}  // namespace lathe::bench
