#include "lathe/codegen/gpu/PtxLowering.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "llvm/ADT/StringMap.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/ModuleToObject.h"
#include "mlir/Target/LLVM/NVVM/Utils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace lathe::codegen::gpu {

using namespace mlir;

namespace {

/// An architecture and the oldest PTX ISA that supports it: PTX declares the
/// oldest ISA it needs, so older drivers still JIT it.
struct CudaArch {
  const char* name;
  const char* ptx_feature;
};

// ptxas from CUDA 13 assembles sm_75 and newer.
constexpr CudaArch kCudaArchs[] = {
    {"sm_75", "+ptx63"}, {"sm_80", "+ptx70"}, {"sm_86", "+ptx71"},  {"sm_89", "+ptx78"},
    {"sm_90", "+ptx78"}, {"sm_100", "+ptx86"}, {"sm_120", "+ptx87"},
};

const CudaArch* findArch(const std::string& name) {
  for (const CudaArch& arch : kCudaArchs)
    if (name == arch.name) return &arch;
  return nullptr;
}

/// Warp size on every NVIDIA GPU; the shuffle lowering of subgroup reductions relies on it.
constexpr unsigned kWarpSize = 32;

bool isWorkgroupMemory(MemRefType type) {
  Attribute space = type.getMemorySpace();
  if (auto integer = dyn_cast_or_null<IntegerAttr>(space)) return integer.getInt() == 3;
  if (auto gpu_space = dyn_cast_or_null<mlir::gpu::AddressSpaceAttr>(space))
    return gpu_space.getValue() == mlir::gpu::AddressSpace::Workgroup;
  return false;
}

/// Workgroup arrays (memref.alloc in address space 3) become workgroup
/// attributions of the kernel, which the NVVM lowering turns into .shared
/// arrays; an alloc would become a call to malloc.
LogicalResult hoistWorkgroupArrays(mlir::gpu::GPUFuncOp kernel) {
  SmallVector<memref::AllocOp> allocs;
  kernel.walk([&](memref::AllocOp alloc) {
    if (isWorkgroupMemory(alloc.getType())) allocs.push_back(alloc);
  });
  for (memref::AllocOp alloc : allocs) {
    if (!alloc.getType().hasStaticShape()) return alloc.emitError("a workgroup array needs a static size");
    BlockArgument array = kernel.addWorkgroupAttribution(alloc.getType(), alloc.getLoc());
    if (std::optional<uint64_t> alignment = alloc.getAlignment())  // wmma needs 32-byte aligned tiles
      kernel.setWorkgroupAttributionAttr(kernel.getNumWorkgroupAttributions() - 1,
                                         StringAttr::get(kernel.getContext(), LLVM::LLVMDialect::getAlignAttrName()),
                                         IntegerAttr::get(IntegerType::get(kernel.getContext(), 64), *alignment));
    alloc.replaceAllUsesWith(array);
    alloc.erase();
  }
  return success();
}

/// The bare-pointer convention (one pointer per memref kernel parameter, as the
/// binding convention wants) only takes statically shaped memrefs: the flat
/// memref<?xT> arguments become memref<(2^31-1)xT>, cast back for their uses.
/// The extent is metadata only (nothing checks bounds); 2^31-1 is the largest
/// a 32-bit index can hold.
void makeArgumentsStatic(mlir::gpu::GPUFuncOp kernel) {
  constexpr int64_t kLargestExtent = std::numeric_limits<int32_t>::max();
  OpBuilder builder(kernel.getContext());
  builder.setInsertionPointToStart(&kernel.getBody().front());
  SmallVector<Type> inputs;
  for (unsigned i = 0; i < kernel.getFunctionType().getNumInputs(); ++i) {
    BlockArgument argument = kernel.getArgument(i);
    auto type = cast<MemRefType>(argument.getType());
    if (type.hasStaticShape()) {
      inputs.push_back(type);
      continue;
    }
    auto static_type = MemRefType::get({kLargestExtent}, type.getElementType(), MemRefLayoutAttrInterface{},
                                       type.getMemorySpace());
    argument.setType(static_type);
    auto cast = memref::CastOp::create(builder, kernel.getLoc(), type, argument);
    argument.replaceAllUsesExcept(cast, cast);
    inputs.push_back(static_type);
  }
  kernel.setFunctionType(builder.getFunctionType(inputs, {}));
}

/// Subgroup reductions exchange values with warp shuffles, which need whole warps.
LogicalResult checkWholeWarps(mlir::gpu::GPUFuncOp kernel) {
  bool reduces = false;
  kernel.walk([&](mlir::gpu::SubgroupReduceOp) { reduces = true; });
  std::optional<ArrayRef<int32_t>> block = kernel.getKnownBlockSize();
  if (!reduces || !block) return success();
  int64_t threads = 1;
  for (int32_t extent : *block) threads *= extent;
  if (threads % kWarpSize == 0) return success();
  return kernel.emitError() << "subgroup reductions need a workgroup of whole warps (a multiple of " << kWarpSize
                            << " invocations), not " << threads;
}

bool isApproximatedMathOp(StringRef name) {
  name.consume_front("math.");
  static const char* const kApproximated[] = {"exp", "expm1", "log", "log2", "log1p", "tanh",
                                              "sin", "cos",   "erf", "atan", "atan2"};
  return llvm::is_contained(kApproximated, name);
}

/// rsqrt(x) = 1 / sqrt(x), both correctly rounded (rsqrt.approx is not).
struct RsqrtToDivide : OpRewritePattern<math::RsqrtOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::RsqrtOp op, PatternRewriter& rewriter) const override {
    Value root = math::SqrtOp::create(rewriter, op.getLoc(), op.getOperand());
    Value one = arith::ConstantOp::create(rewriter, op.getLoc(), rewriter.getFloatAttr(op.getType(), 1.0));
    rewriter.replaceOpWithNewOp<arith::DivFOp>(op, one, root);
    return success();
  }
};

