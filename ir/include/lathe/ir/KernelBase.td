//===- KernelBase.td - the lathe_kernel dialect and its attributes ------===//
#ifndef LATHE_KERNEL_BASE_TD
#define LATHE_KERNEL_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Kernel_Dialect : Dialect {
  let name = "lathe_kernel";
  let cppNamespace = "::lathe::kernel";
  let summary = "kernel dispatches shared by all targets";
  let dependentDialects = ["::lathe::ir::LatheDialect"];
  let useDefaultAttributePrinterParser = 1;
}

def Kernel_BinAdd : I32EnumAttrCase<"add", 0>;
def Kernel_BinMul : I32EnumAttrCase<"mul", 1>;
def Kernel_BinaryKind : I32EnumAttr<"BinaryKind", "elementwise binary op",
    [Kernel_BinAdd, Kernel_BinMul]> {
  let cppNamespace = "::lathe::kernel";
  let genSpecializedAttr = 0;
}
def Kernel_BinaryAttr : EnumAttr<Kernel_Dialect, Kernel_BinaryKind, "binary">;

#endif // LATHE_KERNEL_BASE_TD
