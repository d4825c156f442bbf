// Encodes planned lathe_kernel functions as artifact entry points: one
// Dispatch per kernel op, operands resolved to arena offsets, weights, inputs
// or outputs. Operand and parameter order per kind: runtime/schema/artifact.fbs.
#include "lathe/codegen/ArtifactWriter.h"

#include "SchemaVersion.h"
#include "artifact_generated.h"
#include "lathe/codegen/gpu/GpuProgramWriter.h"
#include "lathe/ir/KernelDialect.h"
#include "lathe/passes/Passes.h"
#include "lathe/support/Float16.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

namespace lathe::codegen {
namespace {

using namespace mlir;
namespace lk = lathe::kernel;
namespace fbs = flatbuffers;

fb::Dim toDim(const passes::SymbolicDim& d) {
  return fb::Dim(d.coefficient, static_cast<int8_t>(d.b_pow), static_cast<int8_t>(d.t_pow));
}

fb::DType toDType(Type type) {
  if (type.isF16()) return fb::DType::F16;
  if (type.isBF16()) return fb::DType::BF16;
  if (type.isInteger(32)) return fb::DType::I32;
  return fb::DType::F32;
}

/// Collects one function's dispatches.
/// Weights and states by name, shared by all entry points (keys are attribute
/// storage, which lives as long as the context).
struct NamedState {
  std::string name;
  RankedTensorType type;
  fb::StateKind kind;
  int64_t initial_weight;  // -1 unless kind is Parameter
};

struct NamedBuffers {
  llvm::DenseMap<StringRef, uint64_t> weight_index;
  std::vector<std::string> weight_names;
  llvm::DenseMap<StringRef, uint64_t> state_index;
  std::vector<NamedState> states;

  /// `name` must be attribute storage (it outlives the map).
  uint64_t weight(StringRef name) {
    auto [it, inserted] = weight_index.try_emplace(name, weight_names.size());
    if (inserted) weight_names.push_back(name.str());
    return it->second;
  }
};

class EntryPointEncoder {
public:
  EntryPointEncoder(fbs::FlatBufferBuilder& fbb, NamedBuffers& named, fb::DType weight_dtype)
      : fbb_(fbb), named_(named), weight_dtype_(weight_dtype) {}

  /// What GPU kernels are generated from: one shape per encoded dispatch.
  const gpu::EntryDispatches& dispatchShapes() const { return shapes_; }

  fbs::Offset<fb::EntryPoint> encode(func::FuncOp fn) {
    shapes_.entry = fn.getSymName().str();
    auto max_batch = fn->getAttrOfType<IntegerAttr>(ir::kMaxBatchAttr);
    auto max_seq = fn->getAttrOfType<IntegerAttr>(ir::kMaxSeqAttr);
    if (max_batch && max_seq) max_batch_seq_ = {max_batch.getInt(), max_seq.getInt()};
    std::vector<fbs::Offset<fb::Dispatch>> dispatches;
    for (Operation& op : fn.getBody().front()) {
      if (auto param = dyn_cast<ir::ParamOp>(op)) { weightRef(param); continue; }
      if (!isa<lk::KernelDialect>(op.getDialect()) || isa<lk::ViewOp>(op)) continue;
      auto dispatch = encodeKernel(op);
      if (!dispatch) return {};
      dispatches.push_back(*dispatch);
    }
    std::vector<fbs::Offset<fb::TensorSpec>> inputs, outputs;
    for (auto [i, arg] : llvm::enumerate(fn.getArguments()))
      inputs.push_back(tensorSpec(fn.getArgAttrOfType<StringAttr>(i, "lathe.name"), arg.getType()));
    for (auto [i, type] : llvm::enumerate(fn.getResultTypes()))
      outputs.push_back(tensorSpec(fn.getResultAttrOfType<StringAttr>(i, "lathe.name"), type));
    auto arena = fn->getAttrOfType<IntegerAttr>(lk::kArenaBytesAttr);
    return fb::CreateEntryPointDirect(fbb_, fn.getSymName().str().c_str(), &inputs, &outputs,
                                      arena ? arena.getInt() : 0, &dispatches);
  }

private:
  fbs::Offset<fb::TensorSpec> tensorSpec(StringAttr name, Type type) {
    auto ranked = cast<RankedTensorType>(type);
    std::vector<fb::Dim> shape;
    for (int64_t i = 0; i < ranked.getRank(); ++i) shape.push_back(toDim(passes::symbolicDim(ranked, i)));
    return fb::CreateTensorSpecDirect(fbb_, name ? name.str().c_str() : "", toDType(ranked.getElementType()), &shape);
  }

