// Every GPU kernel variant the compiler can emit lowers to SPIR-V that the
// Khronos validator accepts for Vulkan 1.2 (numerics: tests/unit/vulkan and e2e).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "KernelCases.h"
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
