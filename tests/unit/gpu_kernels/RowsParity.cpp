// Row kernels (codegen/gpu/lib/NormKernels.cpp, InferenceKernels.cpp): norms,
// embeddings, positions, rope and the KV-cache copies. The long sequences
// check the double-float position angles far from position 0.
#include "KernelParity.h"

namespace lathe::test {
namespace {

using fb::KernelKind;

const KernelCase kRows[] = {
    {"layernorm", KernelKind::LayerNorm, {37, 300}, {0}, {1e-5f}},
    {"layernorm_bias", KernelKind::LayerNorm, {37, 300}, {1}, {1e-5f}},
    {"layernorm_narrow", KernelKind::LayerNorm, {5, 7}, {1}, {1e-5f}},
    {"layernorm_wide", KernelKind::LayerNorm, {3, 2100}, {1}, {1e-5f}},
    {"layernorm_stats", KernelKind::LayerNormStats, {37, 300}, {}, {1e-5f}},
    {"rmsnorm", KernelKind::RMSNorm, {37, 300}, {}, {1e-6f}},
    {"rmsnorm_stats", KernelKind::RMSNormStats, {37, 300}, {}, {1e-6f}},
    // The norms write rows of C a multiple of 4 (300, 2100, 768) with 16-byte
    // accesses, other rows (7) one element at a time.
    {"layernorm_c768", KernelKind::LayerNorm, {37, 768}, {0}, {1e-5f}},
    {"layernorm_bias_c768", KernelKind::LayerNorm, {37, 768}, {1}, {1e-5f}},
    {"layernorm_c7", KernelKind::LayerNorm, {5, 7}, {0}, {1e-5f}},
    {"layernorm_stats_c768", KernelKind::LayerNormStats, {37, 768}, {}, {1e-5f}},
    {"layernorm_stats_c7", KernelKind::LayerNormStats, {5, 7}, {}, {1e-5f}},
    {"rmsnorm_c768", KernelKind::RMSNorm, {37, 768}, {}, {1e-6f}},
    {"rmsnorm_c7", KernelKind::RMSNorm, {5, 7}, {}, {1e-6f}},
    {"rmsnorm_stats_c768", KernelKind::RMSNormStats, {37, 768}, {}, {1e-6f}},
    {"rmsnorm_stats_c7", KernelKind::RMSNormStats, {5, 7}, {}, {1e-6f}},
    {"embedding", KernelKind::Embedding, {45, 77}, {}, {}},
    {"add_positions_learned", KernelKind::AddPositions, {3, 29, 70}, {0}, {}},
    {"add_positions_sinusoidal", KernelKind::AddPositions, {2, 3000, 66}, {1}, {}},
    {"rope", KernelKind::Rope, {2, 3000, 3, 64}, {}, {10000.0f}},
    {"rope_odd_half", KernelKind::Rope, {2, 17, 2, 6}, {}, {500000.0f}},
    {"rope_long_head", KernelKind::Rope, {1, 9, 2, 600}, {}, {10000.0f}},
    {"rope_at", KernelKind::RopeAt, {3, 5, 2, 8}, {}, {10000.0f}},
    {"add_positions_at_learned", KernelKind::AddPositionsAt, {3, 5, 16}, {0}, {}},
    {"add_positions_at_sinusoidal", KernelKind::AddPositionsAt, {3, 5, 16}, {1}, {}},
    {"kv_cache_write", KernelKind::KVCacheWrite, {2, 5, 3, 8, 3, 11}, {0}, {}},
    {"kv_cache_write_offsets", KernelKind::KVCacheWrite, {2, 5, 3, 8, 3, 11}, {1}, {}},
    {"gather_last", KernelKind::GatherLast, {3, 7, 50}, {0}, {}},
    {"gather_last_lengths", KernelKind::GatherLast, {3, 7, 50}, {1}, {}},
};
INSTANTIATE_TEST_SUITE_P(Rows, KernelParity, ::testing::ValuesIn(kRows), caseName);

}  // namespace
}  // namespace lathe::test