  fb::BufferRef weightRef(ir::ParamOp param) {
    return fb::BufferRef(fb::BufferSpace::Weight, named_.weight(param.getName()));
  }

  static fb::StateKind stateKind(ir::StateKind kind) {
    switch (kind) {
      case ir::StateKind::cache: return fb::StateKind::Cache;
      case ir::StateKind::parameter: return fb::StateKind::Parameter;
      case ir::StateKind::gradient: return fb::StateKind::Gradient;
      case ir::StateKind::moment: return fb::StateKind::OptimizerMoment;
    }
    return fb::StateKind::Cache;
  }

  std::optional<fb::BufferRef> stateRef(ir::StateOp state) {
    NamedState described{state.getName().str(), state.getType(), stateKind(state.getKind()),
                         state.getInitialWeight() ? static_cast<int64_t>(named_.weight(*state.getInitialWeight())) : -1};
    auto [it, inserted] = named_.state_index.try_emplace(state.getName(), named_.states.size());
    if (inserted) {
      named_.states.push_back(described);
    } else {
      const NamedState& known = named_.states[it->second];
      if (known.type != described.type || known.kind != described.kind ||
          known.initial_weight != described.initial_weight) {
        state.emitOpError("redeclares state '") << state.getName() << "' with another type, kind or initial weight";
        return std::nullopt;
      }
    }
    return fb::BufferRef(fb::BufferSpace::State, it->second);
  }

  /// Follows views and in-place kernels (their result 0) back to the value
  /// that owns the storage.
  static Value storageOf(Value value) {
    while (Operation* def = value.getDefiningOp()) {
      if (!isa<lk::ViewOp>(def) && !def->hasTrait<lk::InPlace>()) break;
      if (cast<OpResult>(value).getResultNumber() != 0) break;
      value = def->getOperand(0);
    }
    return value;
  }

  std::optional<fb::BufferRef> bufferRef(Value value) {
    Value storage = storageOf(value);
    if (auto arg = dyn_cast<BlockArgument>(storage)) return fb::BufferRef(fb::BufferSpace::Input, arg.getArgNumber());
    Operation* def = storage.getDefiningOp();
    if (auto param = dyn_cast<ir::ParamOp>(def)) return weightRef(param);
    if (auto state = dyn_cast<ir::StateOp>(def)) return stateRef(state);
    auto result = cast<OpResult>(storage);
    if (auto output = lk::plannedValue(result, lk::kOutputAttr)) return fb::BufferRef(fb::BufferSpace::Output, *output);
    if (auto offset = lk::plannedValue(result, lk::kOffsetAttr)) return fb::BufferRef(fb::BufferSpace::Arena, *offset);
    def->emitOpError("has no planned buffer; run lathe-plan-memory first");
    return std::nullopt;
  }

  struct Record {
    fb::KernelKind kind;
    std::vector<Value> buffers;
    std::vector<passes::SymbolicDim> dims;
    std::vector<int64_t> ints;
    std::vector<float> floats;
  };

  static passes::SymbolicDim rows(Value v) {
    auto type = cast<RankedTensorType>(v.getType());
    return passes::symbolicProduct(type, 0, type.getRank() - 1);
  }
  static passes::SymbolicDim dim(Value v, int64_t i) {
    return passes::symbolicDim(cast<RankedTensorType>(v.getType()), i);
  }
  static passes::SymbolicDim channels(Value v) {
    return dim(v, cast<RankedTensorType>(v.getType()).getRank() - 1);
  }
  static passes::SymbolicDim numel(Value v) {
    auto type = cast<RankedTensorType>(v.getType());
    return passes::symbolicProduct(type, 0, type.getRank());
  }
  static int64_t actCode(std::optional<ir::ActivationKind> act) { return act ? static_cast<int64_t>(*act) : 0; }

