// Binary (bufs a, b, y; dims n; ints op: 0 add, 1 mul), grid-stride loop.
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer A { float data[]; } a;
layout(set = 0, binding = 1) readonly buffer B { float data[]; } b;
layout(set = 0, binding = 2) writeonly buffer Y { float data[]; } y;
layout(set = 0, binding = 3) readonly buffer Params { int words[]; } params;  // n, op

void main() {
  const uint n = uint(params.words[0]);
  const int op = params.words[1];
  for (uint i = gl_GlobalInvocationID.x; i < n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
    y.data[i] = op == 0 ? a.data[i] + b.data[i] : a.data[i] * b.data[i];
  }
}
