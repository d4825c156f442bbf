// lathe-opt: parses, verifies and transforms lathe / lathe_kernel IR.
#include "lathe/passes/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char** argv) {
  mlir::DialectRegistry registry;
  registry.insert<lathe::ir::LatheDialect, lathe::kernel::KernelDialect, mlir::func::FuncDialect>();
  lathe::ir::registerGradientModels(registry);
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  lathe::passes::registerLathePasses();
  lathe::passes::registerPipelines();
  return mlir::asMainReturnCode(mlir::MlirOptMain(argc, argv, "lathe optimizer driver\n", registry));
}
