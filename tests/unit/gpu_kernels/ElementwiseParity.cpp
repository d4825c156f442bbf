#include "KernelParity.h"

namespace lathe::test {
namespace {

using fb::KernelKind;

// n a multiple of 4 takes the 16-byte path (mapElements), any other n the
// scalar one: both appear per kernel, down to a single element and a single span.
const KernelCase kElementwise[] = {
    {"unary_gelu", KernelKind::Unary, {1037}, {1}, {}},
    {"unary_gelu_tanh", KernelKind::Unary, {1037}, {2}, {}},
    {"unary_relu", KernelKind::Unary, {1037}, {3}, {}},
    {"unary_silu", KernelKind::Unary, {1037}, {4}, {}},
    {"binary_add", KernelKind::Binary, {999}, {0}, {}},
    {"binary_mul", KernelKind::Binary, {999}, {1}, {}},
    {"swiglu", KernelKind::SwiGLU, {555}, {}, {}},
    {"accumulate", KernelKind::Accumulate, {70000}, {}, {}},
    {"unary_gelu_n4096", KernelKind::Unary, {4096}, {1}, {}},
    {"unary_silu_n1036", KernelKind::Unary, {1036}, {4}, {}},
    {"binary_add_n1000", KernelKind::Binary, {1000}, {0}, {}},
    {"binary_mul_n4", KernelKind::Binary, {4}, {1}, {}},
    {"binary_mul_n3", KernelKind::Binary, {3}, {1}, {}},
    {"swiglu_n556", KernelKind::SwiGLU, {556}, {}, {}},
    {"swiglu_n1", KernelKind::SwiGLU, {1}, {}, {}},
    {"accumulate_n70001", KernelKind::Accumulate, {70001}, {}, {}},
    {"accumulate_n8", KernelKind::Accumulate, {8}, {}, {}},
};
INSTANTIATE_TEST_SUITE_P(Elementwise, KernelParity, ::testing::ValuesIn(kElementwise), caseName);

}  // namespace
}  // namespace lathe::test
