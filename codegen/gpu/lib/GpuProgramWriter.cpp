#include "lathe/codegen/gpu/GpuProgramWriter.h"

#include <map>

#include "KernelLayout.h"
#include "lathe/codegen/gpu/SpirvLowering.h"
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

namespace fbs = flatbuffers;
using namespace mlir;

namespace {

uint32_t dimsMask(const GridAxisPlan& axis) {
  uint32_t mask = 0;
  for (int dim : axis.dims) mask |= 1u << dim;
  return mask;
}

class ProgramBuilder {
public:
  ProgramBuilder(fbs::FlatBufferBuilder& fbb, std::string target) : fbb_(fbb), target_(std::move(target)) {
    context_.loadDialect<mlir::gpu::GPUDialect, arith::ArithDialect, scf::SCFDialect, memref::MemRefDialect,
                         math::MathDialect, spirv::SPIRVDialect>();
  }

  /// Index of the kernel for `shape`, generating it on first use; -1 on failure.
  int64_t kernelFor(const DispatchShape& shape, std::string& error) {
    KernelPlan plan = planKernel(shape, limits_);
    if (plan.name.empty()) {
      error = std::string("kernel kind ") + runtime::kernelSignature(shape.kind)->name + " has no " + target_ +
              " kernel yet";
      return -1;
    }
    auto known = index_.find(plan.name);
    if (known != index_.end()) return known->second;
    std::string diagnostics;
    llvm::raw_string_ostream os(diagnostics);
    ScopedDiagnosticHandler handler(&context_, [&](Diagnostic& diagnostic) {
      os << diagnostic << "\n";
      return success();
    });
    OwningOpRef<ModuleOp> module = buildKernelModule(context_, shape, plan);
    if (failed(module->verify())) {
      error = "kernel '" + plan.name + "' is malformed: " + diagnostics;
      return -1;
    }
    FailureOr<SpirvKernel> spirv = lowerToSpirv(*module);
    if (failed(spirv)) {
      error = "kernel '" + plan.name + "' does not lower to SPIR-V: " + diagnostics;
      return -1;
    }
    kernels_.push_back(encode(plan, shape, *spirv));
    index_[plan.name] = static_cast<int64_t>(kernels_.size() - 1);
    return index_[plan.name];
  }

  fbs::Offset<fb::GpuProgram> finish(const std::vector<fbs::Offset<fb::GpuEntry>>& entries) {
    return fb::CreateGpuProgramDirect(fbb_, target_.c_str(), &kernels_, &entries);
  }

private:
  fbs::Offset<fb::GpuKernel> encode(const KernelPlan& plan, const DispatchShape& shape, const SpirvKernel& spirv) {
    std::vector<fb::GridAxis> grid;
    for (const GridAxisPlan& axis : plan.grid) grid.emplace_back(dimsMask(axis), axis.divisor, axis.stride_loop);
    std::vector<uint32_t> workgroup(plan.workgroup.begin(), plan.workgroup.end());
    std::vector<fbs::Offset<fbs::String>> capabilities, extensions;
    for (const std::string& name : spirv.capabilities) capabilities.push_back(fbb_.CreateString(name));
    for (const std::string& name : spirv.extensions) extensions.push_back(fbb_.CreateString(name));
    fbb_.ForceVectorAlignment(spirv.words.size() * 4, 1, 4);
    auto code = fbb_.CreateVector(reinterpret_cast<const uint8_t*>(spirv.words.data()), spirv.words.size() * 4);
    const uint32_t bindings = shape.kind == fb::KernelKind::GradNorm ? 4 : shape.operands.size() + 1;
    return fb::CreateGpuKernel(fbb_, fbb_.CreateString(plan.name), code, fbb_.CreateString(plan.name),
                               fbb_.CreateVector(workgroup), fbb_.CreateVectorOfStructs(grid), bindings,
                               static_cast<uint32_t>(plan.shared_bytes), fbb_.CreateVector(capabilities),
                               fbb_.CreateVector(extensions));
  }

  fbs::FlatBufferBuilder& fbb_;
  std::string target_;
  MLIRContext context_;
  GpuLimits limits_;
  std::vector<fbs::Offset<fb::GpuKernel>> kernels_;
  std::map<std::string, int64_t> index_;
};

}  // namespace

fbs::Offset<fb::GpuProgram> writeGpuProgram(fbs::FlatBufferBuilder& fbb, const std::string& target,
                                            const std::vector<EntryDispatches>& entries, std::string& error) {
  if (target != "vulkan") {
    error = "target '" + target + "' has no GPU code generator in this build";
    return {};
  }
  ProgramBuilder program(fbb, target);
  std::vector<fbs::Offset<fb::GpuEntry>> encoded;
  for (const EntryDispatches& entry : entries) {
    std::vector<uint32_t> kernel_of_dispatch;
    for (size_t d = 0; d < entry.shapes.size(); ++d) {
      std::string why;
      const int64_t kernel = program.kernelFor(entry.shapes[d], why);
      if (kernel < 0) {
        error = "entry point '" + entry.entry + "', dispatch " + std::to_string(d) + " '" + entry.names[d] +
                "': " + why;
        return {};
      }
      kernel_of_dispatch.push_back(static_cast<uint32_t>(kernel));
    }
    encoded.push_back(fb::CreateGpuEntryDirect(fbb, &kernel_of_dispatch));
  }
  return program.finish(encoded);
}

}  // namespace lathe::codegen::gpu