  std::optional<Record> describe(Operation& op) {
    return llvm::TypeSwitch<Operation*, std::optional<Record>>(&op)
        .Case([](lk::EmbeddingOp k) {
          return Record{fb::KernelKind::Embedding, {k.getIds(), k.getTable(), k.getResult()},
                        {rows(k.getResult()), dim(k.getResult(), 2)}, {}, {}};
        })
        .Case([](lk::AddPositionsOp k) {
          Record r{k.getOffsets() ? fb::KernelKind::AddPositionsAt : fb::KernelKind::AddPositions, {k.getInput()},
                   {dim(k.getInput(), 0), dim(k.getInput(), 1), dim(k.getInput(), 2)},
                   {static_cast<int64_t>(k.getKind())}, {}};
          if (k.getOffsets()) r.buffers.push_back(k.getOffsets());
          if (k.getTable()) r.buffers.push_back(k.getTable());
          return r;
        })
        .Case([](lk::LayerNormOp k) {
          Record r{fb::KernelKind::LayerNorm, {k.getInput(), k.getWeight()}, {rows(k.getInput()), channels(k.getInput())},
                   {k.getBias() ? 1 : 0}, {k.getEps().convertToFloat()}};
          if (k.getBias()) r.buffers.push_back(k.getBias());
          r.buffers.push_back(k.getResult());
          return r;
        })
        .Case([](lk::RMSNormOp k) {
          return Record{fb::KernelKind::RMSNorm, {k.getInput(), k.getWeight(), k.getResult()},
                        {rows(k.getInput()), channels(k.getInput())}, {}, {k.getEps().convertToFloat()}};
        })
        .Case([](lk::GemmOp k) {
          auto b = cast<RankedTensorType>(k.getB().getType());
          Record r{fb::KernelKind::Gemm, {k.getA(), k.getB(), k.getResult()},
                   {rows(k.getA()), {b.getDimSize(0), 0, 0}, {b.getDimSize(1), 0, 0}},
                   {1, actCode(k.getActivation()), k.getBias() ? 1 : 0, k.getResidual() ? 1 : 0}, {}};
          if (k.getBias()) r.buffers.push_back(k.getBias());
          if (k.getResidual()) r.buffers.push_back(k.getResidual());
          return r;
        })
        .Case([](lk::RopeOp k) {
          Value x = k.getInput();
          Record r{k.getOffsets() ? fb::KernelKind::RopeAt : fb::KernelKind::Rope, {x},
                   {dim(x, 0), dim(x, 1), dim(x, 2), dim(x, 3)}, {}, {k.getTheta().convertToFloat()}};
          if (k.getOffsets()) r.buffers.push_back(k.getOffsets());
          return r;
        })
        .Case([](lk::CacheWriteOp k) {
          Value x = k.getValue(), cache = k.getCache();
          Record r{fb::KernelKind::KVCacheWrite, {cache, x},
                   {dim(x, 0), dim(x, 1), dim(x, 2), dim(x, 3), dim(cache, 0), dim(cache, 1)},
                   {k.getOffsets() ? 1 : 0}, {}};
          if (k.getOffsets()) r.buffers.push_back(k.getOffsets());
          return r;
        })
        .Case([](lk::CachedAttentionOp k) {
          Value q = k.getQuery(), cache = k.getKeyCache();
          return Record{fb::KernelKind::CachedAttention,
                        {q, cache, k.getValueCache(), k.getOffsets(), k.getResult()},
                        {dim(q, 0), dim(q, 1), dim(q, 2), dim(cache, 2), dim(q, 3), dim(cache, 0), dim(cache, 1)},
                        {}, {k.getScale().convertToFloat()}};
        })
        .Case([](lk::GatherLastOp k) {
          Value x = k.getInput();
          Record r{fb::KernelKind::GatherLast, {x}, {dim(x, 0), dim(x, 1), dim(x, 2)}, {k.getLengths() ? 1 : 0}, {}};
          if (k.getLengths()) r.buffers.push_back(k.getLengths());
          r.buffers.push_back(k.getResult());
          return r;
        })
        .Case([](lk::AttentionOp k) {
          Value q = k.getQuery();
          return Record{fb::KernelKind::Attention, {q, k.getKey(), k.getValue(), k.getResult()},
                        {dim(q, 0), dim(q, 1), dim(q, 2), dim(k.getKey(), 2), dim(q, 3)},
                        {k.getCausal() ? 1 : 0}, {k.getScale().convertToFloat()}};
        })
        .Case([](lk::UnaryOp k) {
          return Record{fb::KernelKind::Unary, {k.getInput(), k.getResult()}, {numel(k.getInput())},
                        {actCode(k.getKind())}, {}};
        })
        .Case([](lk::DropoutOp k) {
          return Record{fb::KernelKind::Dropout, {k.getInput(), k.getRng(), k.getResult()}, {numel(k.getInput())},
                        {k.getStream()}, {k.getP().convertToFloat()}};
        })
        .Case([](lk::BinaryOp k) {
          return Record{fb::KernelKind::Binary, {k.getLhs(), k.getRhs(), k.getResult()}, {numel(k.getLhs())},
                        {static_cast<int64_t>(k.getKind())}, {}};
        })
        .Case([](lk::SwiGLUOp k) {
          return Record{fb::KernelKind::SwiGLU, {k.getGate(), k.getUp(), k.getResult()}, {numel(k.getGate())}, {}, {}};
        })
        .Case([](lk::LayerNormStatsOp k) {
          return Record{fb::KernelKind::LayerNormStats,
                        {k.getInput(), k.getWeight(), k.getBias(), k.getResult(), k.getMean(), k.getRstd()},
                        {rows(k.getInput()), channels(k.getInput())}, {}, {k.getEps().convertToFloat()}};
        })
        .Case([](lk::RMSNormStatsOp k) {
          return Record{fb::KernelKind::RMSNormStats, {k.getInput(), k.getWeight(), k.getResult(), k.getRstd()},
                        {rows(k.getInput()), channels(k.getInput())}, {}, {k.getEps().convertToFloat()}};
        })
        .Case([](lk::AttentionLseOp k) {
          Value q = k.getQuery();
          return Record{fb::KernelKind::AttentionLse, {q, k.getKey(), k.getValue(), k.getResult(), k.getLse()},
                        {dim(q, 0), dim(q, 1), dim(q, 2), dim(k.getKey(), 2), dim(q, 3)},
                        {k.getCausal() ? 1 : 0}, {k.getScale().convertToFloat()}};
        })
        .Case([](lk::CrossEntropyOp k) {
          return Record{fb::KernelKind::CrossEntropy, {k.getLogits(), k.getTargets(), k.getLoss(), k.getTokenStats()},
                        {rows(k.getLogits()), channels(k.getLogits()), {2, 0, 0}}, {k.getIgnoreIndex()}, {}};
        })
        .Case([](lk::CrossEntropyGradOp k) {
          return Record{fb::KernelKind::CrossEntropyGrad,
                        {k.getLogits(), k.getTargets(), k.getLoss(), k.getTokenStats()},
                        {rows(k.getLogits()), channels(k.getLogits()), {2, 0, 0}}, {k.getIgnoreIndex()}, {}};
        })
        .Case([](lk::LinearGradInputOp k) {
          auto w = cast<RankedTensorType>(k.getWeight().getType());
          return Record{fb::KernelKind::Gemm, {k.getOutputGrad(), k.getWeight(), k.getResult()},
                        {rows(k.getOutputGrad()), {w.getDimSize(1), 0, 0}, {w.getDimSize(0), 0, 0}},
                        {0, 0, 0, 0}, {}};
        })
        .Case([](lk::LinearGradWeightOp k) {
          auto w = cast<RankedTensorType>(k.getAccumulator().getType());
          return Record{fb::KernelKind::GemmWeightGrad, {k.getAccumulator(), k.getOutputGrad(), k.getInput()},
                        {rows(k.getOutputGrad()), {w.getDimSize(0), 0, 0}, {w.getDimSize(1), 0, 0}}, {}, {}};
        })
        .Case([](lk::BiasGradOp k) {
          return Record{fb::KernelKind::BiasGrad, {k.getAccumulator(), k.getOutputGrad()},
                        {rows(k.getOutputGrad()), channels(k.getOutputGrad())}, {}, {}};
        })
        .Case([](lk::EmbeddingGradOp k) {
          return Record{fb::KernelKind::EmbeddingGrad, {k.getAccumulator(), k.getOutputGrad(), k.getIds()},
                        {rows(k.getOutputGrad()), channels(k.getOutputGrad()), dim(k.getAccumulator(), 0)}, {}, {}};
        })
        .Case([](lk::PositionsGradOp k) {
          Value dy = k.getOutputGrad();
          return Record{fb::KernelKind::PositionsGrad, {k.getAccumulator(), dy},
                        {dim(dy, 0), dim(dy, 1), dim(dy, 2), dim(k.getAccumulator(), 0)}, {}, {}};
        })
        .Case([](lk::AccumulateOp k) {
          return Record{fb::KernelKind::Accumulate, {k.getAccumulator(), k.getValue()}, {numel(k.getValue())}, {}, {}};
        })
        .Case([](lk::LayerNormGradOp k) {
          return Record{fb::KernelKind::LayerNormGrad,
                        {k.getOutputGrad(), k.getInput(), k.getWeight(), k.getMean(), k.getRstd(), k.getInputGrad(),
                         k.getWeightGrad(), k.getBiasGrad()},
                        {rows(k.getInput()), channels(k.getInput())}, {}, {}};
        })
        .Case([](lk::RMSNormGradOp k) {
          return Record{fb::KernelKind::RMSNormGrad,
                        {k.getOutputGrad(), k.getInput(), k.getWeight(), k.getRstd(), k.getInputGrad(),
                         k.getWeightGrad()},
                        {rows(k.getInput()), channels(k.getInput())}, {}, {}};
        })
        .Case([](lk::AttentionGradOp k) {
          Value q = k.getQuery();
          return Record{fb::KernelKind::AttentionGrad,
                        {k.getOutputGrad(), q, k.getKey(), k.getValue(), k.getOutput(), k.getLse(), k.getQueryGrad(),
                         k.getKeyGrad(), k.getValueGrad()},
                        {dim(q, 0), dim(q, 1), dim(q, 2), dim(k.getKey(), 2), dim(q, 3)},
                        {k.getCausal() ? 1 : 0}, {k.getScale().convertToFloat()}};
        })
        .Case([](lk::RopeGradOp k) {
          Value x = k.getOutputGrad();
          return Record{fb::KernelKind::RopeGrad, {x}, {dim(x, 0), dim(x, 1), dim(x, 2), dim(x, 3)}, {},
                        {k.getTheta().convertToFloat()}};
        })
        .Case([](lk::UnaryGradOp k) {
          return Record{fb::KernelKind::UnaryGrad, {k.getInput(), k.getOutputGrad(), k.getResult()},
                        {numel(k.getInput())}, {actCode(k.getKind())}, {}};
        })
        .Case([](lk::SwiGLUGradOp k) {
          return Record{fb::KernelKind::SwiGLUGrad,
                        {k.getGate(), k.getUp(), k.getOutputGrad(), k.getGateGrad(), k.getUpGrad()},
                        {numel(k.getGate())}, {}, {}};
        })
        .Case([](lk::GradNormOp k) {
          Record r{fb::KernelKind::GradNorm, {k.getHyper(), k.getResult()}, {},
                   {static_cast<int64_t>(k.getGradients().size())}, {}};
          for (Value g : k.getGradients()) {
            r.buffers.push_back(g);
            r.dims.push_back(numel(g));
          }
          return r;
        })
        .Case([](lk::AdamWOp k) {
          return Record{fb::KernelKind::AdamW,
                        {k.getParam(), k.getGrad(), k.getM(), k.getV(), k.getHyper(), k.getNorm()},
                        {numel(k.getParam())}, {k.getDecay() ? 1 : 0}, {}};
        })
        .Default([](Operation* other) -> std::optional<Record> {
          other->emitOpError("has no artifact encoding");
          return std::nullopt;
        });
  }

