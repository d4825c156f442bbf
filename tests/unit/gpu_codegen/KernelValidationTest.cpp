// Every GPU kernel variant the compiler can emit lowers to SPIR-V that the
// Khronos validator accepts for Vulkan 1.2 (numerics: tests/unit/vulkan and e2e).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "lathe/codegen/gpu/GpuKernels.h"
#include "lathe/codegen/gpu/SpirvLowering.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/IR/MLIRContext.h"

namespace lathe::codegen::gpu {
namespace {

using fb::KernelKind;

struct Case {
  const char* label;
  KernelKind kind;
  size_t operands;
  int dims;
  std::vector<int64_t> ints;
  int floats;
};

/// One dispatch per kernel variant, shaped as the artifact writer shapes them.
const Case kCases[] = {
    {"unary_gelu", KernelKind::Unary, 2, 1, {1}, 0},
    {"unary_gelu_tanh", KernelKind::Unary, 2, 1, {2}, 0},
    {"unary_relu", KernelKind::Unary, 2, 1, {3}, 0},
    {"unary_silu", KernelKind::Unary, 2, 1, {4}, 0},
    {"binary_add", KernelKind::Binary, 3, 1, {0}, 0},
    {"binary_mul", KernelKind::Binary, 3, 1, {1}, 0},
    {"swiglu", KernelKind::SwiGLU, 3, 1, {}, 0},
    {"accumulate", KernelKind::Accumulate, 2, 1, {}, 0},
    // Row kernels: norms, embeddings, positions (NormKernels.cpp) and the KV-cache family (InferenceKernels.cpp).
    {"layernorm", KernelKind::LayerNorm, 3, 2, {0}, 1},
    {"layernorm_bias", KernelKind::LayerNorm, 4, 2, {1}, 1},
    {"layernorm_stats", KernelKind::LayerNormStats, 6, 2, {}, 1},
    {"rmsnorm", KernelKind::RMSNorm, 3, 2, {}, 1},
    {"rmsnorm_stats", KernelKind::RMSNormStats, 4, 2, {}, 1},
    {"embedding", KernelKind::Embedding, 3, 2, {}, 0},
    {"add_positions_learned", KernelKind::AddPositions, 2, 3, {0}, 0},
    {"add_positions_sinusoidal", KernelKind::AddPositions, 1, 3, {1}, 0},
    {"rope", KernelKind::Rope, 1, 4, {}, 1},
    {"kv_cache_write", KernelKind::KVCacheWrite, 2, 6, {0}, 0},
    {"kv_cache_write_offsets", KernelKind::KVCacheWrite, 3, 6, {1}, 0},
    {"gather_last", KernelKind::GatherLast, 2, 3, {0}, 0},
    {"gather_last_lengths", KernelKind::GatherLast, 3, 3, {1}, 0},
    {"rope_at", KernelKind::RopeAt, 2, 4, {}, 1},
    {"add_positions_at_learned", KernelKind::AddPositionsAt, 3, 3, {0}, 0},
    {"add_positions_at_sinusoidal", KernelKind::AddPositionsAt, 2, 3, {1}, 0},
};

class KernelValidation : public ::testing::TestWithParam<Case> {
protected:
  void SetUp() override {
    context_.loadDialect<mlir::gpu::GPUDialect, mlir::arith::ArithDialect, mlir::scf::SCFDialect,
                         mlir::memref::MemRefDialect, mlir::math::MathDialect, mlir::spirv::SPIRVDialect>();
  }
  mlir::MLIRContext context_;
};

TEST_P(KernelValidation, LowersToValidVulkanSpirv) {
  const Case& c = GetParam();
  DispatchShape shape{c.kind, operandElements(c.kind, c.operands, c.ints), c.dims, c.ints, c.floats};
  KernelPlan plan = planKernel(shape, GpuLimits{});
  ASSERT_FALSE(plan.name.empty()) << "no kernel for " << c.label;
  auto module = buildKernelModule(context_, shape, plan);
  ASSERT_TRUE(mlir::succeeded(module->verify()));
  auto spirv = lowerToSpirv(*module);
  ASSERT_TRUE(mlir::succeeded(spirv));
  const std::string path = ::testing::TempDir() + "/" + plan.name + ".spv";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(spirv->words.data()), static_cast<std::streamsize>(spirv->words.size() * 4));
  const std::string command = std::string(LATHE_SPIRV_VAL) + " --target-env vulkan1.2 " + path;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  if (!getenv("KEEP_SPV")) std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(AllVariants, KernelValidation, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.label); });

}  // namespace
}  // namespace lathe::codegen::gpu
