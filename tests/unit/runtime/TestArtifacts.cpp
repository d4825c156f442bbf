#include "TestArtifacts.h"

#include <cmath>
#include <cstring>
#include <random>

namespace lathe::test {
namespace {

using fb::BufferRef;
using fb::BufferSpace;
using fb::KernelKind;

BufferRef arena(uint64_t offset) { return BufferRef(BufferSpace::Arena, offset); }
BufferRef weight(uint64_t index) { return BufferRef(BufferSpace::Weight, index); }
BufferRef input(uint64_t index) { return BufferRef(BufferSpace::Input, index); }
BufferRef output(uint64_t index) { return BufferRef(BufferSpace::Output, index); }

std::unique_ptr<fb::WeightT> makeWeight(const std::string& name, std::vector<int64_t> shape,
                                        const std::vector<float>& values) {
  auto w = std::make_unique<fb::WeightT>();
  w->name = name;
  w->dtype = fb::DType::F32;
  w->shape = std::move(shape);
  w->data.resize(values.size() * sizeof(float));
  std::memcpy(w->data.data(), values.data(), w->data.size());
  return w;
}

std::unique_ptr<fb::TensorSpecT> makeSpec(const std::string& name, fb::DType dtype, std::vector<fb::Dim> shape) {
  auto spec = std::make_unique<fb::TensorSpecT>();
  spec->name = name;
  spec->dtype = dtype;
  spec->shape = std::move(shape);
  return spec;
}

std::unique_ptr<fb::DispatchT> makeDispatch(const std::string& name, KernelKind kind, std::vector<BufferRef> buffers,
                                            std::vector<fb::Dim> dims, std::vector<int64_t> ints = {},
                                            std::vector<float> floats = {}) {
  auto d = std::make_unique<fb::DispatchT>();
  d->name = name;
  d->kind = kind;
  d->buffers = std::move(buffers);
  d->dims = std::move(dims);
  d->int_params = std::move(ints);
  d->float_params = std::move(floats);
  return d;
}

fb::ArtifactT makeArtifactShell(int64_t max_batch, int64_t max_seq) {
  fb::ArtifactT a;
  a.schema_version = 1;
  a.producer = "runtime_test";
  a.target = "cpu";
  a.model_json = "{\"name\":\"test\"}";
  a.max_batch = max_batch;
  a.max_seq = max_seq;
  return a;
}

// y = x W^T (+ b) for W (N, K) when trans_b, else W (K, N).
std::vector<float> matmul(const std::vector<float>& x, const std::vector<float>& w, int64_t M, int64_t N, int64_t K,
                          bool trans_b) {
  std::vector<float> y(M * N, 0.0f);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += x[m * K + k] * (trans_b ? w[n * K + k] : w[k * N + n]);
      y[m * N + n] = static_cast<float>(sum);
    }
  }
  return y;
}

void rope(std::vector<float>& x, int64_t rows, int64_t H, int64_t D, int64_t T, float theta) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = r % T;
    for (int64_t h = 0; h < H; ++h) {
      float* v = &x[(r * H + h) * D];
      for (int64_t i = 0; i < D / 2; ++i) {
        const double a = t * std::pow(theta, -2.0 * i / D);
        const float x0 = v[i], x1 = v[i + D / 2];
        v[i] = static_cast<float>(x0 * std::cos(a) - x1 * std::sin(a));
        v[i + D / 2] = static_cast<float>(x1 * std::cos(a) + x0 * std::sin(a));
      }
    }
  }
}

float silu(float v) { return v / (1.0f + std::exp(-v)); }
float gelu(float v) { return 0.5f * v * (1.0f + std::erf(v / std::sqrt(2.0f))); }

}  // namespace

fb::Dim dim(int64_t coefficient, int b_pow, int t_pow) {
  return fb::Dim(coefficient, static_cast<int8_t>(b_pow), static_cast<int8_t>(t_pow));
}

std::vector<float> seededValues(size_t count, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> values(count);
  for (float& v : values) v = dist(rng);
  return values;
}

