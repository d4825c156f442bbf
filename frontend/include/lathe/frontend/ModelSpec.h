// The declarative description of a decoder-only Transformer, as every
// frontend (Lathe model file, Hugging Face directory) produces it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lathe {

enum class NormKind { LayerNorm, RMSNorm };
enum class NormPlacement { Pre, Post };
enum class PositionKind { Learned, Sinusoidal, Rope };
enum class Activation { Gelu, GeluTanh, Relu, Silu, SwiGLU };
enum class DType { F32, F16, BF16, I32 };

/// Where a value was written in a source file; line/column are 1-based, 0 when unknown.
struct SourceLoc {
  std::string file;
  int line = 0;
  int column = 0;
  std::string str() const;  // "file:line:col" (omits what is unknown)
};

/// A user-facing error with the place it refers to. Never thrown for
/// internal invariants, only for bad input.
class ModelError : public std::runtime_error {
public:
  ModelError(const SourceLoc& loc, const std::string& message);
  const SourceLoc& loc() const { return loc_; }

private:
  SourceLoc loc_;
};

/// One sub-layer of the block graph. Values are named; "x" is the block input.
/// The block output is the last node.
enum class NodeKind { Norm, Attention, MLP, Add };
struct BlockNode {
  std::string name;                 // also the weight prefix: layers.{i}.{name}.*
  NodeKind kind = NodeKind::Norm;
  std::vector<std::string> inputs;  // Norm/Attention/MLP: 1 input, Add: 2 inputs
  SourceLoc loc;
};

struct ModelSpec {
  std::string name = "model";
  int64_t vocab_size = 0;
  int64_t context_length = 0;
  int64_t d_model = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // == n_heads: MHA; 1: MQA; otherwise GQA
  int64_t d_ff = 0;
  NormKind norm = NormKind::LayerNorm;
  double norm_eps = 1e-5;
  NormPlacement norm_placement = NormPlacement::Pre;
  bool final_norm = true;
  PositionKind positions = PositionKind::Learned;
  double rope_theta = 10000.0;
  Activation activation = Activation::Gelu;
  bool bias = true;  // biases on attention and MLP projections
  bool tied_embeddings = true;
  /// Dropout probability in train_micro_step only (after the embeddings and on every attention and MLP output);
  /// 0 <= dropout < 1.
  double dropout = 0.0;
  std::vector<BlockNode> block;  // never empty after parsing (presets expand)

  int64_t head_dim() const { return d_model / n_heads; }
};

/// A named dense tensor, little-endian, row-major.
struct Tensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  int64_t numel() const;
  const float* f32() const { return reinterpret_cast<const float*>(data.data()); }
  float* f32() { return reinterpret_cast<float*>(data.data()); }
};

using Weights = std::map<std::string, Tensor>;

struct Model {
  ModelSpec spec;
  Weights weights;  // canonical Lathe names, F32
};

}  // namespace lathe
