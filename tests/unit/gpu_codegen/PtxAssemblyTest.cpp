// Every GPU kernel variant the compiler can emit for cuda lowers to PTX (for
// the lowest architecture) that ptxas assembles for sm_80 and sm_90, and GEMMs
// use tensor cores (numerics: the CUDA runtime's parity tests, on a machine
// with a GPU; the same kernels run emulated on Vulkan in gpu_kernels_test).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "KernelCases.h"
#include "lathe/codegen/gpu/GpuKernels.h"
#include "lathe/codegen/gpu/GpuProgramWriter.h"
#include "lathe/codegen/gpu/PtxAssembler.h"
#include "lathe/codegen/gpu/PtxLowering.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

namespace lathe::codegen::gpu {
namespace {

/// Kernels that stream f32 operands with 16-byte accesses when the length
/// allows (KernelBuilder::load4 / store4).
bool streamsVectors(KernelKind kind) {
  switch (kind) {
    case KernelKind::Unary:
    case KernelKind::Binary:
    case KernelKind::SwiGLU:
    case KernelKind::Accumulate:
    case KernelKind::AdamW:
    case KernelKind::LayerNorm:
    case KernelKind::LayerNormStats:
    case KernelKind::RMSNorm:
    case KernelKind::RMSNormStats: return true;
    default: return false;
  }
}

/// A 16-byte global load or store ("ld"/"st") of four 32-bit values: LLVM 22
/// spells it .v4.b32 where older versions wrote .v4.f32.
bool hasVectorAccess(const std::string& ptx, const std::string& op) {
  return ptx.find(op + ".global.v4.b32") != std::string::npos || ptx.find(op + ".global.v4.f32") != std::string::npos;
}

class PtxAssembly : public ::testing::TestWithParam<Case> {
protected:
  void SetUp() override {
    context_.loadDialect<mlir::gpu::GPUDialect, mlir::arith::ArithDialect, mlir::scf::SCFDialect,
                         mlir::memref::MemRefDialect, mlir::math::MathDialect, mlir::spirv::SPIRVDialect>();
  }
  mlir::MLIRContext context_;
};

TEST_P(PtxAssembly, AssemblesForSm80AndSm90) {
  std::string why;
  const std::string ptxas = findPtxas(why);
  if (ptxas.empty()) GTEST_SKIP() << why;
  const Case& c = GetParam();
  DispatchShape shape = shapeOf(c);
  GpuProgramOptions options;
  options.matmul_precision = c.precision;
  KernelPlan plan = planKernel(shape, targetLimits("cuda", options));
  ASSERT_FALSE(plan.name.empty()) << "no kernel for " << c.label;
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  mlir::ScopedDiagnosticHandler handler(&context_, [&](mlir::Diagnostic& diagnostic) {
    os << diagnostic << "\n";
    return mlir::success();
  });
  for (const KernelPlan* phase : phasesOf(plan)) {
    auto module = buildKernelModule(context_, shape, *phase);
    mlir::FailureOr<std::string> ptx = lowerToPtx(*module, "sm_80");
    ASSERT_TRUE(mlir::succeeded(ptx)) << phase->name << ": " << diagnostics;
    EXPECT_NE(ptx->find(".target sm_80"), std::string::npos);
    EXPECT_NE(ptx->find(".entry " + phase->name), std::string::npos) << "the entry point is the kernel's name";
    // Tiled GEMMs run on tensor cores: wmma with TF32 operands, at the precision asked for.
    const bool tiled_gemm =
        c.kind == KernelKind::GemmWeightGrad || (c.kind == KernelKind::Gemm && c.dim_bounds.empty());
    EXPECT_EQ(ptx->find("wmma.mma.sync.aligned.row") != std::string::npos ||
                  ptx->find("wmma.mma.sync.aligned.col") != std::string::npos,
              tiled_gemm)
        << phase->name;
    if (tiled_gemm) {
      EXPECT_NE(ptx->find(".tf32.tf32.f32"), std::string::npos) << phase->name;
      EXPECT_TRUE(hasVectorAccess(*ptx, "ld")) << phase->name << ": 16-byte loads of aligned operand rows";
      EXPECT_NE(phase->name.find(c.precision == MatmulPrecision::Tf32 ? "_tf32" : "_fp32"), std::string::npos)
          << phase->name;
    }
    if (streamsVectors(c.kind)) {
      EXPECT_TRUE(hasVectorAccess(*ptx, "ld")) << phase->name;
      EXPECT_TRUE(hasVectorAccess(*ptx, "st")) << phase->name;
      if (!c.f16_operands.empty()) EXPECT_NE(ptx->find("ld.global.v4.b16"), std::string::npos) << phase->name;
    }
    for (const char* arch : {"sm_80", "sm_90"}) {
      std::vector<uint8_t> cubin;
      std::string error;
      EXPECT_TRUE(assemblePtx(ptxas, *ptx, arch, cubin, error)) << phase->name << ": " << error;
      ASSERT_GE(cubin.size(), 4u);
      EXPECT_EQ(std::string(cubin.begin(), cubin.begin() + 4), "\x7f" "ELF") << arch;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllVariants, PtxAssembly, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.label); });
INSTANTIATE_TEST_SUITE_P(MatrixUnitVariants, PtxAssembly, ::testing::ValuesIn(kMatrixUnitCases),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.label); });

