#include "KernelMath.h"

namespace lathe::codegen::gpu {

V sigmoid(KernelBuilder& k, V x) { return k.f32(1.0) / (k.exp(-x) + k.f32(1.0)); }

V activate(KernelBuilder& k, int64_t act, V x) {
  switch (act) {
    case 1: return x * (k.erf(x * 0.7071067811865476) + k.f32(1.0)) * 0.5;
    case 2: {
      // x sigmoid(2u) = 0.5 x (1 + tanh u), without cancellation for x < 0 (as on the cpu).
      V u = (x + x * x * x * 0.044715) * 0.7978845608028654;
      return x * sigmoid(k, u * 2.0);
    }
    case 3: return k.max(x, k.f32(0.0));
    case 4: return x * sigmoid(k, x);
    default: return x;
  }
}

V normalCdf(KernelBuilder& k, V x) {
  // erfc(z), z = |x| / sqrt2 >= 0: t exp(-z^2 + P(t)), t = 1 / (1 + z/2) (Numerical Recipes' erfcc).
  V z = k.abs(x) * 0.7071067811865476;
  V t = k.f32(1.0) / (z * 0.5 + k.f32(1.0));
  const double coefficients[] = {0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807,
                                 -0.18628806, 0.09678418,  0.37409196, 1.00002368,  -1.26551223};
  V poly = k.f32(coefficients[0]);
  for (size_t i = 1; i < sizeof(coefficients) / sizeof(coefficients[0]); ++i) poly = poly * t + k.f32(coefficients[i]);
  V erfc_abs = t * k.exp(poly - x * x * 0.5);
  return k.select(x >= k.f32(0.0), k.f32(2.0) - erfc_abs, erfc_abs) * 0.5;
}

V activationDerivative(KernelBuilder& k, int64_t act, V x) {
  switch (act) {
    case 1:  // Phi(x) + x phi(x)
      return normalCdf(k, x) + x * k.exp(x * x * -0.5) * 0.3989422804014327;
    case 2: {
      // d/dx [x s], s = sigmoid(2u): s + 2 x s (1 - s) u', with 1 - s = sigmoid(-2u).
      V u = (x + x * x * x * 0.044715) * 0.7978845608028654;
      V du = (x * x * (3.0 * 0.044715) + k.f32(1.0)) * 0.7978845608028654;
      V s = sigmoid(k, u * 2.0);
      return s + x * s * sigmoid(k, u * -2.0) * du * 2.0;
    }
    case 3: return k.select(x > k.f32(0.0), k.f32(1.0), k.f32(0.0));
    case 4: {
      V s = sigmoid(k, x);
      return s + x * s * sigmoid(k, -x);
    }
    default: return k.f32(1.0);
  }
}

void forEachElement(KernelBuilder& k, V n, const std::function<void(V)>& body) {
  V start = k.blockId() * static_cast<int64_t>(kLinearWorkgroup) + k.threadId();
  V stride = k.gridDim() * static_cast<int64_t>(kLinearWorkgroup);
  k.loop(start, n, stride, body);
}

std::vector<V> ElementSpan::load(KernelBuilder& k, mlir::Value memref, V base) const {
  if (width == 1) return {k.load(memref, base + first)};
  std::array<V, 4> quad = k.load4(memref, base + first);
  return std::vector<V>(quad.begin(), quad.end());
}

std::vector<V> ElementSpan::load(KernelBuilder& k, mlir::Value memref) const { return load(k, memref, k.index(0)); }

void ElementSpan::store(KernelBuilder& k, const std::vector<V>& values, mlir::Value memref, V base) const {
  if (width == 1) return k.store(values[0], memref, base + first);
  k.store4({values[0], values[1], values[2], values[3]}, memref, base + first);
}

void ElementSpan::store(KernelBuilder& k, const std::vector<V>& values, mlir::Value memref) const {
  store(k, values, memref, k.index(0));
}

void forEachSpan(KernelBuilder& k, V n, V start, V stride, const std::function<void(const ElementSpan&)>& body) {
  static_assert(kVectorWidth == 4, "KernelBuilder::load4 moves 4 elements");
  k.ifElse(
      n % kVectorWidth == k.index(0),
      [&] { k.loop(start, n / kVectorWidth, stride, [&](V q) { body({q * kVectorWidth, kVectorWidth}); }); },
      [&] { k.loop(start, n, stride, [&](V i) { body({i, 1}); }); });
}

void mapElements(KernelBuilder& k, V n, const std::vector<mlir::Value>& reads, const std::vector<mlir::Value>& writes,
                 const std::function<std::vector<V>(const std::vector<V>&)>& fn) {
  V start = k.blockId() * static_cast<int64_t>(kLinearWorkgroup) + k.threadId();
  V stride = k.gridDim() * static_cast<int64_t>(kLinearWorkgroup);
  forEachSpan(k, n, start, stride, [&](const ElementSpan& span) {
    std::vector<std::vector<V>> inputs;
    for (mlir::Value memref : reads) inputs.push_back(span.load(k, memref));
    std::vector<std::vector<V>> outputs(writes.size());
    for (int64_t lane = 0; lane < span.width; ++lane) {
      std::vector<V> arguments;
      for (const std::vector<V>& input : inputs) arguments.push_back(input[lane]);
      std::vector<V> results = fn(arguments);
      for (size_t w = 0; w < writes.size(); ++w) outputs[w].push_back(results[w]);
    }
    for (size_t w = 0; w < writes.size(); ++w) span.store(k, outputs[w], writes[w]);
  });
}

}  // namespace lathe::codegen::gpu
