#include "lathe/codegen/gpu/KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace lathe::codegen::gpu {

using namespace mlir;

namespace {

/// Workgroup memory (memref address space 3 maps to SPIR-V Workgroup and NVVM shared).
constexpr unsigned kWorkgroupSpace = 3;

mlir::gpu::Dimension axisOf(int axis) {
  return axis == 0 ? mlir::gpu::Dimension::x : axis == 1 ? mlir::gpu::Dimension::y : mlir::gpu::Dimension::z;
}

template <typename FloatOp, typename IntOp>
V binary(V a, V b) {
  OpBuilder& builder = a.k->builder();
  if (a.isFloat()) return a.k->wrap(FloatOp::create(builder, a.k->loc(), a.value, b.value));
  return a.k->wrap(IntOp::create(builder, a.k->loc(), a.value, b.value));
}

V compare(V a, V b, arith::CmpFPredicate fp, arith::CmpIPredicate ip) {
  OpBuilder& builder = a.k->builder();
  if (a.isFloat()) return a.k->wrap(arith::CmpFOp::create(builder, a.k->loc(), fp, a.value, b.value));
  return a.k->wrap(arith::CmpIOp::create(builder, a.k->loc(), ip, a.value, b.value));
}

V constantLike(V like, double value) {
  if (like.isFloat()) return like.k->f32(value);
  Type type = like.value.getType();
  if (type.isIndex()) return like.k->index(static_cast<int64_t>(value));
  OpBuilder& builder = like.k->builder();
  return like.k->wrap(arith::ConstantOp::create(builder, like.k->loc(), type,
                                                builder.getIntegerAttr(type, static_cast<int64_t>(value))));
}

}  // namespace

Type elementType(Builder& builder, Element element) {
  switch (element) {
    case Element::F32: return builder.getF32Type();
    case Element::I32: return builder.getI32Type();
    case Element::F16: return builder.getF16Type();
  }
  return builder.getF32Type();
}

bool V::isFloat() const { return isa<FloatType>(value.getType()); }

V operator+(V a, V b) { return binary<arith::AddFOp, arith::AddIOp>(a, b); }
V operator-(V a, V b) { return binary<arith::SubFOp, arith::SubIOp>(a, b); }
V operator*(V a, V b) { return binary<arith::MulFOp, arith::MulIOp>(a, b); }
V operator/(V a, V b) { return binary<arith::DivFOp, arith::DivUIOp>(a, b); }
V operator%(V a, V b) { return binary<arith::RemFOp, arith::RemUIOp>(a, b); }
V operator<(V a, V b) { return compare(a, b, arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt); }
V operator<=(V a, V b) { return compare(a, b, arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle); }
V operator>(V a, V b) { return compare(a, b, arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt); }
V operator>=(V a, V b) { return compare(a, b, arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge); }
V operator==(V a, V b) { return compare(a, b, arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq); }
V operator!=(V a, V b) { return compare(a, b, arith::CmpFPredicate::UNE, arith::CmpIPredicate::ne); }
V operator&&(V a, V b) { return a.k->wrap(arith::AndIOp::create(a.k->builder(), a.k->loc(), a.value, b.value)); }
V operator||(V a, V b) { return a.k->wrap(arith::OrIOp::create(a.k->builder(), a.k->loc(), a.value, b.value)); }
V operator-(V a) {
  if (a.isFloat()) return a.k->wrap(arith::NegFOp::create(a.k->builder(), a.k->loc(), a.value));
  return constantLike(a, 0) - a;
}
V operator+(V a, double b) { return a + constantLike(a, b); }
V operator*(V a, double b) { return a * constantLike(a, b); }
V operator-(V a, double b) { return a - constantLike(a, b); }
V operator+(V a, int64_t b) { return a + constantLike(a, static_cast<double>(b)); }
V operator*(V a, int64_t b) { return a * constantLike(a, static_cast<double>(b)); }
V operator-(V a, int64_t b) { return a - constantLike(a, static_cast<double>(b)); }
V operator/(V a, int64_t b) { return a / constantLike(a, static_cast<double>(b)); }
V operator%(V a, int64_t b) { return a % constantLike(a, static_cast<double>(b)); }
V operator<(V a, int64_t b) { return a < constantLike(a, static_cast<double>(b)); }
V operator==(V a, int64_t b) { return a == constantLike(a, static_cast<double>(b)); }
V operator!=(V a, int64_t b) { return a != constantLike(a, static_cast<double>(b)); }

KernelBuilder::KernelBuilder(OpBuilder& builder, mlir::gpu::GPUFuncOp fn, int dim_count, int int_count)
    : b_(builder), loc_(fn.getLoc()), fn_(fn), dim_count_(dim_count), int_count_(int_count) {}

