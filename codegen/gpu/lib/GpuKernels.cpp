#include "lathe/codegen/gpu/GpuKernels.h"

#include "KernelLayout.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace lathe::codegen::gpu {

using namespace mlir;

std::vector<Element> operandElements(fb::KernelKind kind, size_t operand_count, const std::vector<int64_t>& ints) {
  std::vector<Element> elements;
  if (kind == fb::KernelKind::GradNorm) return std::vector<Element>(operand_count, Element::F32);
  for (const runtime::OperandLayout& operand : runtime::operandLayout(kind, ints)) {
    elements.push_back(operand.dtype == fb::DType::I32 ? Element::I32 : Element::F32);
  }
  return elements;
}

std::vector<Element> operandElements(fb::KernelKind kind, const std::vector<fb::BufferRef>& operands,
                                     const std::vector<int64_t>& ints, fb::DType weight_dtype) {
  std::vector<Element> elements = operandElements(kind, operands.size(), ints);
  if (weight_dtype != fb::DType::F16) return elements;
  for (size_t i = 0; i < operands.size() && i < elements.size(); ++i) {
    if (operands[i].space() == fb::BufferSpace::Weight) elements[i] = Element::F16;
  }
  return elements;
}

namespace {

/// "_w16_1_3" when operands 1 and 3 are fp16, else "".
std::string f16Suffix(const std::vector<Element>& operands) {
  std::string suffix;
  for (size_t i = 0; i < operands.size(); ++i) {
    if (operands[i] == Element::F16) suffix += "_" + std::to_string(i);
  }
  return suffix.empty() ? suffix : "_w16" + suffix;
}

}  // namespace

KernelPlan planKernel(const DispatchShape& shape, const GpuLimits& limits) {
  for (auto planner : {planElementwiseKernel, planNormKernel, planGemmKernel, planAttentionKernel,
                       planInferenceKernel, planTrainingKernel}) {
    KernelPlan plan = planner(shape, limits);
    if (plan.name.empty()) continue;
    plan.name += f16Suffix(shape.operands);
    for (KernelPlan& phase : plan.next_phases) phase.name += f16Suffix(shape.operands);
    return plan;
  }
  return {};
}

OwningOpRef<ModuleOp> buildKernelModule(MLIRContext& context, const DispatchShape& shape, const KernelPlan& plan) {
  context.loadDialect<vector::VectorDialect>();  // KernelBuilder::load4/store4
  OpBuilder b(&context);
  Location loc = NameLoc::get(b.getStringAttr(plan.name));
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  (*module)->setAttr(mlir::gpu::GPUDialect::getContainerModuleAttrName(), b.getUnitAttr());
  b.setInsertionPointToEnd(module->getBody());
  auto gpu_module = mlir::gpu::GPUModuleOp::create(b, loc, "kernels");
  b.setInsertionPointToStart(gpu_module.getBody());

  SmallVector<Type> arguments;
  // GradNorm runs as one launch per gradient with bindings (hyper, norm, g_i) (artifact.fbs).
  const std::vector<Element> bound =
      shape.kind == fb::KernelKind::GradNorm ? std::vector<Element>(3, Element::F32) : shape.operands;
  for (Element element : bound) arguments.push_back(MemRefType::get({ShapedType::kDynamic}, elementType(b, element)));
  arguments.push_back(MemRefType::get({ShapedType::kDynamic}, b.getI32Type()));  // the parameter block
  auto fn = mlir::gpu::GPUFuncOp::create(b, loc, plan.name, b.getFunctionType(arguments, {}));
  fn->setAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  fn->setAttr(spirv::getEntryPointABIAttrName(),
              spirv::getEntryPointABIAttr(&context, {static_cast<int32_t>(plan.workgroup[0]),
                                                     static_cast<int32_t>(plan.workgroup[1]),
                                                     static_cast<int32_t>(plan.workgroup[2])}));
  fn.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({static_cast<int32_t>(plan.workgroup[0]),
                                                   static_cast<int32_t>(plan.workgroup[1]),
                                                   static_cast<int32_t>(plan.workgroup[2])}));
  b.setInsertionPointToStart(&fn.getBody().front());
  KernelBuilder kernel(b, fn, shape.dim_count, static_cast<int>(shape.ints.size()));
  plan.body(kernel);
  mlir::gpu::ReturnOp::create(b, loc);
  return module;
}

}  // namespace lathe::codegen::gpu