  std::optional<fbs::Offset<fb::Dispatch>> encodeKernel(Operation& op) {
    std::optional<Record> record = describe(op);
    if (!record) return std::nullopt;
    std::vector<fb::BufferRef> refs;
    for (Value value : record->buffers) {
      auto ref = bufferRef(value);
      if (!ref) return std::nullopt;
      refs.push_back(*ref);
    }
    std::vector<fb::Dim> dims;
    std::vector<int64_t> bounds;
    for (const auto& d : record->dims) {
      dims.push_back(toDim(d));
      if (max_batch_seq_) bounds.push_back(d.at(max_batch_seq_->first, max_batch_seq_->second));
    }
    shapes_.shapes.push_back({record->kind, gpu::operandElements(record->kind, refs, record->ints, weight_dtype_),
                              static_cast<int>(dims.size()), record->ints, static_cast<int>(record->floats.size()),
                              bounds});
    shapes_.names.push_back(kernelName(op));
    return fb::CreateDispatchDirect(fbb_, record->kind, &refs, &dims, &record->ints, &record->floats,
                                    kernelName(op).c_str());
  }

  static std::string kernelName(Operation& op) {
    if (auto name = dyn_cast<NameLoc>(op.getLoc())) return name.getName().str();
    return op.getName().stripDialect().str();
  }