V KernelBuilder::index(int64_t value) { return wrap(arith::ConstantIndexOp::create(b_, loc_, value)); }
V KernelBuilder::f32(double value) {
  return wrap(arith::ConstantOp::create(b_, loc_, b_.getF32Type(), b_.getF32FloatAttr(static_cast<float>(value))));
}
V KernelBuilder::boolean(bool value) { return wrap(arith::ConstantIntOp::create(b_, loc_, value ? 1 : 0, 1)); }
V KernelBuilder::i32(int64_t value) { return wrap(arith::ConstantIntOp::create(b_, loc_, value, 32)); }
V KernelBuilder::i64(int64_t value) { return wrap(arith::ConstantIntOp::create(b_, loc_, value, 64)); }

Value KernelBuilder::operand(int i) { return fn_.getArgument(i); }

V KernelBuilder::paramWord(int i) {
  Value params = fn_.getArgument(fn_.getNumArguments() - 1);
  return toIndex(load(params, index(i)));
}
V KernelBuilder::dim(int i) { return paramWord(i); }
V KernelBuilder::intParam(int i) { return paramWord(dim_count_ + i); }
V KernelBuilder::floatParam(int i) {
  Value params = fn_.getArgument(fn_.getNumArguments() - 1);
  return bitsToFloat(load(params, index(dim_count_ + int_count_ + i)));
}

V KernelBuilder::load(Value memref, V i) {
  Value value = memref::LoadOp::create(b_, loc_, memref, ValueRange{i.value});
  if (value.getType().isF16()) value = arith::ExtFOp::create(b_, loc_, b_.getF32Type(), value);
  return wrap(value);
}
void KernelBuilder::store(V value, Value memref, V i) {
  memref::StoreOp::create(b_, loc_, value.value, memref, ValueRange{i.value});
}

std::array<V, 4> KernelBuilder::load4(Value memref, V i) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  const int64_t bytes = 4 * element.getIntOrFloatBitWidth() / 8;
  auto type = VectorType::get({4}, element);
  Value quad = vector::LoadOp::create(b_, loc_, type, memref, ValueRange{i.value}, /*nontemporal=*/false,
                                      llvm::MaybeAlign(bytes));
  std::array<V, 4> values;
  for (int64_t lane = 0; lane < 4; ++lane) {
    Value value = vector::ExtractOp::create(b_, loc_, quad, lane);
    if (element.isF16()) value = arith::ExtFOp::create(b_, loc_, b_.getF32Type(), value);
    values[lane] = wrap(value);
  }
  return values;
}

void KernelBuilder::store4(const std::array<V, 4>& values, Value memref, V i) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  SmallVector<Value, 4> lanes;
  for (const V& v : values) lanes.push_back(v.value);
  Value quad = vector::FromElementsOp::create(b_, loc_, VectorType::get({4}, element), lanes);
  vector::StoreOp::create(b_, loc_, quad, memref, ValueRange{i.value}, /*nontemporal=*/false,
                          llvm::MaybeAlign(4 * element.getIntOrFloatBitWidth() / 8));
}

V KernelBuilder::threadId(int axis) { return wrap(mlir::gpu::ThreadIdOp::create(b_, loc_, axisOf(axis))); }
V KernelBuilder::blockId(int axis) { return wrap(mlir::gpu::BlockIdOp::create(b_, loc_, axisOf(axis))); }
V KernelBuilder::blockDim(int axis) { return wrap(mlir::gpu::BlockDimOp::create(b_, loc_, axisOf(axis))); }
V KernelBuilder::gridDim(int axis) { return wrap(mlir::gpu::GridDimOp::create(b_, loc_, axisOf(axis))); }
V KernelBuilder::laneId() { return wrap(mlir::gpu::LaneIdOp::create(b_, loc_, /*upper_bound=*/nullptr)); }
V KernelBuilder::subgroupId() { return wrap(mlir::gpu::SubgroupIdOp::create(b_, loc_, /*upper_bound=*/nullptr)); }
V KernelBuilder::subgroupCount() { return wrap(mlir::gpu::NumSubgroupsOp::create(b_, loc_, /*upper_bound=*/nullptr)); }

void KernelBuilder::loop(V lo, V hi, V step, const std::function<void(V)>& body) {
  auto op = scf::ForOp::create(b_, loc_, lo.value, hi.value, step.value);
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPoint(op.getBody()->getTerminator());
  body(wrap(op.getInductionVar()));
}

