// Training-step kernels (codegen/gpu/lib/TrainingKernels.cpp): cross-entropy,
// parameter gradients, backward passes, dropout and the optimizer. Parameter
// gradients and optimizer states are states that start random, so their
// accumulation is checked too.
#include "KernelParity.h"

namespace lathe::test {
namespace {

using fb::KernelKind;

enum Act : int64_t { kNone, kGelu, kGeluTanh, kRelu, kSilu };

constexpr int64_t kIgnoreIndex = -100;

/// hyper = [lr, beta1, beta2, eps, weight_decay, clip, grad_scale, step] (CpuDevice::adamw).
std::vector<float> hyper(float lr, float weight_decay, float clip, float grad_scale, float step) {
  return {lr, 0.9f, 0.999f, 1e-8f, weight_decay, clip, grad_scale, step};
}

const KernelCase kTraining[] = {
    // Dims (rows, V, 2); some targets are the ignore index, one case ignores all.
    {"cross_entropy_v37", KernelKind::CrossEntropy, {64, 37, 2}, {kIgnoreIndex}, {}, 1e-4, 37, {}, 0.25f},
    {"cross_entropy_v50257", KernelKind::CrossEntropy, {64, 50257, 2}, {kIgnoreIndex}, {}, 1e-4, 37, {}, 0.25f},
    {"cross_entropy_grad_v37", KernelKind::CrossEntropyGrad, {64, 37, 2}, {kIgnoreIndex}, {}, 1e-4, 37, {}, 0.25f},
    {"cross_entropy_grad_v50257", KernelKind::CrossEntropyGrad, {64, 50257, 2}, {kIgnoreIndex}, {}, 1e-4, 37, {},
     0.25f},
    {"cross_entropy_grad_odd_rows", KernelKind::CrossEntropyGrad, {7, 1000, 2}, {3}, {}, 1e-4, 37, {}, 0.5f},
    {"cross_entropy_grad_all_ignored", KernelKind::CrossEntropyGrad, {5, 37, 2}, {kIgnoreIndex}, {}, 1e-4, 37, {},
     1.0f},
    // Rows in parallel (a workgroup per row): many rows, V not a multiple of the
    // workgroup, and more rows than a grid axis allows (65535 on lavapipe).
    {"cross_entropy_rows300_v1000", KernelKind::CrossEntropy, {300, 1000, 2}, {kIgnoreIndex}, {}, 1e-4, 37, {}, 0.2f},
    {"cross_entropy_grad_rows300_v1000", KernelKind::CrossEntropyGrad, {300, 1000, 2}, {kIgnoreIndex}, {}, 1e-4, 37,
     {}, 0.2f},
    {"cross_entropy_grad_rows256_v50257", KernelKind::CrossEntropyGrad, {256, 50257, 2}, {kIgnoreIndex}, {}, 1e-4, 37,
     {}, 0.1f},
    {"cross_entropy_rows600_v37", KernelKind::CrossEntropy, {600, 37, 2}, {kIgnoreIndex}, {}, 1e-4, 37, {}, 0.0f},
    {"cross_entropy_grad_rows1031_v3001", KernelKind::CrossEntropyGrad, {1031, 3001, 2}, {kIgnoreIndex}, {}, 1e-4, 37,
     {}, 0.5f},
    {"cross_entropy_rows70001_v7", KernelKind::CrossEntropy, {70001, 7, 2}, {kIgnoreIndex}, {}, 1e-4, 37, {}, 0.1f},
    {"cross_entropy_grad_rows70001_v7", KernelKind::CrossEntropyGrad, {70001, 7, 2}, {kIgnoreIndex}, {}, 1e-4, 37, {},
     0.1f},
    // dtable(V, C) += dY(rows, C) at ids(rows): few ids (repeats) and a GPT-2 vocabulary.
    {"embedding_grad", KernelKind::EmbeddingGrad, {45, 77, 37}, {}, {}},
    {"embedding_grad_v50257", KernelKind::EmbeddingGrad, {128, 64, 50257}, {}, {}},
    // Each invocation walks every row: a training batch of tokens, and more rows than
    // lavapipe lets one invocation loop (65535 back edges: KernelBuilder::unrolledLoop).
    {"embedding_grad_rows16384", KernelKind::EmbeddingGrad, {16384, 768, 8192}, {}, {}, 1e-4, 8192},
    {"embedding_grad_rows70000", KernelKind::EmbeddingGrad, {70000, 64, 37}, {}, {}},
    // dpos(P, C) += sum over b of dY(B, T, C), P > T.
    {"positions_grad", KernelKind::PositionsGrad, {3, 29, 70, 40}, {}, {}},
    {"positions_grad_wide", KernelKind::PositionsGrad, {2, 64, 768, 64}, {}, {}},
    {"positions_grad_16x1024x768", KernelKind::PositionsGrad, {16, 1024, 768, 1024}, {}, {}},
    // One invocation sums 65536 rows: one past lavapipe's loop limit without unrolling.
    {"positions_grad_batch65536", KernelKind::PositionsGrad, {65536, 1, 1, 1}, {}, {}},
    {"layer_norm_grad_c37", KernelKind::LayerNormGrad, {64, 37}, {}, {}},
    {"layer_norm_grad_c768", KernelKind::LayerNormGrad, {64, 768}, {}, {}},
    {"layer_norm_grad_many_rows", KernelKind::LayerNormGrad, {1500, 37}, {}, {}},
    {"layer_norm_grad_16384x384", KernelKind::LayerNormGrad, {16384, 384}, {}, {}},
    {"rms_norm_grad_c37", KernelKind::RMSNormGrad, {64, 37}, {}, {}},
    {"rms_norm_grad_c768", KernelKind::RMSNormGrad, {64, 768}, {}, {}},
    {"rms_norm_grad_many_rows", KernelKind::RMSNormGrad, {1500, 37}, {}, {}},
    {"rms_norm_grad_16384x768", KernelKind::RMSNormGrad, {16384, 768}, {}, {}},
    // Long sequences: angles of thousands of radians (see RowsParity's rope).
    {"rope_grad", KernelKind::RopeGrad, {2, 3000, 3, 64}, {}, {10000.0f}},
    {"rope_grad_odd_half", KernelKind::RopeGrad, {2, 17, 2, 6}, {}, {500000.0f}},
    {"rope_grad_long_head", KernelKind::RopeGrad, {1, 9, 2, 600}, {}, {10000.0f}},
    {"unary_grad_none", KernelKind::UnaryGrad, {1037}, {kNone}, {}},
    {"unary_grad_gelu", KernelKind::UnaryGrad, {1037}, {kGelu}, {}},
    {"unary_grad_gelu_tanh", KernelKind::UnaryGrad, {1037}, {kGeluTanh}, {}},
    {"unary_grad_relu", KernelKind::UnaryGrad, {1037}, {kRelu}, {}},
    {"unary_grad_silu", KernelKind::UnaryGrad, {1037}, {kSilu}, {}},
    {"swiglu_grad", KernelKind::SwiGLUGrad, {1037}, {}, {}},
    // ints: stream; floats: p. The mask must match bit for bit.
    {"dropout", KernelKind::Dropout, {70001}, {3}, {0.1f}},
    {"dropout_half", KernelKind::Dropout, {1037}, {0}, {0.5f}},
    // hyper fixed; "norm" random unless fixed. zero_param: the update alone
    // (param 0), so the comparison's scale is the update itself.
    {"adamw", KernelKind::AdamW, {1037}, {0}, {}, 1e-4, 37, {{"hyper", hyper(1e-3f, 0.1f, 0.0f, 1.0f, 1.0f)}}},
    {"adamw_decay", KernelKind::AdamW, {1037}, {1}, {}, 1e-4, 37, {{"hyper", hyper(1e-2f, 0.1f, 0.0f, 1.0f, 3.0f)}}},
    {"adamw_zero_param_step1", KernelKind::AdamW, {1037}, {0}, {}, 1e-4, 37,
     {{"hyper", hyper(1e-3f, 0.0f, 0.0f, 0.5f, 1.0f)}, {"param", {}}}},
    {"adamw_zero_param_step1000", KernelKind::AdamW, {1037}, {1}, {}, 1e-4, 37,
     {{"hyper", hyper(1e-3f, 0.1f, 0.0f, 1.0f, 1000.0f)}, {"param", {}}}},
    {"adamw_clipped", KernelKind::AdamW, {1037}, {1}, {}, 1e-4, 37,
     {{"hyper", hyper(1e-3f, 0.1f, 1.0f, 1.0f, 7.0f)}, {"norm", {2.5f}}, {"param", {}}}},
    {"adamw_below_clip", KernelKind::AdamW, {1037}, {0}, {}, 1e-4, 37,
     {{"hyper", hyper(1e-3f, 0.1f, 1.0f, 1.0f, 7.0f)}, {"norm", {0.5f}}, {"param", {}}}},
    // n a multiple of 4: the 16-byte path (the cases above take the scalar one).
    {"adamw_n4096", KernelKind::AdamW, {4096}, {0}, {}, 1e-4, 37, {{"hyper", hyper(1e-3f, 0.1f, 0.0f, 1.0f, 1.0f)}}},
    {"adamw_decay_n1036", KernelKind::AdamW, {1036}, {1}, {}, 1e-4, 37, {{"hyper", hyper(1e-2f, 0.1f, 0.0f, 1.0f, 3.0f)}}},
    {"adamw_clipped_n70000", KernelKind::AdamW, {70000}, {1}, {}, 1e-4, 37,
     {{"hyper", hyper(1e-3f, 0.1f, 1.0f, 1.0f, 7.0f)}, {"norm", {2.5f}}, {"param", {}}}},
    // One dim per gradient; ints: count. norm = sqrt(sum of squares) * |grad_scale|.
    {"grad_norm_one", KernelKind::GradNorm, {1037}, {1}, {}, 1e-4, 37, {{"hyper", hyper(1e-3f, 0.1f, 1.0f, 0.5f, 1.0f)}}},
    {"grad_norm_three", KernelKind::GradNorm, {1000, 70000, 5}, {3}, {}, 1e-4, 37,
     {{"hyper", hyper(1e-3f, 0.1f, 1.0f, -0.25f, 2.0f)}}},
    // One workgroup per gradient: a GPT-2-sized parameter list, a 4M gradient, and a
    // 32M one (128 MB, near lavapipe's storage-buffer range), whose sum needs more
    // loop iterations per invocation than lavapipe allows without unrolling.
    {"grad_norm_40", KernelKind::GradNorm,
     {1000003, 1769472, 768, 2304, 589824, 2359296, 3072, 3216448, 786432,
      1000003, 1769472, 768, 2304, 589824, 2359296, 3072, 3216448, 786432,
      1000003, 1769472, 768, 2304, 589824, 2359296, 3072, 3216448, 786432,
      1000003, 1769472, 768, 2304, 589824, 2359296, 3072, 3216448, 786432,
      1000003, 1769472, 768, 2304},
     {40}, {}, 1e-4, 37,
     {{"hyper", hyper(1e-3f, 0.1f, 1.0f, 0.5f, 1.0f)}}},
    {"grad_norm_4m", KernelKind::GradNorm, {4194304}, {1}, {}, 1e-4, 37, {{"hyper", hyper(1e-3f, 0.1f, 1.0f, 0.5f, 1.0f)}}},
    {"grad_norm_32m", KernelKind::GradNorm, {32000000}, {1}, {}, 1e-4, 37, {{"hyper", hyper(1e-3f, 0.1f, 1.0f, 0.5f, 1.0f)}}},
};
INSTANTIATE_TEST_SUITE_P(Training, KernelParity, ::testing::ValuesIn(kTraining), caseName);

}  // namespace
}  // namespace lathe::test