std::vector<uint8_t> pack(const fb::ArtifactT& artifact) {
  flatbuffers::FlatBufferBuilder builder;
  fb::FinishArtifactBuffer(builder, fb::Artifact::Pack(builder, &artifact));
  return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

TinyModel::TinyModel()
    : table(seededValues(kVocab * kChannels, 1)),
      ln_w(seededValues(kChannels, 2)),
      ln_b(seededValues(kChannels, 3)),
      proj_w(seededValues(kOutputs * kChannels, 4)),
      proj_b(seededValues(kOutputs, 5)) {}

fb::ArtifactT TinyModel::artifact() const {
  fb::ArtifactT a = makeArtifactShell(kMaxBatch, kMaxSeq);
  a.weights.push_back(makeWeight("wte", {kVocab, kChannels}, table));
  a.weights.push_back(makeWeight("ln.w", {kChannels}, ln_w));
  a.weights.push_back(makeWeight("ln.b", {kChannels}, ln_b));
  a.weights.push_back(makeWeight("proj.w", {kOutputs, kChannels}, proj_w));
  a.weights.push_back(makeWeight("proj.b", {kOutputs}, proj_b));

  const fb::Dim rows = dim(1, 1, 1), C = dim(kChannels), N = dim(kOutputs);
  const uint64_t hidden_bytes = kMaxBatch * kMaxSeq * kChannels * sizeof(float);
  auto entry = std::make_unique<fb::EntryPointT>();
  entry->name = "forward";
  entry->inputs.push_back(makeSpec("tokens", fb::DType::I32, {dim(1, 1, 0), dim(1, 0, 1)}));
  entry->outputs.push_back(makeSpec("logits", fb::DType::F32, {dim(1, 1, 0), dim(1, 0, 1), N}));
  entry->arena_bytes = 2 * hidden_bytes;
  entry->dispatches.push_back(
      makeDispatch("wte", KernelKind::Embedding, {input(0), weight(0), arena(0)}, {rows, C}));
  entry->dispatches.push_back(makeDispatch("ln", KernelKind::LayerNorm,
                                           {arena(0), weight(1), weight(2), arena(hidden_bytes)}, {rows, C}, {1},
                                           {kEps}));
  entry->dispatches.push_back(makeDispatch("proj", KernelKind::Gemm,
                                           {arena(hidden_bytes), weight(3), output(0), weight(4)}, {rows, N, C},
                                           {1, 0, 1, 0}));
  a.entry_points.push_back(std::move(entry));
  return a;
}

std::vector<float> TinyModel::reference(const std::vector<int32_t>& tokens, int64_t B, int64_t T) const {
  const int64_t rows = B * T;
  std::vector<float> normed(rows * kChannels);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = &table[tokens[r] * kChannels];
    double mean = 0, var = 0;
    for (int64_t c = 0; c < kChannels; ++c) mean += x[c];
    mean /= kChannels;
    for (int64_t c = 0; c < kChannels; ++c) var += (x[c] - mean) * (x[c] - mean);
    var /= kChannels;
    for (int64_t c = 0; c < kChannels; ++c) {
      normed[r * kChannels + c] = static_cast<float>((x[c] - mean) / std::sqrt(var + kEps) * ln_w[c] + ln_b[c]);
    }
  }
  std::vector<float> logits = matmul(normed, proj_w, rows, kOutputs, kChannels, true);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t n = 0; n < kOutputs; ++n) logits[r * kOutputs + n] += proj_b[n];
  }
  return logits;
}

MixedModel::MixedModel()
    : rms_w(seededValues(kChannels, 11)),
      wq(seededValues(kChannels * kChannels, 12, 0.5f)),
      wk(seededValues(kChannels * kHeadDim, 13, 0.5f)),
      wv(seededValues(kHeadDim * kChannels, 14, 0.5f)),
      wo(seededValues(kChannels * kChannels, 15, 0.5f)) {}