/// The warp size, which the NVVM conversion does not fold in.
struct SubgroupSizeIsWarpSize : OpRewritePattern<mlir::gpu::SubgroupSizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(mlir::gpu::SubgroupSizeOp op, PatternRewriter& rewriter) const override {
    rewriter.replaceOpWithNewOp<arith::ConstantIndexOp>(op, kWarpSize);
    return success();
  }
};

/// ceil(threads in the workgroup / 32), which the NVVM conversion does not lower.
struct NumSubgroupsFromBlockSize : OpRewritePattern<mlir::gpu::NumSubgroupsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(mlir::gpu::NumSubgroupsOp op, PatternRewriter& rewriter) const override {
    Location loc = op.getLoc();
    Value threads = mlir::gpu::BlockDimOp::create(rewriter, loc, mlir::gpu::Dimension::x);
    for (mlir::gpu::Dimension axis : {mlir::gpu::Dimension::y, mlir::gpu::Dimension::z})
      threads = arith::MulIOp::create(rewriter, loc, threads, mlir::gpu::BlockDimOp::create(rewriter, loc, axis));
    Value warp = arith::ConstantIndexOp::create(rewriter, loc, kWarpSize);
    rewriter.replaceOpWithNewOp<arith::CeilDivUIOp>(op, threads, warp);
    return success();
  }
};

/// NVPTX has no instructions for exp, log, tanh, sin, cos or pow and libdevice
/// is not linked: they become MLIR's polynomial approximations (Cephes-style,
/// about 1-2 ulp in f32), pow as exp(y log x) first. Subgroup reductions
/// become butterfly shuffles within the warp, subgroup ids thread id / 32.
LogicalResult expandForNvvm(mlir::gpu::GPUFuncOp kernel) {
  RewritePatternSet patterns(kernel.getContext());
  populateGpuLowerSubgroupReduceToShufflePatterns(patterns, kWarpSize, /*shuffleBitwidth=*/32);
  populateGpuSubgroupIdPatterns(patterns);
  patterns.add<SubgroupSizeIsWarpSize, NumSubgroupsFromBlockSize>(kernel.getContext());
  math::populateExpansionPatterns(patterns, {"powf", "sinh", "cosh", "tan"});
  populateMathPolynomialApproximationPatterns(patterns, isApproximatedMathOp);
  patterns.add<RsqrtToDivide>(kernel.getContext());
  return applyPatternsGreedily(kernel, std::move(patterns));
}

