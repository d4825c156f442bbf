#include "lathe/codegen/gpu/SpirvLowering.h"

#include "mlir/Conversion/GPUToSPIRV/GPUToSPIRVPass.h"
#include "mlir/Conversion/MathToSPIRV/MathToSPIRVPass.h"
#include "mlir/Conversion/MemRefToSPIRV/MemRefToSPIRVPass.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Dialect/SPIRV/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/SPIRV/Serialization.h"
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

}  // namespace

FailureOr<SpirvKernel> lowerToSpirv(ModuleOp module) {
  MLIRContext* context = module.getContext();
  module->setAttr(spirv::getTargetEnvAttrName(), vulkanTargetEnv(context));
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
