// A thin layer over mlir::OpBuilder for writing GPU kernels (gpu.func bodies
// of arith/scf/memref/math ops) that read like the algorithm. Kernels written
// with it are lowered per target (SPIR-V for Vulkan, NVVM for CUDA): see
// GpuKernels.h.
#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

namespace lathe::codegen::gpu {

class KernelBuilder;

/// A scalar: index (sizes, offsets), i32, f32 or i1. Operators pick the
/// integer or float op from the type.
struct V {
  mlir::Value value;
  KernelBuilder* k = nullptr;
  operator mlir::Value() const { return value; }
  bool isFloat() const;
};

V operator+(V a, V b);
V operator-(V a, V b);
V operator*(V a, V b);
V operator/(V a, V b);  // floats; unsigned division for indices
V operator%(V a, V b);  // unsigned remainder for indices
V operator<(V a, V b);
V operator<=(V a, V b);
V operator>(V a, V b);
V operator>=(V a, V b);
V operator==(V a, V b);
V operator!=(V a, V b);
V operator&&(V a, V b);
V operator||(V a, V b);
V operator-(V a);
V operator+(V a, double b);
V operator*(V a, double b);
V operator-(V a, double b);
V operator+(V a, int64_t b);
V operator*(V a, int64_t b);
V operator-(V a, int64_t b);
V operator/(V a, int64_t b);
V operator%(V a, int64_t b);
V operator<(V a, int64_t b);
V operator==(V a, int64_t b);
V operator!=(V a, int64_t b);

/// Where operand i of a dispatch lives in the kernel: a flat memref<?xT>.
/// F16 is a read-only weight stored as fp16; load() widens it to f32.
enum class Element { F32, I32, F16 };

/// The MLIR element type of `element`.
mlir::Type elementType(mlir::Builder& builder, Element element);

class KernelBuilder {
public:
  /// Builds into `fn`, whose arguments are the operands then the parameter
  /// block (`dims` words, then `ints`, then `floats`; runtime/schema/artifact.fbs).
  KernelBuilder(mlir::OpBuilder& builder, mlir::gpu::GPUFuncOp fn, int dim_count, int int_count);

  mlir::OpBuilder& builder() { return b_; }
  mlir::Location loc() const { return loc_; }

  V index(int64_t value);
  V f32(double value);
  V boolean(bool value);

  /// Operand `i` (a memref<?xf32> or memref<?xi32>).
  mlir::Value operand(int i);
  /// Dispatch dim `i` as an index, int param `i` as an index, float param `i` as f32.
  V dim(int i);
  V intParam(int i);
  V floatParam(int i);
  /// Word `i` of the parameter block as an index.
  V paramWord(int i);

  /// An f16 element is returned extended to f32, so kernels compute in f32 whatever the storage.
  V load(mlir::Value memref, V index);
  void store(V value, mlir::Value memref, V index);
  /// Elements [index, index + 4) with one vector access: 16 bytes for f32 and
  /// i32 (PTX ld/st.global.v4), 8 for f16 (widened to f32 like load()). The
  /// caller guarantees that index is a multiple of 4 and that the operand
  /// starts 16-byte aligned (artifact.fbs, "GPU targets"); a misaligned access
  /// is undefined. SPIR-V lowering splits them into scalar accesses.
  std::array<V, 4> load4(mlir::Value memref, V index);
  void store4(const std::array<V, 4>& values, mlir::Value memref, V index);

  V threadId(int axis = 0);
  V blockId(int axis = 0);
  V blockDim(int axis = 0);
  V gridDim(int axis = 0);
  V laneId();
  V subgroupId();
  V subgroupCount();

  /// for (i = lo; i < hi; i += step) body(i)
  void loop(V lo, V hi, V step, const std::function<void(V)>& body);
  /// The same with loop-carried values: body(i, carried) returns the next ones.
  std::vector<V> loop(V lo, V hi, V step, const std::vector<V>& init,
                      const std::function<std::vector<V>(V, const std::vector<V>&)>& body);
  /// loop() with `factor` guarded copies of the body per iteration: the same
  /// indices in the same order (so the same results), 1/factor of the back
  /// edges. For loops whose trip count grows with the problem: lavapipe
  /// (Mesa's llvmpipe) ends every loop of an invocation once it has taken
  /// 65535 back edges in all, over all its loops (LP_MAX_TGSI_LOOP_ITERATIONS),
  /// and the kernel then silently computes wrong results. The void form skips
  /// copies past `hi`; the carried form runs them on the iteration's first
  /// index and drops their values, so its body must not store.
  void unrolledLoop(V lo, V hi, V step, int64_t factor, const std::function<void(V)>& body);
  std::vector<V> unrolledLoop(V lo, V hi, V step, int64_t factor, const std::vector<V>& init,
                              const std::function<std::vector<V>(V, const std::vector<V>&)>& body);
  void when(V condition, const std::function<void()>& body);
  /// if (condition) then_body() else else_body()
  void ifElse(V condition, const std::function<void()>& then_body, const std::function<void()>& else_body);
  V select(V condition, V a, V b);
  V min(V a, V b);
  V max(V a, V b);

  /// A workgroup-shared array of `elements` f32 (or i32), starting at a
  /// multiple of `alignment` bytes when that is given.
  mlir::Value shared(int64_t elements, Element element = Element::F32, int64_t alignment = 0);
  void barrier();

  /// Reductions across the subgroup / the whole workgroup (every invocation
  /// gets the result). `scratch` is a shared array with room for one value
  /// per subgroup (see kMaxSubgroups); the workgroup versions contain barriers,
  /// so every invocation of the workgroup must reach them.
  V subgroupSum(V x);
  V subgroupMax(V x);
  V workgroupSum(V x, mlir::Value scratch);
  V workgroupMax(V x, mlir::Value scratch);
  static constexpr int64_t kMaxSubgroups = 64;

  V exp(V x);
  V log(V x);
  V sqrt(V x);
  V rsqrt(V x);
  V tanh(V x);
  V erf(V x);
  V abs(V x);
  V sin(V x);
  V cos(V x);
  V pow(V x, V y);
  V toFloat(V integer);
  V toIndex(V integer_or_i32);
  V toI32(V index);
  V bitsToFloat(V i32);
  V floatToBits(V f32);
  V shiftLeft(V a, int64_t bits);
  V shiftRight(V a, int64_t bits);  // logical
  V bitXor(V a, V b);
  V bitAnd(V a, V b);
  V bitOr(V a, V b);
  V i32(int64_t value);
  V i64(int64_t value);
  /// Zero-extends an i32 / converts an index to i64 (for 64-bit hashing).
  V toI64(V value);

  V wrap(mlir::Value value) { return V{value, this}; }

private:
  V workgroupReduce(V x, mlir::Value scratch, bool max);

  mlir::OpBuilder& b_;
  mlir::Location loc_;
  mlir::gpu::GPUFuncOp fn_;
  int dim_count_;
  int int_count_;
};

}  // namespace lathe::codegen::gpu