  fbs::FlatBufferBuilder& fbb_;
  NamedBuffers& named_;
  fb::DType weight_dtype_;
  gpu::EntryDispatches shapes_;
  std::optional<std::pair<int64_t, int64_t>> max_batch_seq_;  // the entry point's, for dim bounds
};

/// "cpu,vulkan" -> {"cpu", "vulkan"}.
std::vector<std::string> splitTargets(const std::string& targets) {
  SmallVector<StringRef> names;
  StringRef(targets).split(names, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  std::vector<std::string> list;
  for (StringRef name : names) list.push_back(name.trim().str());
  return list;
}

/// The weight's f32 values as stored: as they are, or rounded to fp16.
std::vector<uint8_t> storedWeightBytes(const Tensor& tensor, fb::DType dtype) {
  if (dtype == fb::DType::F32) return tensor.data;
  std::vector<uint8_t> bytes(static_cast<size_t>(tensor.numel()) * sizeof(uint16_t));
  auto* halves = reinterpret_cast<uint16_t*>(bytes.data());
  const float* values = tensor.f32();
  for (int64_t i = 0; i < tensor.numel(); ++i) halves[i] = floatToHalf(values[i]);
  return bytes;
}

fbs::Offset<fb::Tokenizer> encodeTokenizer(fbs::FlatBufferBuilder& fbb, const TokenizerData& tokenizer) {
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> offsets{0};
  for (const std::string& token : tokenizer.tokens) {
    bytes.insert(bytes.end(), token.begin(), token.end());
    offsets.push_back(static_cast<uint32_t>(bytes.size()));
  }
  std::vector<uint32_t> merges;
  for (const auto& [left, right] : tokenizer.merges) {
    merges.push_back(left);
    merges.push_back(right);
  }
  return fb::CreateTokenizerDirect(fbb, tokenizer.kind.c_str(), &bytes, &offsets, &tokenizer.special_ids, &merges);
}

}  // namespace

std::vector<uint8_t> writeArtifact(ModuleOp module, const Weights& weights, const ArtifactOptions& options) {
  if (options.weight_dtype != DType::F32 && options.weight_dtype != DType::F16) {
    module.emitError("weights can be stored as f32 or f16 only");
    return {};
  }
  const fb::DType weight_dtype = options.weight_dtype == DType::F16 ? fb::DType::F16 : fb::DType::F32;
  fbs::FlatBufferBuilder fbb(1 << 20);
  NamedBuffers named;
  std::vector<fbs::Offset<fb::EntryPoint>> entry_points;
  std::vector<gpu::EntryDispatches> dispatch_shapes;
  int64_t max_batch = 0, max_seq = 0;
  for (auto fn : module.getOps<func::FuncOp>()) {
    EntryPointEncoder encoder(fbb, named, weight_dtype);
    auto entry = encoder.encode(fn);
    if (entry.IsNull()) return {};
    entry_points.push_back(entry);
    dispatch_shapes.push_back(encoder.dispatchShapes());
    max_batch = std::max<int64_t>(max_batch, fn->getAttrOfType<IntegerAttr>(ir::kMaxBatchAttr).getInt());
    max_seq = std::max<int64_t>(max_seq, fn->getAttrOfType<IntegerAttr>(ir::kMaxSeqAttr).getInt());
  }
  std::vector<fbs::Offset<fb::Weight>> weight_tables;
  for (const std::string& name : named.weight_names) {
    auto it = weights.find(name);
    if (it == weights.end()) {
      module.emitError("the model has no weight named '") << name << "'";
      return {};
    }
    const Tensor& tensor = it->second;
    if (tensor.dtype != DType::F32) {
      module.emitError("weight '") << name << "' is not f32; the frontend widens every weight to f32";
      return {};
    }
    const std::vector<uint8_t> stored = storedWeightBytes(tensor, weight_dtype);
    fbb.ForceVectorAlignment(stored.size(), 1, 64);  // lets the runtime use weights in place
    auto data = fbb.CreateVector(stored);
    weight_tables.push_back(
        fb::CreateWeight(fbb, fbb.CreateString(name), weight_dtype, fbb.CreateVector(tensor.shape), data));
  }
  fbs::Offset<fb::Tokenizer> tokenizer;
  if (options.tokenizer) tokenizer = encodeTokenizer(fbb, *options.tokenizer);
  std::vector<fbs::Offset<fb::TensorSpec>> state_specs;
  for (const NamedState& state : named.states) {
    if (state.kind == fb::StateKind::Parameter && weight_dtype != fb::DType::F32) {
      module.emitError("fp16 weights are for inference artifacts: trainable state '")
          << state.name << "' starts from an f32 weight";
      return {};
    }
    std::vector<fb::Dim> shape;
    for (int64_t extent : state.type.getShape()) shape.push_back(fb::Dim(extent, 0, 0));
    state_specs.push_back(fb::CreateTensorSpecDirect(fbb, state.name.c_str(), toDType(state.type.getElementType()),
                                                     &shape, state.kind, state.initial_weight));
  }
  std::vector<fbs::Offset<fb::GpuProgram>> gpu_programs;
  for (const std::string& target : splitTargets(options.target)) {
    if (target == "cpu") continue;  // the cpu runs the dispatch list itself
    std::string error;
    gpu::GpuProgramOptions program_options;
    program_options.cuda_archs = options.cuda_archs;
    program_options.tensor_cores = options.cuda_tensor_cores;
    program_options.matmul_precision = options.tf32_matmul ? gpu::MatmulPrecision::Tf32 : gpu::MatmulPrecision::Fp32;
    auto program = gpu::writeGpuProgram(fbb, target, dispatch_shapes, error, program_options);
    if (program.IsNull()) {
      module.emitError("target ") << target << ": " << error;
      return {};
    }
    gpu_programs.push_back(program);
  }
  auto artifact = fb::CreateArtifactDirect(fbb, fb::kSchemaVersion, "lathe 0.1", options.target.c_str(),
                                           options.model_json.c_str(), max_batch, max_seq, &entry_points,
                                           &weight_tables, tokenizer,
                                           named.states.empty() ? nullptr : &state_specs,
                                           gpu_programs.empty() ? nullptr : &gpu_programs);
  fb::FinishArtifactBuffer(fbb, artifact);
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

}  // namespace lathe::codegen
