#include "KernelParity.h"

namespace lathe::test {
namespace {

using fb::KernelKind;

const KernelCase kElementwise[] = {
    {"unary_gelu", KernelKind::Unary, {1037}, {1}, {}},
    {"unary_gelu_tanh", KernelKind::Unary, {1037}, {2}, {}},
    {"unary_relu", KernelKind::Unary, {1037}, {3}, {}},
    {"unary_silu", KernelKind::Unary, {1037}, {4}, {}},
    {"binary_add", KernelKind::Binary, {999}, {0}, {}},
    {"binary_mul", KernelKind::Binary, {999}, {1}, {}},
    {"swiglu", KernelKind::SwiGLU, {555}, {}, {}},
    {"accumulate", KernelKind::Accumulate, {70000}, {}, {}},
};
INSTANTIATE_TEST_SUITE_P(Elementwise, KernelParity, ::testing::ValuesIn(kElementwise), caseName);

}  // namespace
}  // namespace lathe::test
