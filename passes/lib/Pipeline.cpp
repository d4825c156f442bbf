// The standard pipeline and the symbolic (B, T) dimension helpers.
#include "lathe/passes/Passes.h"

#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace lathe::passes {

void buildKernelPipeline(OpPassManager& pm) {
  OpPassManager& fn = pm.nest<func::FuncOp>();
  fn.addPass(createInferShapes());
  fn.addPass(createCanonicalizerPass());
  fn.addPass(createLowerToKernels());
  fn.addPass(createFuseEpilogues());
  fn.addPass(createCSEPass());
  fn.addPass(createPlanMemory());
}

void registerPipelines() {
  PassPipelineRegistration<>("lathe-kernel-pipeline",
                             "lathe dialect -> planned lathe_kernel dispatches", buildKernelPipeline);
}

int64_t SymbolicDim::at(int64_t batch, int64_t seq) const {
  int64_t value = coefficient;
  for (int i = 0; i < b_pow; ++i) value *= batch;
  for (int i = 0; i < t_pow; ++i) value *= seq;
  return value;
}

SymbolicDim symbolicDim(RankedTensorType type, int64_t index) {
  if (!type.isDynamicDim(index)) return {type.getDimSize(index), 0, 0};
  return index == 0 ? SymbolicDim{1, 1, 0} : SymbolicDim{1, 0, 1};
}

SymbolicDim symbolicProduct(RankedTensorType type, int64_t begin, int64_t end) {
  SymbolicDim product;
  for (int64_t i = begin; i < end; ++i) product = product * symbolicDim(type, i);
  return product;
}

}  // namespace lathe::passes
