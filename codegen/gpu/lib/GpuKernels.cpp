#include "lathe/codegen/gpu/GpuKernels.h"

#include "KernelLayout.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
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

KernelPlan planKernel(const DispatchShape& shape, const GpuLimits& limits) {
  for (auto planner : {planElementwiseKernel, planNormKernel, planGemmKernel, planAttentionKernel,
                       planInferenceKernel, planTrainingKernel}) {
    KernelPlan plan = planner(shape, limits);
    if (!plan.name.empty()) return plan;
  }
  return {};
}

OwningOpRef<ModuleOp> buildKernelModule(MLIRContext& context, const DispatchShape& shape, const KernelPlan& plan) {
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
  for (Element element : bound) {
    Type type = element == Element::F32 ? Type(b.getF32Type()) : Type(b.getI32Type());
    arguments.push_back(MemRefType::get({ShapedType::kDynamic}, type));
  }
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
