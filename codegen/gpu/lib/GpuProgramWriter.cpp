#include "lathe/codegen/gpu/GpuProgramWriter.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "KernelLayout.h"
#include "lathe/codegen/gpu/PtxAssembler.h"
#include "lathe/codegen/gpu/PtxLowering.h"
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

/// One kernel lowered for a target: code (SPIR-V words or PTX text), what it
/// requires of the device, and machine code per architecture (cuda).
struct LoweredKernel {
  std::vector<uint8_t> code;
  std::vector<std::string> capabilities;
  std::vector<std::string> extensions;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> binaries;
};

/// What the cuda target needs besides the kernels: where ptxas is and the
/// architecture the PTX is written for.
struct CudaToolchain {
  std::string ptxas;
  std::vector<std::string> archs;
  std::string lowest_arch;
};

class ProgramBuilder {
public:
  ProgramBuilder(fbs::FlatBufferBuilder& fbb, std::string target, std::optional<CudaToolchain> cuda,
                 const GpuProgramOptions& options)
      : fbb_(fbb), target_(std::move(target)), cuda_(std::move(cuda)), limits_(targetLimits(target_, options)) {
    context_.loadDialect<mlir::gpu::GPUDialect, arith::ArithDialect, scf::SCFDialect, memref::MemRefDialect,
                         math::MathDialect, spirv::SPIRVDialect>();
  }

  /// Index of the (first) kernel for `shape`, generating it on first use; -1 on failure.
  int64_t kernelFor(const DispatchShape& shape, std::string& error) {
    KernelPlan plan = planKernel(shape, limits_);
    if (plan.name.empty()) {
      error = std::string("kernel kind ") + runtime::kernelSignature(shape.kind)->name + " has no " + target_ +
              " kernel yet";
      return -1;
    }
    // Later phases first, so that each kernel can name the index of its successor.
    int64_t next = -1;
    for (auto phase = plan.next_phases.rbegin(); phase != plan.next_phases.rend(); ++phase) {
      if (!phase->next_phases.empty()) {
        error = "kernel '" + phase->name + "' is a phase of '" + plan.name + "' and cannot chain phases of its own";
        return -1;
      }
      next = phaseKernel(shape, *phase, next, error);
      if (next < 0) return -1;
    }
    return phaseKernel(shape, plan, next, error);
  }

  fbs::Offset<fb::GpuProgram> finish(const std::vector<fbs::Offset<fb::GpuEntry>>& entries) {
    return fb::CreateGpuProgramDirect(fbb_, target_.c_str(), &kernels_, &entries);
  }

private:
  /// Index of the kernel for one phase of `shape` followed by kernel `next` (-1: none).
  int64_t phaseKernel(const DispatchShape& shape, const KernelPlan& plan, int64_t next, std::string& error) {
    auto known = index_.find(plan.name);
    if (known != index_.end()) {
      if (next_phase_[known->second] == next) return known->second;
      error = "kernel '" + plan.name + "' is planned with two different next phases";
      return -1;
    }
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
    std::optional<LoweredKernel> lowered = cuda_ ? lowerForCuda(*module, plan.name, diagnostics, error)
                                                 : lowerForVulkan(*module, plan.name, diagnostics, error);
    if (!lowered) return -1;
    kernels_.push_back(encode(plan, shape, *lowered, next));
    next_phase_.push_back(next);
    index_[plan.name] = static_cast<int64_t>(kernels_.size() - 1);
    return index_[plan.name];
  }

  std::optional<LoweredKernel> lowerForVulkan(ModuleOp module, const std::string& name,
                                              const std::string& diagnostics, std::string& error) {
    FailureOr<SpirvKernel> spirv = lowerToSpirv(module);
    if (failed(spirv)) {
      error = "kernel '" + name + "' does not lower to SPIR-V: " + diagnostics;
      return std::nullopt;
    }
    LoweredKernel lowered;
    const auto* bytes = reinterpret_cast<const uint8_t*>(spirv->words.data());
    lowered.code.assign(bytes, bytes + spirv->words.size() * 4);
    lowered.capabilities = spirv->capabilities;
    lowered.extensions = spirv->extensions;
    return lowered;
  }

  /// PTX for the oldest architecture (it runs on all, and JITs forward on newer
  /// GPUs), assembled by ptxas for each named one so failures show here.
  std::optional<LoweredKernel> lowerForCuda(ModuleOp module, const std::string& name, const std::string& diagnostics,
                                            std::string& error) {
    FailureOr<std::string> ptx = lowerToPtx(module, cuda_->lowest_arch);
    if (failed(ptx)) {
      error = "kernel '" + name + "' does not lower to PTX: " + diagnostics;
      return std::nullopt;
    }
    LoweredKernel lowered;
    lowered.code.assign(ptx->begin(), ptx->end());
    lowered.capabilities = {cuda_->lowest_arch};
    for (const std::string& arch : cuda_->archs) {
      std::vector<uint8_t> cubin;
      std::string why;
      if (!assemblePtx(cuda_->ptxas, *ptx, arch, cubin, why)) {
        error = "kernel '" + name + "' does not assemble: " + why;
        return std::nullopt;
      }
      lowered.binaries.emplace_back(arch, std::move(cubin));
    }
    return lowered;
  }