TEST(CudaArchs, LowestIsTheOldestNamed) {
  std::string error;
  EXPECT_EQ(lowestCudaArch({"sm_90", "sm_80"}, error), "sm_80");
  EXPECT_EQ(lowestCudaArch({"sm_90"}, error), "sm_90");
  EXPECT_TRUE(error.empty()) << error;
}

TEST(CudaArchs, TensorCoresNeedSm80OrNewerEverywhere) {
  GpuProgramOptions options;
  EXPECT_EQ(targetLimits("cuda", options).matrix_units, MatrixUnits::Native);  // sm_80, sm_90
  options.cuda_archs = {"sm_75", "sm_90"};  // Turing has no TF32 instructions
  EXPECT_EQ(targetLimits("cuda", options).matrix_units, MatrixUnits::None);
  options.cuda_archs = {"sm_120"};
  EXPECT_EQ(targetLimits("cuda", options).matrix_units, MatrixUnits::Native);
  options.tensor_cores = false;
  EXPECT_EQ(targetLimits("cuda", options).matrix_units, MatrixUnits::None);
  EXPECT_EQ(targetLimits("vulkan").matrix_units, MatrixUnits::None);
}

TEST(CudaArchs, UnknownOrMissingArchIsRefused) {
  std::string error;
  EXPECT_EQ(lowestCudaArch({"sm_80", "sm_42"}, error), "");
  EXPECT_NE(error.find("unknown CUDA architecture 'sm_42'"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(lowestCudaArch({}, error), "");
  EXPECT_FALSE(error.empty());
}

TEST(PtxAssembler, BadPtxFailsWithPtxasMessage) {
  std::string why;
  const std::string ptxas = findPtxas(why);
  if (ptxas.empty()) GTEST_SKIP() << why;
  std::vector<uint8_t> cubin;
  std::string error;
  EXPECT_FALSE(assemblePtx(ptxas, ".version 7.0\n.target sm_80\n.address_size 64\nnot ptx\n", "sm_80", cubin, error));
  EXPECT_NE(error.find("ptxas -arch=sm_80 failed"), std::string::npos) << error;
}

TEST(PtxAssembler, CudaRootWithoutPtxasIsReported) {
  const char* saved = std::getenv("CUDA_ROOT");
  const std::string saved_value = saved ? saved : "";
  setenv("CUDA_ROOT", "/nonexistent", 1);
  std::string error;
  const std::string ptxas = findPtxas(error);
  if (saved) setenv("CUDA_ROOT", saved_value.c_str(), 1);
  else unsetenv("CUDA_ROOT");
  EXPECT_EQ(ptxas, "");
  EXPECT_NE(error.find("ptxas not found: install the CUDA toolkit or set CUDA_ROOT"), std::string::npos) << error;
}

}  // namespace
}  // namespace lathe::codegen::gpu
