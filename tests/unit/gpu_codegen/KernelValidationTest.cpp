// Every GPU kernel variant the compiler can emit lowers to SPIR-V that the
// Khronos validator accepts for Vulkan 1.2 (numerics: tests/unit/vulkan and e2e),
// the matrix-unit GEMMs too, with their matrix ops emulated.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "KernelCases.h"
#include "lathe/codegen/gpu/GpuKernels.h"
#include "lathe/codegen/gpu/GpuProgramWriter.h"
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
  DispatchShape shape = shapeOf(c);
  GpuProgramOptions options;
  options.matmul_precision = c.precision;
  options.emulate_matrix_units = std::string(c.label).rfind("mu_", 0) == 0;
  KernelPlan plan = planKernel(shape, targetLimits("vulkan", options));
  ASSERT_FALSE(plan.name.empty()) << "no kernel for " << c.label;
  if (std::string(c.label).rfind("gemv_", 0) == 0) EXPECT_EQ(plan.name, c.label);  // the bound picks the variant
  std::string f16_suffix;
  for (size_t i : c.f16_operands) f16_suffix += "_" + std::to_string(i);
  if (!f16_suffix.empty()) {
    EXPECT_EQ(plan.name.substr(plan.name.size() - std::min(plan.name.size(), 4 + f16_suffix.size())), "_w16" + f16_suffix);
  }
  for (const KernelPlan* phase : phasesOf(plan)) {
    auto module = buildKernelModule(context_, shape, *phase);
    ASSERT_TRUE(mlir::succeeded(module->verify())) << phase->name;
    auto spirv = lowerToSpirv(*module);
    ASSERT_TRUE(mlir::succeeded(spirv)) << phase->name;
    // fp16 is declared exactly where a kernel reads fp16 weights.
    const auto declares = [](const std::vector<std::string>& list, const char* name) {
      return std::find(list.begin(), list.end(), name) != list.end();
    };
    const bool f16 = !c.f16_operands.empty();
    EXPECT_EQ(declares(spirv->capabilities, "StorageBuffer16BitAccess"), f16) << phase->name;
    EXPECT_EQ(declares(spirv->capabilities, "Float16"), f16) << phase->name;
    EXPECT_EQ(declares(spirv->extensions, "SPV_KHR_16bit_storage"), f16) << phase->name;
    const std::string path = ::testing::TempDir() + "/" + phase->name + ".spv";
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(spirv->words.data()), static_cast<std::streamsize>(spirv->words.size() * 4));
    const std::string command = std::string(LATHE_SPIRV_VAL) + " --target-env vulkan1.2 " + path;
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    if (!getenv("KEEP_SPV")) std::remove(path.c_str());
  }
}

// Rows run in parallel, one workgroup per row (a stride loop: any row count
// fits the grid); only the phases that sum across rows are one workgroup.
TEST(CrossEntropyPlan, ChainsRowsInParallelWithOneWorkgroupSums) {
  const auto expectPhases = [](const KernelPlan& plan, const std::vector<std::string>& names, size_t rows_phase) {
    const std::vector<const KernelPlan*> phases = phasesOf(plan);
    ASSERT_EQ(phases.size(), names.size());
    for (size_t i = 0; i < phases.size(); ++i) {
      EXPECT_EQ(phases[i]->name, names[i]);
      const GridAxisPlan& axis = phases[i]->grid[0];
      if (i == rows_phase) {
        EXPECT_EQ(axis.dims, std::vector<int>{0}) << names[i];
        EXPECT_EQ(axis.divisor, 1u) << names[i];
        EXPECT_TRUE(axis.stride_loop) << names[i];
      } else {
        EXPECT_TRUE(axis.dims.empty()) << names[i];
      }
      if (i > 0) EXPECT_TRUE(phases[i]->next_phases.empty()) << "chains are flat: " << names[i];
    }
  };
  const DispatchShape forward{KernelKind::CrossEntropy, operandElements(KernelKind::CrossEntropy, 4, {-100}), 3, {-100}, 0};
  expectPhases(planKernel(forward, GpuLimits{}), {"cross_entropy_rows", "cross_entropy_mean"}, 0);
  const DispatchShape grad{KernelKind::CrossEntropyGrad, operandElements(KernelKind::CrossEntropyGrad, 4, {-100}), 3,
                           {-100}, 0};
  expectPhases(planKernel(grad, GpuLimits{}), {"cross_entropy_count", "cross_entropy_grad_rows", "cross_entropy_mean"},
               1);
}

INSTANTIATE_TEST_SUITE_P(AllVariants, KernelValidation, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.label); });
INSTANTIATE_TEST_SUITE_P(MatrixUnitVariants, KernelValidation, ::testing::ValuesIn(kMatrixUnitCases),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.label); });

}  // namespace
}  // namespace lathe::codegen::gpu
