// Binary (operands a, b, y; dims n; ints op: 0 add, 1 mul), grid-stride loop.
// Kernel parameters follow the artifact's convention: operands, then the parameter block.
extern "C" __global__ void binary_f32(const float* a, const float* b, float* y, const int* params) {
  const unsigned n = static_cast<unsigned>(params[0]);
  const int op = params[1];
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    y[i] = op == 0 ? a[i] + b[i] : a[i] * b[i];
  }
}
