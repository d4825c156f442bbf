// Unary (bufs x, y; dims n; ints act: 0 none, 3 relu, 4 silu), one element per invocation.
#version 450
layout(local_size_x = 32) in;
layout(set = 0, binding = 0) readonly buffer X { float data[]; } x;
layout(set = 0, binding = 1) writeonly buffer Y { float data[]; } y;
layout(set = 0, binding = 2) readonly buffer Params { int words[]; } params;  // n, act

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= uint(params.words[0])) return;
  const float v = x.data[i];
  const int act = params.words[1];
  y.data[i] = act == 3 ? max(v, 0.0) : act == 4 ? v / (1.0 + exp(-v)) : v;
}
