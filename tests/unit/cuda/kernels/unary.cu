// Unary (operands x, y; dims n; ints act: 0 none, 3 relu, 4 silu), one element per thread.
extern "C" __global__ void unary_f32(const float* x, float* y, const int* params) {
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= static_cast<unsigned>(params[0])) return;
  const float v = x[i];
  const int act = params[1];
  y[i] = act == 3 ? fmaxf(v, 0.0f) : act == 4 ? v / (1.0f + expf(-v)) : v;
}
