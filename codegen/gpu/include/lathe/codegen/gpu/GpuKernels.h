// GPU kernels for the dispatches of the shared kernel representation. A
// kernel is written once (with KernelBuilder, as a gpu.func) and lowered per
// target: SPIR-V for Vulkan (SpirvLowering.h), PTX for CUDA.
//
// Binding convention (runtime/schema/artifact.fbs, "GPU targets"): argument i
// is dispatch operand i as a flat memref<?xf32> or memref<?xi32>; the last
// argument is the parameter block: dims, then int params, then float params,
// as 32-bit words. Weights stored as fp16 are memref<?xf16> arguments
// (Element::F16), widened to f32 as they are loaded.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "artifact_generated.h"
#include "lathe/codegen/gpu/KernelBuilder.h"
#include "mlir/IR/BuiltinOps.h"

namespace lathe::codegen::gpu {

/// What a kernel is generated from: a dispatch, without its buffers and the
/// values of its dims and float params (those arrive in the parameter block).
struct DispatchShape {
  fb::KernelKind kind;
  std::vector<Element> operands;  // element type of each operand
  int dim_count = 0;
  std::vector<int64_t> ints;      // values: they select kernel variants
  int float_count = 0;
  /// The largest value each dim can take (at the artifact's max batch and
  /// sequence length), for picking variants; empty when unknown.
  std::vector<int64_t> dim_bounds;
};

/// Workgroups along one axis: ceil(product of the dims in `dims` / divisor).
struct GridAxisPlan {
  std::vector<int> dims;  // empty: one workgroup
  uint32_t divisor = 1;
  bool stride_loop = false;
};

/// How GEMMs may use subgroup matrix multiply-accumulate units (tensor cores).
enum class MatrixUnits {
  None,      // scalar tiled kernels
  Native,    // the gpu dialect's subgroup MMA ops (CUDA: wmma, tensor cores)
  Emulated,  // the same kernels with each subgroup MMA op done in scalar code: tests
             // the tensor-core kernels' tiling on devices without matrix units
};

/// What an fp32 GEMM on matrix units computes with (scalar kernels are always fp32).
enum class MatmulPrecision {
  Fp32,  // each operand split into two TF32 parts, three products (error near fp32's)
  Tf32,  // operands rounded to TF32 (10-bit mantissa), one product: 3x faster, ~1e-3 relative
};

/// What the device can do, for picking kernel variants.
struct GpuLimits {
  int64_t shared_bytes = 32 * 1024;      // lavapipe and most GPUs: 32-48 KiB
  int64_t max_workgroup_invocations = 1024;
  int64_t subgroup_size = 32;            // the largest expected; kernels do not depend on it
  MatrixUnits matrix_units = MatrixUnits::None;
  MatmulPrecision matmul_precision = MatmulPrecision::Fp32;
};

struct KernelPlan {
  std::string name;                       // unique per variant: identical names share code
  std::array<uint32_t, 3> workgroup{1, 1, 1};
  std::array<GridAxisPlan, 3> grid;
  int64_t shared_bytes = 0;
  std::function<void(KernelBuilder&)> body;
  /// Kernels launched after this one in the same dispatch, in order, with the
  /// same bindings and parameter block, each after a full memory barrier: how a
  /// dispatch that needs sums across workgroups is split (GpuKernel.next_phase).
  /// Flat: the phases have no next_phases of their own.
  std::vector<KernelPlan> next_phases;
};

/// The kernel for a dispatch; an empty name when the kind has no GPU kernel yet.
/// A variant with fp16 operands is named with the suffix "_w16" and their
/// indices ("gemm_nt_none_bias_w16_1_3"), so equal names mean equal code.
KernelPlan planKernel(const DispatchShape& shape, const GpuLimits& limits);

/// A module holding one gpu.module with one gpu.func kernel built from `plan`.
mlir::OwningOpRef<mlir::ModuleOp> buildKernelModule(mlir::MLIRContext& context, const DispatchShape& shape,
                                                     const KernelPlan& plan);

/// The element type of every operand of a dispatch of `kind` with `operand_count` operands.
std::vector<Element> operandElements(fb::KernelKind kind, size_t operand_count, const std::vector<int64_t>& ints);
/// The same for a dispatch's `operands` in an artifact whose weights are
/// stored as `weight_dtype` (F32 or F16): operands in the Weight space are F16 then.
std::vector<Element> operandElements(fb::KernelKind kind, const std::vector<fb::BufferRef>& operands,
                                     const std::vector<int64_t>& ints, fb::DType weight_dtype);

// Per-family planners (one file each); each returns an empty plan for kinds it does not handle.
KernelPlan planElementwiseKernel(const DispatchShape& shape, const GpuLimits& limits);
KernelPlan planNormKernel(const DispatchShape& shape, const GpuLimits& limits);
KernelPlan planGemmKernel(const DispatchShape& shape, const GpuLimits& limits);
/// Gemm and GemmWeightGrad on matrix units; empty when limits.matrix_units is None.
KernelPlan planMatrixUnitGemmKernel(const DispatchShape& shape, const GpuLimits& limits);
KernelPlan planAttentionKernel(const DispatchShape& shape, const GpuLimits& limits);
KernelPlan planInferenceKernel(const DispatchShape& shape, const GpuLimits& limits);
KernelPlan planTrainingKernel(const DispatchShape& shape, const GpuLimits& limits);

}  // namespace lathe::codegen::gpu