fb::ArtifactT MixedModel::artifact() const {
  fb::ArtifactT a = makeArtifactShell(kMaxBatch, kMaxSeq);
  a.weights.push_back(makeWeight("rms.w", {kChannels}, rms_w));
  a.weights.push_back(makeWeight("wq", {kChannels, kChannels}, wq));
  a.weights.push_back(makeWeight("wk", {kChannels, kHeadDim}, wk));
  a.weights.push_back(makeWeight("wv", {kHeadDim, kChannels}, wv));
  a.weights.push_back(makeWeight("wo", {kChannels, kChannels}, wo));

  const fb::Dim B = dim(1, 1, 0), T = dim(1, 0, 1), rows = dim(1, 1, 1), C = dim(kChannels), n = dim(kChannels, 1, 1);
  const fb::Dim H = dim(kHeads), Hkv = dim(kKvHeads), D = dim(kHeadDim);
  const uint64_t full = kMaxBatch * kMaxSeq * kChannels * sizeof(float);
  const uint64_t kv = kMaxBatch * kMaxSeq * kHeadDim * sizeof(float);
  // Arena slots: x0, x1 (normed), q, k, v, attn, proj, glu.
  const uint64_t x0 = 0, x1 = full, q = 2 * full, k = 3 * full, v = k + kv, att = v + kv, proj = att + full,
                 glu = proj + full;
  auto entry = std::make_unique<fb::EntryPointT>();
  entry->name = "mixed";
  entry->inputs.push_back(makeSpec("x", fb::DType::F32, {B, T, C}));
  entry->outputs.push_back(makeSpec("y", fb::DType::F32, {B, T, C}));
  entry->arena_bytes = glu + full;
  auto& d = entry->dispatches;
  d.push_back(makeDispatch("copy", KernelKind::Unary, {input(0), arena(x0)}, {n}, {0}));
  d.push_back(makeDispatch("pos", KernelKind::AddPositions, {arena(x0)}, {B, T, C}, {1}));
  d.push_back(makeDispatch("rms", KernelKind::RMSNorm, {arena(x0), weight(0), arena(x1)}, {rows, C}, {}, {1e-6f}));
  d.push_back(makeDispatch("q", KernelKind::Gemm, {arena(x1), weight(1), arena(q)}, {rows, C, C}, {1, 0, 0, 0}));
  d.push_back(makeDispatch("k", KernelKind::Gemm, {arena(x1), weight(2), arena(k)}, {rows, D, C}, {0, 0, 0, 0}));
  d.push_back(makeDispatch("v", KernelKind::Gemm, {arena(x1), weight(3), arena(v)}, {rows, D, C}, {1, 0, 0, 0}));
  d.push_back(makeDispatch("rope.q", KernelKind::Rope, {arena(q)}, {B, T, H, D}, {}, {10000.0f}));
  d.push_back(makeDispatch("rope.k", KernelKind::Rope, {arena(k)}, {B, T, Hkv, D}, {}, {10000.0f}));
  d.push_back(makeDispatch("attn", KernelKind::Attention, {arena(q), arena(k), arena(v), arena(att)},
                           {B, T, H, Hkv, D}, {1}, {1.0f / std::sqrt(static_cast<float>(kHeadDim))}));
  d.push_back(makeDispatch("o", KernelKind::Gemm, {arena(att), weight(4), arena(proj), arena(x0)}, {rows, C, C},
                           {1, 1, 0, 1}));
  d.push_back(makeDispatch("glu", KernelKind::SwiGLU, {arena(proj), arena(x0), arena(glu)}, {n}));
  d.push_back(makeDispatch("mul", KernelKind::Binary, {arena(glu), arena(x1), output(0)}, {n}, {1}));
  a.entry_points.push_back(std::move(entry));
  return a;
}

std::vector<float> MixedModel::reference(const std::vector<float>& x, int64_t B, int64_t T) const {
  const int64_t rows = B * T, C = kChannels, D = kHeadDim;
  std::vector<float> x0 = x;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = r % T;
    for (int64_t j = 0; j < C; ++j) {
      const double angle = p / std::pow(10000.0, 2.0 * (j / 2) / C);
      x0[r * C + j] += static_cast<float>(j % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  }
  std::vector<float> x1(rows * C);
  for (int64_t r = 0; r < rows; ++r) {
    double ms = 0;
    for (int64_t c = 0; c < C; ++c) ms += x0[r * C + c] * x0[r * C + c];
    const double inv = 1.0 / std::sqrt(ms / C + 1e-6);
    for (int64_t c = 0; c < C; ++c) x1[r * C + c] = static_cast<float>(x0[r * C + c] * inv * rms_w[c]);
  }
  std::vector<float> q = matmul(x1, wq, rows, C, C, true);
  std::vector<float> k = matmul(x1, wk, rows, D, C, false);
  std::vector<float> v = matmul(x1, wv, rows, D, C, true);
  rope(q, rows, kHeads, D, T, 10000.0f);
  rope(k, rows, kKvHeads, D, T, 10000.0f);
  std::vector<float> att(rows * C, 0.0f);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t h = 0; h < kHeads; ++h) {
        const float* qv = &q[((b * T + t) * kHeads + h) * D];
        std::vector<double> scores(t + 1);
        double max_score = -1e300, total = 0;
        for (int64_t s = 0; s <= t; ++s) {
          const float* kv = &k[(b * T + s) * D];  // one kv head
          double dot = 0;
          for (int64_t i = 0; i < D; ++i) dot += qv[i] * kv[i];
          scores[s] = dot * scale;
          max_score = std::max(max_score, scores[s]);
        }
        for (double& s : scores) total += (s = std::exp(s - max_score));
        for (int64_t s = 0; s <= t; ++s) {
          for (int64_t i = 0; i < D; ++i) {
            att[((b * T + t) * kHeads + h) * D + i] += static_cast<float>(scores[s] / total * v[(b * T + s) * D + i]);
          }
        }
      }
    }
  }
  std::vector<float> proj = matmul(att, wo, rows, C, C, true);
  std::vector<float> y(rows * C);
  for (int64_t i = 0; i < rows * C; ++i) {
    proj[i] = gelu(proj[i]) + x0[i];
    y[i] = silu(proj[i]) * x0[i] * x1[i];
  }
  return y;
}

}  // namespace lathe::test