std::vector<V> KernelBuilder::loop(V lo, V hi, V step, const std::vector<V>& init,
                                   const std::function<std::vector<V>(V, const std::vector<V>&)>& body) {
  SmallVector<Value> inits;
  for (const V& v : init) inits.push_back(v.value);
  auto op = scf::ForOp::create(b_, loc_, lo.value, hi.value, step.value, inits);
  {
    OpBuilder::InsertionGuard guard(b_);
    Block* block = op.getBody();
    if (!block->empty()) block->getTerminator()->erase();
    b_.setInsertionPointToEnd(block);
    std::vector<V> carried;
    for (Value arg : op.getRegionIterArgs()) carried.push_back(wrap(arg));
    std::vector<V> next = body(wrap(op.getInductionVar()), carried);
    SmallVector<Value> yielded;
    for (const V& v : next) yielded.push_back(v.value);
    scf::YieldOp::create(b_, loc_, yielded);
  }
  std::vector<V> results;
  for (Value result : op.getResults()) results.push_back(wrap(result));
  return results;
}

void KernelBuilder::unrolledLoop(V lo, V hi, V step, int64_t factor, const std::function<void(V)>& body) {
  loop(lo, hi, step * factor, [&](V first) {
    body(first);  // first < hi
    for (int64_t copy = 1; copy < factor; ++copy) {
      V i = first + step * copy;
      when(i < hi, [&] { body(i); });
    }
  });
}

std::vector<V> KernelBuilder::unrolledLoop(V lo, V hi, V step, int64_t factor, const std::vector<V>& init,
                                           const std::function<std::vector<V>(V, const std::vector<V>&)>& body) {
  return loop(lo, hi, step * factor, init, [&](V first, const std::vector<V>& carried) {
    std::vector<V> values = body(first, carried);  // first < hi
    for (int64_t copy = 1; copy < factor; ++copy) {
      V i = first + step * copy;
      V inside = i < hi;
      // Past hi the copy reruns `first` (in bounds) and its values are dropped.
      std::vector<V> next = body(select(inside, i, first), values);
      for (size_t v = 0; v < values.size(); ++v) values[v] = select(inside, next[v], values[v]);
    }
    return values;
  });
}

