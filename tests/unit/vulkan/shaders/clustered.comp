// A Unary-shaped kernel that needs subgroup clustered operations (which lavapipe lacks).
#version 450
#extension GL_KHR_shader_subgroup_clustered : require
layout(local_size_x = 32) in;
layout(set = 0, binding = 0) readonly buffer X { float data[]; } x;
layout(set = 0, binding = 1) writeonly buffer Y { float data[]; } y;
layout(set = 0, binding = 2) readonly buffer Params { int words[]; } params;

void main() {
  const uint i = gl_GlobalInvocationID.x;
  const float v = i < uint(params.words[0]) ? x.data[i] : 0.0;
  const float sum = subgroupClusteredAdd(v, 4);
  if (i < uint(params.words[0])) y.data[i] = sum;
}
