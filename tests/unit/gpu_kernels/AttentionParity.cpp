// Attention family (codegen/gpu/lib/AttentionKernels.cpp). Dims: B, T, H, Hkv, D
// (CachedAttention: + Bmax, S). Ragged T, grouped KV heads, and D above the
// 128-dim chunk the kernels stage at once (160, 136) to cover the multi-chunk path.
#include "KernelParity.h"

namespace lathe::test {
namespace {

using fb::KernelKind;

const KernelCase kAttention[] = {
    {"attention_causal", KernelKind::Attention, {2, 37, 4, 2, 64}, {1}, {0.125f}},
    {"attention_full", KernelKind::Attention, {2, 19, 3, 3, 40}, {0}, {0.158f}},
    {"attention_causal_d128", KernelKind::Attention, {1, 50, 8, 2, 128}, {1}, {0.0884f}},
    {"attention_causal_d160", KernelKind::Attention, {1, 21, 2, 1, 160}, {1}, {0.079f}},
    {"attention_lse_causal", KernelKind::AttentionLse, {2, 37, 4, 2, 64}, {1}, {0.125f}},
    {"attention_lse_full_d160", KernelKind::AttentionLse, {1, 18, 2, 2, 160}, {0}, {0.079f}},
    {"cached_attention_decode", KernelKind::CachedAttention, {3, 1, 4, 2, 64, 4, 300}, {}, {0.125f}},
    {"cached_attention_decode_d160", KernelKind::CachedAttention, {2, 1, 2, 1, 160, 2, 150}, {}, {0.079f}},
    {"cached_attention_prefill", KernelKind::CachedAttention, {2, 23, 4, 4, 48, 3, 64}, {}, {0.144f}},
    {"attention_grad_causal", KernelKind::AttentionGrad, {2, 37, 4, 2, 64}, {1}, {0.125f}},
    {"attention_grad_full", KernelKind::AttentionGrad, {1, 29, 3, 1, 48}, {0}, {0.144f}},
    {"attention_grad_causal_d136", KernelKind::AttentionGrad, {1, 19, 2, 2, 136}, {1}, {0.086f}},
    // Long rows (T = 1024). Then a dk/dv workgroup that walks 160 heads x 64 query
    // rows of its kv group: past lavapipe's 65535 back edges per invocation
    // unless the per-tile loops are unrolled (KernelBuilder::unrolledLoop).
    {"attention_causal_t1024", KernelKind::Attention, {1, 1024, 4, 2, 64}, {1}, {0.125f}},
    {"attention_lse_full_t1024", KernelKind::AttentionLse, {1, 1024, 2, 2, 64}, {0}, {0.125f}},
    {"attention_grad_full_group160", KernelKind::AttentionGrad, {1, 64, 160, 1, 4}, {0}, {0.5f}},
};
INSTANTIATE_TEST_SUITE_P(Attention, KernelParity, ::testing::ValuesIn(kAttention), caseName);

}  // namespace
}  // namespace lathe::test