void KernelBuilder::when(V condition, const std::function<void()>& body) {
  auto op = scf::IfOp::create(b_, loc_, condition.value, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPoint(op.thenBlock()->getTerminator());
  body();
}

void KernelBuilder::ifElse(V condition, const std::function<void()>& then_body,
                           const std::function<void()>& else_body) {
  auto op = scf::IfOp::create(b_, loc_, condition.value, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPoint(op.thenBlock()->getTerminator());
  then_body();
  b_.setInsertionPoint(op.elseBlock()->getTerminator());
  else_body();
}

V KernelBuilder::select(V condition, V a, V b) {
  return wrap(arith::SelectOp::create(b_, loc_, condition.value, a.value, b.value));
}
V KernelBuilder::min(V a, V b) {
  if (a.isFloat()) return wrap(arith::MinimumFOp::create(b_, loc_, a.value, b.value));
  return wrap(arith::MinSIOp::create(b_, loc_, a.value, b.value));
}
V KernelBuilder::max(V a, V b) {
  if (a.isFloat()) return wrap(arith::MaximumFOp::create(b_, loc_, a.value, b.value));
  return wrap(arith::MaxSIOp::create(b_, loc_, a.value, b.value));
}

Value KernelBuilder::shared(int64_t elements, Element element, int64_t alignment) {
  auto memref_type = MemRefType::get({elements}, elementType(b_, element), MemRefLayoutAttrInterface{}, b_.getI64IntegerAttr(kWorkgroupSpace));
  IntegerAttr alignment_attr = alignment > 0 ? b_.getI64IntegerAttr(alignment) : IntegerAttr();
  return memref::AllocOp::create(b_, loc_, memref_type, alignment_attr);
}

void KernelBuilder::barrier() { mlir::gpu::BarrierOp::create(b_, loc_); }

// Not marked uniform: convert-gpu-to-spirv lowers uniform reductions to the
// Groups-capability ops (spirv.GroupFAdd), which Vulkan does not have.
V KernelBuilder::subgroupSum(V x) {
  return wrap(mlir::gpu::SubgroupReduceOp::create(b_, loc_, x.value, mlir::gpu::AllReduceOperation::ADD, /*uniform=*/false));
}
V KernelBuilder::subgroupMax(V x) {
  return wrap(mlir::gpu::SubgroupReduceOp::create(b_, loc_, x.value, mlir::gpu::AllReduceOperation::MAXNUMF, /*uniform=*/false));
}

// Each subgroup reduces in registers, lane 0 of each writes its partial to
// `scratch`, then every invocation folds the partials (at most kMaxSubgroups).
V KernelBuilder::workgroupReduce(V x, Value scratch, bool max_op) {
  V partial = max_op ? subgroupMax(x) : subgroupSum(x);
  barrier();  // `scratch` may still be read by a previous reduction
  when(laneId() == index(0), [&] { store(partial, scratch, subgroupId()); });
  barrier();
  V identity = max_op ? f32(-std::numeric_limits<float>::infinity()) : f32(0.0);
  return loop(index(0), subgroupCount(), index(1), {identity}, [&](V i, const std::vector<V>& acc) {
    V value = load(scratch, i);
    return std::vector<V>{max_op ? max(acc[0], value) : acc[0] + value};
  })[0];
}
V KernelBuilder::workgroupSum(V x, Value scratch) { return workgroupReduce(x, scratch, false); }
V KernelBuilder::workgroupMax(V x, Value scratch) { return workgroupReduce(x, scratch, true); }

V KernelBuilder::exp(V x) { return wrap(math::ExpOp::create(b_, loc_, x.value)); }
V KernelBuilder::log(V x) { return wrap(math::LogOp::create(b_, loc_, x.value)); }
V KernelBuilder::sqrt(V x) { return wrap(math::SqrtOp::create(b_, loc_, x.value)); }
V KernelBuilder::rsqrt(V x) { return wrap(math::RsqrtOp::create(b_, loc_, x.value)); }
V KernelBuilder::tanh(V x) { return wrap(math::TanhOp::create(b_, loc_, x.value)); }
V KernelBuilder::abs(V x) { return wrap(math::AbsFOp::create(b_, loc_, x.value)); }
V KernelBuilder::sin(V x) { return wrap(math::SinOp::create(b_, loc_, x.value)); }
V KernelBuilder::cos(V x) { return wrap(math::CosOp::create(b_, loc_, x.value)); }
V KernelBuilder::pow(V x, V y) { return wrap(math::PowFOp::create(b_, loc_, x.value, y.value)); }

// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): GLSL and SPIR-V have no erf.
V KernelBuilder::erf(V x) {
  V a = abs(x);
  V t = f32(1.0) / (a * 0.3275911 + f32(1.0));
  V poly = ((((t * 1.061405429 + f32(-1.453152027)) * t + f32(1.421413741)) * t + f32(-0.284496736)) * t +
            f32(0.254829592)) * t;
  V y = f32(1.0) - poly * exp(-(a * a));
  return select(x < f32(0.0), -y, y);
}

V KernelBuilder::toFloat(V integer) {
  Value v = integer.value;
  if (v.getType().isIndex()) v = arith::IndexCastOp::create(b_, loc_, b_.getI32Type(), v);
  return wrap(arith::SIToFPOp::create(b_, loc_, b_.getF32Type(), v));
}
V KernelBuilder::toIndex(V integer) {
  if (integer.value.getType().isIndex()) return integer;
  return wrap(arith::IndexCastOp::create(b_, loc_, b_.getIndexType(), integer.value));
}
V KernelBuilder::toI32(V value) {
  if (value.value.getType().isInteger(32)) return value;
  if (value.value.getType().isIndex()) return wrap(arith::IndexCastOp::create(b_, loc_, b_.getI32Type(), value.value));
  return wrap(arith::TruncIOp::create(b_, loc_, b_.getI32Type(), value.value));
}
V KernelBuilder::toI64(V value) {
  if (value.value.getType().isIndex()) value = toI32(value);
  return wrap(arith::ExtUIOp::create(b_, loc_, b_.getI64Type(), value.value));
}
V KernelBuilder::bitsToFloat(V i32) { return wrap(arith::BitcastOp::create(b_, loc_, b_.getF32Type(), i32.value)); }
V KernelBuilder::floatToBits(V f32) { return wrap(arith::BitcastOp::create(b_, loc_, b_.getI32Type(), f32.value)); }
V KernelBuilder::shiftLeft(V a, int64_t bits) {
  return wrap(arith::ShLIOp::create(b_, loc_, a.value, constantLike(a, static_cast<double>(bits)).value));
}
V KernelBuilder::shiftRight(V a, int64_t bits) {
  return wrap(arith::ShRUIOp::create(b_, loc_, a.value, constantLike(a, static_cast<double>(bits)).value));
}
V KernelBuilder::bitXor(V a, V b) { return wrap(arith::XOrIOp::create(b_, loc_, a.value, b.value)); }
V KernelBuilder::bitAnd(V a, V b) { return wrap(arith::AndIOp::create(b_, loc_, a.value, b.value)); }
V KernelBuilder::bitOr(V a, V b) { return wrap(arith::OrIOp::create(b_, loc_, a.value, b.value)); }

}  // namespace lathe::codegen::gpu