/// The NVVM conversion turns every f32 math op into a libdevice call; those
/// that are one IEEE instruction become the LLVM intrinsic instead.
template <typename IntrinsicOp>
void replaceCall(LLVM::CallOp call) {
  OpBuilder builder(call);
  Operation* intrinsic = IntrinsicOp::create(builder, call.getLoc(), call->getResultTypes(), call.getArgOperands(),
                                             ArrayRef<NamedAttribute>{});
  call->replaceAllUsesWith(intrinsic->getResults());
  call->erase();
}

using CallReplacement = void (*)(LLVM::CallOp);
const llvm::StringMap<CallReplacement>& instructionCalls() {
  static const llvm::StringMap<CallReplacement> table = {
      {"__nv_fabsf", replaceCall<LLVM::FAbsOp>},    {"__nv_fmaf", replaceCall<LLVM::FMAOp>},
      {"__nv_floorf", replaceCall<LLVM::FFloorOp>}, {"__nv_ceilf", replaceCall<LLVM::FCeilOp>},
      {"__nv_truncf", replaceCall<LLVM::FTruncOp>}, {"__nv_roundf", replaceCall<LLVM::RoundOp>},
      {"__nv_rintf", replaceCall<LLVM::RoundEvenOp>}, {"__nv_sqrtf", replaceCall<LLVM::SqrtOp>},
      {"__nv_copysignf", replaceCall<LLVM::CopySignOp>}, {"__nv_fminf", replaceCall<LLVM::MinNumOp>},
      {"__nv_fmaxf", replaceCall<LLVM::MaxNumOp>},
  };
  return table;
}

/// Replaces libdevice calls by instructions and fails on any other: one left
/// would be linked from whatever CUDA toolkit the serializer finds, or fail in
/// ptxas without one.
LogicalResult replaceLibdeviceCalls(ModuleOp module) {
  SmallVector<LLVM::CallOp> calls;
  module.walk([&](LLVM::CallOp call) {
    if (call.getCallee() && call.getCallee()->starts_with("__nv_")) calls.push_back(call);
  });
  for (LLVM::CallOp call : calls) {
    auto replacement = instructionCalls().find(*call.getCallee());
    if (replacement == instructionCalls().end())
      return call.emitError("the kernel needs libdevice's ") << *call.getCallee() << ", which is not linked";
    replacement->second(call);
  }
  SmallVector<LLVM::LLVMFuncOp> declarations;
  module.walk([&](LLVM::LLVMFuncOp function) {
    if (function.isExternal() && function.getName().starts_with("__nv_")) declarations.push_back(function);
  });
  for (LLVM::LLVMFuncOp declaration : declarations) declaration.erase();
  return success();
}

/// gpu.module (LLVM and NVVM dialects) -> PTX with LLVM's NVPTX backend,
/// linking nothing: the NVVM target's serializer would link libdevice from
/// whatever CUDA toolkit the environment names, or fail without one.
class PtxEmitter : public LLVM::ModuleToObject {
public:
  PtxEmitter(mlir::gpu::GPUModuleOp module, const CudaArch& arch)
      : ModuleToObject(*module, "nvptx64-nvidia-cuda", arch.name, arch.ptx_feature, /*optLevel=*/3) {}

protected:
  FailureOr<SmallVector<char, 0>> moduleToObject(llvm::Module& llvm_module) override {
    FailureOr<llvm::TargetMachine*> machine = getOrCreateTargetMachine();
    if (failed(machine)) return getOperation().emitError("this LLVM has no NVPTX backend");
    FailureOr<SmallString<0>> ptx =
        translateModuleToISA(llvm_module, **machine, [&] { return getOperation().emitError(); });
    if (failed(ptx)) return failure();
    return SmallVector<char, 0>(ptx->begin(), ptx->end());
  }
};

