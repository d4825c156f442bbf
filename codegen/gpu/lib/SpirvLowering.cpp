#include "lathe/codegen/gpu/SpirvLowering.h"

#include "mlir/Conversion/GPUToSPIRV/GPUToSPIRVPass.h"
#include "mlir/Conversion/MathToSPIRV/MathToSPIRVPass.h"
#include "mlir/Conversion/MemRefToSPIRV/MemRefToSPIRVPass.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Dialect/SPIRV/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/SPIRV/Serialization.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"

namespace lathe::codegen::gpu {

using namespace mlir;

namespace {

/// SPIR-V 1.3 (Vulkan 1.1+; from 1.4 on every global would be an entry-point
/// interface, which the update-vce pass would then contradict) with the
/// subgroup operations the kernels use and fp16 storage buffers (fp16
/// weights; MLIR's converter also needs Float16 for the loaded f16 value
/// before it is widened); the update-vce pass then trims the module's
/// requirements to what it uses.
spirv::TargetEnvAttr vulkanTargetEnv(MLIRContext* context) {
  using spirv::Capability;
  using spirv::Extension;
  auto triple = spirv::VerCapExtAttr::get(
      spirv::Version::V_1_3,
      {Capability::Shader, Capability::GroupNonUniform, Capability::GroupNonUniformArithmetic,
       Capability::GroupNonUniformShuffle, Capability::GroupNonUniformBallot, Capability::Int64,
       Capability::StorageBuffer16BitAccess, Capability::Float16},
      {Extension::SPV_KHR_storage_buffer_storage_class, Extension::SPV_KHR_16bit_storage}, context);
  return spirv::TargetEnvAttr::get(triple, spirv::getDefaultResourceLimits(context), spirv::ClientAPI::Vulkan,
                                   spirv::Vendor::Unknown, spirv::DeviceType::Unknown,
                                   spirv::TargetEnvAttr::kUnknownDeviceID);
}

/// Element `lane` after `index` of a flat memref: index + lane.
Value laneIndex(PatternRewriter& rewriter, Location loc, Value index, int64_t lane) {
  if (lane == 0) return index;
  return arith::AddIOp::create(rewriter, loc, index, arith::ConstantIndexOp::create(rewriter, loc, lane));
}

/// vector.load of N elements of a flat memref -> N memref.loads. The upstream
/// vector-to-SPIR-V pattern would bitcast the element pointer to a vector
/// pointer, which Vulkan's logical addressing forbids.
struct ScalarizeVectorLoad : OpRewritePattern<vector::LoadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::LoadOp op, PatternRewriter& rewriter) const override {
    VectorType type = op.getVectorType();
    if (type.getRank() != 1 || op.getIndices().size() != 1)
      return rewriter.notifyMatchFailure(op, "only 1-D loads from flat memrefs are split");
    SmallVector<Value> lanes;
    for (int64_t lane = 0; lane < type.getNumElements(); ++lane) {
      Value index = laneIndex(rewriter, op.getLoc(), op.getIndices()[0], lane);
      lanes.push_back(memref::LoadOp::create(rewriter, op.getLoc(), op.getBase(), ValueRange{index}));
    }
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(op, type, lanes);
    return success();
  }
};

/// vector.store of N elements into a flat memref -> N memref.stores.
struct ScalarizeVectorStore : OpRewritePattern<vector::StoreOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::StoreOp op, PatternRewriter& rewriter) const override {
    VectorType type = op.getVectorType();
    if (type.getRank() != 1 || op.getIndices().size() != 1)
      return rewriter.notifyMatchFailure(op, "only 1-D stores into flat memrefs are split");
    for (int64_t lane = 0; lane < type.getNumElements(); ++lane) {
      Value index = laneIndex(rewriter, op.getLoc(), op.getIndices()[0], lane);
      Value value = vector::ExtractOp::create(rewriter, op.getLoc(), op.getValueToStore(), lane);
      memref::StoreOp::create(rewriter, op.getLoc(), value, op.getBase(), ValueRange{index});
    }
    rewriter.eraseOp(op);
    return success();
  }
};

/// Splits vector accesses into scalar ones; the folds of vector.extract from
/// vector.from_elements then leave no vector values behind.
LogicalResult scalarizeVectorAccesses(ModuleOp module) {
  RewritePatternSet patterns(module.getContext());
  patterns.add<ScalarizeVectorLoad, ScalarizeVectorStore>(module.getContext());
  vector::ExtractOp::getCanonicalizationPatterns(patterns, module.getContext());
  if (failed(applyPatternsGreedily(module, std::move(patterns)))) return failure();
  WalkResult left = module.walk([](Operation* op) {
    if (isa<vector::VectorDialect>(op->getDialect())) {
      op->emitError("a vector operation is left after splitting vector accesses for SPIR-V");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(left.wasInterrupted());
}

}  // namespace

FailureOr<SpirvKernel> lowerToSpirv(ModuleOp module) {
  MLIRContext* context = module.getContext();
  module->setAttr(spirv::getTargetEnvAttrName(), vulkanTargetEnv(context));
  if (failed(scalarizeVectorAccesses(module))) return failure();
  PassManager pm(context);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createMapMemRefStorageClassPass());
  pm.addPass(createConvertMathToSPIRVPass());  // convert-gpu-to-spirv leaves math ops alone
  pm.addPass(createConvertGPUToSPIRVPass(/*mapMemorySpace=*/false));
  OpPassManager& spirv_pm = pm.nest<spirv::ModuleOp>();
  spirv_pm.addPass(spirv::createSPIRVLowerABIAttributesPass());
  spirv_pm.addPass(spirv::createSPIRVUpdateVCEPass());
  spirv_pm.addPass(createCanonicalizerPass());
  if (failed(pm.run(module))) return failure();

  auto spirv_modules = module.getOps<spirv::ModuleOp>();
  if (std::distance(spirv_modules.begin(), spirv_modules.end()) != 1) {
    return module.emitError("the SPIR-V lowering did not produce exactly one spirv.module");
  }
  spirv::ModuleOp spirv_module = *spirv_modules.begin();
  SmallVector<uint32_t> words;
  if (failed(spirv::serialize(spirv_module, words))) return failure();
  SpirvKernel kernel;
  kernel.words.assign(words.begin(), words.end());
  if (auto triple = spirv_module.getVceTriple()) {
    for (spirv::Capability capability : triple->getCapabilities())
      kernel.capabilities.push_back(spirv::stringifyCapability(capability).str());
    for (spirv::Extension extension : triple->getExtensions())
      kernel.extensions.push_back(spirv::stringifyExtension(extension).str());
  }
  return kernel;
}

}  // namespace lathe::codegen::gpu