  fbs::Offset<fb::GpuKernel> encode(const KernelPlan& plan, const DispatchShape& shape, const LoweredKernel& lowered,
                                    int64_t next_phase) {
    std::vector<fb::GridAxis> grid;
    for (const GridAxisPlan& axis : plan.grid) grid.emplace_back(dimsMask(axis), axis.divisor, axis.stride_loop);
    std::vector<uint32_t> workgroup(plan.workgroup.begin(), plan.workgroup.end());
    std::vector<fbs::Offset<fbs::String>> capabilities, extensions;
    for (const std::string& name : lowered.capabilities) capabilities.push_back(fbb_.CreateString(name));
    for (const std::string& name : lowered.extensions) extensions.push_back(fbb_.CreateString(name));
    std::vector<fbs::Offset<fb::GpuBinary>> binaries;
    for (const auto& [arch, data] : lowered.binaries) {
      fbb_.ForceVectorAlignment(data.size(), 1, 64);  // an ELF image the runtime may load in place from the mmap
      auto bytes = fbb_.CreateVector(data);
      binaries.push_back(fb::CreateGpuBinary(fbb_, fbb_.CreateString(arch), bytes));
    }
    fbs::Offset<fbs::Vector<fbs::Offset<fb::GpuBinary>>> binary_vector;
    if (!binaries.empty()) binary_vector = fbb_.CreateVector(binaries);
    fbb_.ForceVectorAlignment(lowered.code.size(), 1, 4);
    auto code = fbb_.CreateVector(lowered.code);
    const uint32_t bindings = shape.kind == fb::KernelKind::GradNorm ? 4 : shape.operands.size() + 1;
    return fb::CreateGpuKernel(fbb_, fbb_.CreateString(plan.name), code, fbb_.CreateString(plan.name),
                               fbb_.CreateVector(workgroup), fbb_.CreateVectorOfStructs(grid), bindings,
                               static_cast<uint32_t>(plan.shared_bytes), fbb_.CreateVector(capabilities),
                               fbb_.CreateVector(extensions), binary_vector, static_cast<int32_t>(next_phase));
  }

  fbs::FlatBufferBuilder& fbb_;
  std::string target_;
  std::optional<CudaToolchain> cuda_;
  MLIRContext context_;
  GpuLimits limits_;
  std::vector<fbs::Offset<fb::GpuKernel>> kernels_;
  std::vector<int64_t> next_phase_;  // parallel to kernels_
  std::map<std::string, int64_t> index_;
};

/// The cuda toolchain for `options`, or nullopt with `error` set.
std::optional<CudaToolchain> cudaToolchain(const GpuProgramOptions& options, std::string& error) {
  CudaToolchain cuda;
  for (const std::string& arch : options.cuda_archs)  // one cubin per architecture, in the order named
    if (std::find(cuda.archs.begin(), cuda.archs.end(), arch) == cuda.archs.end()) cuda.archs.push_back(arch);
  cuda.lowest_arch = lowestCudaArch(cuda.archs, error);
  if (cuda.lowest_arch.empty()) return std::nullopt;
  cuda.ptxas = findPtxas(error);
  if (cuda.ptxas.empty()) return std::nullopt;
  return cuda;
}

/// 90 for "sm_90"; 0 when the name is not sm_<number>.
int smVersion(const std::string& arch) {
  if (arch.rfind("sm_", 0) != 0 || arch.size() == 3) return 0;
  int version = 0;
  for (size_t i = 3; i < arch.size(); ++i) {
    if (arch[i] < '0' || arch[i] > '9') return version;  // sm_90a: 90
    version = version * 10 + (arch[i] - '0');
  }
  return version;
}

}  // namespace

GpuLimits targetLimits(const std::string& target, const GpuProgramOptions& options) {
  constexpr int64_t kCudaSharedBytes = 48 * 1024;  // static shared memory of a workgroup on every NVIDIA GPU
  GpuLimits limits;
  limits.matmul_precision = options.matmul_precision;
  if (target == "cuda") {
    limits.shared_bytes = kCudaSharedBytes;
    // TF32 tensor-core instructions exist from sm_80 (Ampere) on; the PTX targets the oldest architecture named.
    const bool tf32_tensor_cores = std::all_of(options.cuda_archs.begin(), options.cuda_archs.end(),
                                               [](const std::string& arch) { return smVersion(arch) >= 80; });
    if (options.tensor_cores && tf32_tensor_cores) limits.matrix_units = MatrixUnits::Native;
  } else if (options.emulate_matrix_units) {
    limits.matrix_units = MatrixUnits::Emulated;
  }
  return limits;
}

fbs::Offset<fb::GpuProgram> writeGpuProgram(fbs::FlatBufferBuilder& fbb, const std::string& target,
                                            const std::vector<EntryDispatches>& entries, std::string& error,
                                            const GpuProgramOptions& options) {
  std::optional<CudaToolchain> cuda;
  if (target == "cuda") {
    cuda = cudaToolchain(options, error);
    if (!cuda) return {};
  } else if (target != "vulkan") {
    error = "target '" + target + "' has no GPU code generator in this build";
    return {};
  }
  ProgramBuilder program(fbb, target, std::move(cuda), options);
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