/// The dialects, conversion interfaces (convert-gpu-to-nvvm collects the
/// arith, cf, memref... patterns through them) and translations the lowering
/// needs, once per context.
void registerNvvmLowering(MLIRContext* context) {
  if (context->getLoadedDialect<NVVM::NVVMDialect>()) return;
  DialectRegistry registry;
  registry.insert<LLVM::LLVMDialect, NVVM::NVVMDialect>();
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
  vector::registerConvertVectorToLLVMInterface(registry);  // KernelBuilder::load4/store4: aligned LLVM vector accesses
  registerConvertNVVMToLLVMInterface(registry);
  registerBuiltinDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  context->appendDialectRegistry(registry);
  context->loadDialect<LLVM::LLVMDialect, NVVM::NVVMDialect>();
}

}  // namespace

const std::vector<std::string>& supportedCudaArchs() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const CudaArch& arch : kCudaArchs) list.push_back(arch.name);
    return list;
  }();
  return names;
}

std::string lowestCudaArch(const std::vector<std::string>& archs, std::string& error) {
  if (archs.empty()) {
    error = "no CUDA architecture named";
    return {};
  }
  const std::vector<std::string>& known = supportedCudaArchs();
  size_t lowest = known.size();
  for (const std::string& arch : archs) {
    auto found = std::find(known.begin(), known.end(), arch);
    if (found == known.end()) {
      error = "unknown CUDA architecture '" + arch + "' (supported:";
      for (const std::string& name : known) error += " " + name;
      error += ")";
      return {};
    }
    lowest = std::min(lowest, static_cast<size_t>(found - known.begin()));
  }
  return known[lowest];
}

FailureOr<std::string> lowerToPtx(ModuleOp module, const std::string& arch_name) {
  const CudaArch* arch = findArch(arch_name);
  if (!arch) return module.emitError("unknown CUDA architecture '") << arch_name << "'";
  MLIRContext* context = module.getContext();
  registerNvvmLowering(context);

  SmallVector<mlir::gpu::GPUFuncOp> kernels;
  module.walk([&](mlir::gpu::GPUFuncOp kernel) { kernels.push_back(kernel); });
  for (mlir::gpu::GPUFuncOp kernel : kernels) {
    kernel->removeAttr(spirv::getEntryPointABIAttrName());  // Vulkan's; the block size is known_block_size
    makeArgumentsStatic(kernel);
    if (failed(hoistWorkgroupArrays(kernel)) || failed(checkWholeWarps(kernel)) || failed(expandForNvvm(kernel)))
      return failure();
  }

  // The device half of gpu-lower-to-nvvm-pipeline, with 32-bit indices
  // throughout (the upstream pipeline lowers index to i64 before the NVVM
  // conversion runs): the same integer semantics as the SPIR-V kernels, and
  // cheaper address math (buffers below 2^31 elements, as on Vulkan).
  PassManager pm(context);
  OpPassManager& device = pm.nest<mlir::gpu::GPUModuleOp>();
  device.addPass(createSCFToControlFlowPass());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.indexBitwidth = 32;
  nvvm.useBarePtrCallConv = true;
  device.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  device.addPass(createReconcileUnrealizedCastsPass());
  if (failed(pm.run(module))) return failure();
  if (failed(replaceLibdeviceCalls(module))) return failure();

  auto gpu_modules = module.getOps<mlir::gpu::GPUModuleOp>();
  if (std::distance(gpu_modules.begin(), gpu_modules.end()) != 1)
    return module.emitError("expected exactly one gpu.module to lower to PTX");
  NVVM::SerializeGPUModuleBase::init();  // registers the NVPTX backend
  std::optional<SmallVector<char, 0>> ptx = PtxEmitter(*gpu_modules.begin(), *arch).run();
  if (!ptx) return failure();
  return std::string(ptx->begin(), ptx->end());
}

}  // namespace lathe::codegen::gpu
