// Model description -> lathe dialect: one function per entry point, one op per
// building block, weights by canonical name (see frontend/Frontend.h).
#include "lathe/ir/ModelBuilder.h"

#include "lathe/ir/LatheDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <cmath>
#include <map>

using namespace mlir;

namespace lathe::ir {
namespace {

/// Which entry point is being built: `forward` scores whole sequences;
/// `prefill` runs right-padded prompts and fills the KV cache; `decode` runs one
/// token per sequence at per-sequence positions against the cache.
enum class EntryKind { Forward, Prefill, Decode };

class ModelFunctionBuilder {
public:
  ModelFunctionBuilder(MLIRContext& context, const ModelSpec& spec, int64_t max_batch, int64_t max_seq)
      : spec_(spec), max_batch_(max_batch), max_seq_(max_seq), builder_(&context), f32_(builder_.getF32Type()) {}

  void build(ModuleOp module, EntryKind kind) {
    kind_ = kind;
    params_.clear();
    dropout_sites_ = 0;
    Location loc = builder_.getUnknownLoc();
    builder_.setInsertionPointToEnd(module.getBody());
    const int64_t seq = kind == EntryKind::Decode ? 1 : kDyn;
    auto i32 = builder_.getI32Type();
    SmallVector<Type> inputs{RankedTensorType::get({kDyn, seq}, i32)};
    SmallVector<StringRef> input_names{"tokens"};
    if (kind == EntryKind::Prefill) input_names.push_back("lengths");
    if (kind == EntryKind::Decode) input_names.push_back("positions");
    if (kind != EntryKind::Forward) inputs.push_back(RankedTensorType::get({kDyn}, i32));
    Type logits = kind == EntryKind::Forward ? Type(activation(spec_.vocab_size))
                                             : Type(RankedTensorType::get({kDyn, spec_.vocab_size}, f32_));
    const char* name = kind == EntryKind::Forward ? "forward" : kind == EntryKind::Prefill ? "prefill" : "decode";
    auto fn = func::FuncOp::create(builder_, loc, name, builder_.getFunctionType(inputs, {logits}));
    fn->setAttr(kMaxBatchAttr, builder_.getI64IntegerAttr(max_batch_));
    fn->setAttr(kMaxSeqAttr, builder_.getI64IntegerAttr(max_seq_));
    for (auto [i, input_name] : llvm::enumerate(input_names))
      fn.setArgAttr(i, "lathe.name", builder_.getStringAttr(input_name));
    fn.setResultAttr(0, "lathe.name", builder_.getStringAttr("logits"));
    builder_.setInsertionPointToStart(fn.addEntryBlock());
    lengths_ = kind == EntryKind::Prefill ? fn.getArgument(1) : Value();
    offsets_ = kind == EntryKind::Decode ? fn.getArgument(1) : Value();

    Value x = dropout(embed(fn.getArgument(0)), "embed.dropout");
    for (int64_t layer = 0; layer < spec_.n_layers; ++layer) x = block(x, "layers." + std::to_string(layer) + ".");
    // Norms and the head work row by row, so the last rows can be picked first.
    if (kind != EntryKind::Forward) x = GatherLastOp::create(builder_, at("last"), x, lengths_);
    if (spec_.final_norm) x = norm(x, "final_norm");
    Value head = param(spec_.tied_embeddings ? "embed.tokens" : "lm_head.weight", {spec_.vocab_size, spec_.d_model});
    Value out = LinearOp::create(builder_, at("lm_head"), x, head, Value());
    func::ReturnOp::create(builder_, loc, out);
  }

private:
  static constexpr int64_t kDyn = ShapedType::kDynamic;

  RankedTensorType activation(int64_t channels) { return RankedTensorType::get({kDyn, kDyn, channels}, f32_); }
  Location at(const std::string& name) { return NameLoc::get(builder_.getStringAttr(name)); }

  /// Each weight is emitted once and reused (tied embeddings read one param).
  Value param(const std::string& name, std::vector<int64_t> shape) {
    auto it = params_.find(name);
    if (it != params_.end()) return it->second;
    Value value = ParamOp::create(builder_, at(name), RankedTensorType::get(shape, f32_), name);
    params_[name] = value;
    return value;
  }

  Value embed(Value tokens) {
    Value table = param("embed.tokens", {spec_.vocab_size, spec_.d_model});
    Value x = EmbeddingOp::create(builder_, at("embed"), table, tokens);
    switch (spec_.positions) {
      case lathe::PositionKind::Learned: {
        Value positions = param("embed.positions", {spec_.context_length, spec_.d_model});
        return AddPositionsOp::create(builder_, at("embed.positions"), ir::PositionKind::learned, x, positions,
                                      offsets_);
      }
      case lathe::PositionKind::Sinusoidal:
        return AddPositionsOp::create(builder_, at("embed.positions"), ir::PositionKind::sinusoidal, x, Value(),
                                      offsets_);
      case lathe::PositionKind::Rope:
        return x;  // applied to q and k inside attention
    }
    return x;
  }

  Value block(Value input, const std::string& prefix) {
    std::map<std::string, Value> values{{"x", input}};
    Value last = input;
    for (const BlockNode& node : spec_.block) {
      std::string name = prefix + node.name;
      Value first = values.at(node.inputs.front());
      switch (node.kind) {
        case NodeKind::Norm: last = norm(first, name); break;
        case NodeKind::Attention: last = dropout(attention(first, name), name + ".dropout"); break;
        case NodeKind::MLP: last = dropout(mlp(first, name), name + ".dropout"); break;
        case NodeKind::Add: last = AddOp::create(builder_, at(name), first, values.at(node.inputs[1])); break;
      }
      values[node.name] = last;
    }
    return last;
  }

  /// Where GPT-2 drops out in training; an identity here (no rng) that
  /// lathe-autodiff arms in the gradients function and canonicalization removes elsewhere.
  Value dropout(Value x, const std::string& name) {
    if (spec_.dropout == 0) return x;
    return DropoutOp::create(builder_, at(name), x.getType(), x, Value(),
                             builder_.getF32FloatAttr(static_cast<float>(spec_.dropout)),
                             builder_.getI64IntegerAttr(dropout_sites_++));
  }

  Value norm(Value x, const std::string& name) {
    Value weight = param(name + ".weight", {spec_.d_model});
    auto eps = builder_.getF32FloatAttr(static_cast<float>(spec_.norm_eps));
    if (spec_.norm == NormKind::RMSNorm) return RMSNormOp::create(builder_, at(name), x, weight, eps);
    Value bias = param(name + ".bias", {spec_.d_model});
    return LayerNormOp::create(builder_, at(name), x, weight, bias, eps);
  }

  Value linear(Value x, const std::string& name, int64_t in, int64_t out) {
    Value weight = param(name + ".weight", {out, in});
    Value bias = spec_.bias ? param(name + ".bias", {out}) : Value();
    return LinearOp::create(builder_, at(name), x, weight, bias);
  }

  /// (B,T,C) -> (B,T,heads,D), with rope when the model uses it.
  Value heads(Value x, const std::string& name, int64_t count, bool rotate) {
    auto in = cast<RankedTensorType>(x.getType());
    auto type = RankedTensorType::get({in.getDimSize(0), in.getDimSize(1), count, spec_.head_dim()}, f32_);
    Value split = ReshapeOp::create(builder_, at(name), type, x);
    if (!rotate || spec_.positions != lathe::PositionKind::Rope) return split;
    return RopeOp::create(builder_, at(name + ".rope"), split, offsets_,
                          builder_.getF32FloatAttr(static_cast<float>(spec_.rope_theta)));
  }

  Value attention(Value x, const std::string& name) {
    const int64_t C = spec_.d_model, D = spec_.head_dim(), H = spec_.n_heads, Hkv = spec_.n_kv_heads;
    Value q = heads(linear(x, name + ".q", C, H * D), name + ".q", H, true);
    Value k = heads(linear(x, name + ".k", C, Hkv * D), name + ".k", Hkv, true);
    Value v = heads(linear(x, name + ".v", C, Hkv * D), name + ".v", Hkv, false);
    auto scale = builder_.getF32FloatAttr(static_cast<float>(1.0 / std::sqrt(static_cast<double>(D))));
    Value attended;
    if (kind_ == EntryKind::Forward) {
      attended = AttentionOp::create(builder_, at(name), q, k, v, scale, builder_.getBoolAttr(true));
    } else {
      Value k_cache = cacheWrite(k, name + ".k_cache");
      Value v_cache = cacheWrite(v, name + ".v_cache");
      // A prompt starts at position 0, so it attends to itself as in forward;
      // decode reads everything cached so far.
      attended = kind_ == EntryKind::Prefill
                     ? AttentionOp::create(builder_, at(name), q, k, v, scale, builder_.getBoolAttr(true)).getResult()
                     : CachedAttentionOp::create(builder_, at(name), q, k_cache, v_cache, offsets_, scale).getResult();
    }
    auto heads_type = cast<RankedTensorType>(attended.getType());
    auto merged_type = RankedTensorType::get({heads_type.getDimSize(0), heads_type.getDimSize(1), H * D}, f32_);
    Value merged = ReshapeOp::create(builder_, at(name), merged_type, attended);
    return linear(merged, name + ".o", H * D, C);
  }

  /// Stores (B,T,Hkv,D) keys or values into the layer's persistent cache.
  Value cacheWrite(Value value, const std::string& name) {
    auto type = cast<RankedTensorType>(value.getType());
    auto cache_type = RankedTensorType::get({max_batch_, max_seq_, type.getDimSize(2), type.getDimSize(3)}, f32_);
    Value cache = StateOp::create(builder_, at(name), cache_type, name);
    return CacheWriteOp::create(builder_, at(name), cache_type, value, cache, offsets_);
  }

  Value mlp(Value x, const std::string& name) {
    const int64_t C = spec_.d_model, F = spec_.d_ff;
    Value up = linear(x, name + ".up", C, F);
    Value hidden;
    if (spec_.activation == Activation::SwiGLU) {
      Value gate = ActivationOp::create(builder_, at(name + ".gate"), ActivationKind::silu,
                                                 linear(x, name + ".gate", C, F));
      hidden = MulOp::create(builder_, at(name), gate, up);
    } else {
      hidden = ActivationOp::create(builder_, at(name + ".act"), activationKind(), up);
    }
    return linear(hidden, name + ".down", F, C);
  }

  ActivationKind activationKind() const {
    switch (spec_.activation) {
      case Activation::Gelu: return ActivationKind::gelu;
      case Activation::GeluTanh: return ActivationKind::gelu_tanh;
      case Activation::Relu: return ActivationKind::relu;
      case Activation::Silu:
      case Activation::SwiGLU: return ActivationKind::silu;
    }
    return ActivationKind::gelu;
  }

  const ModelSpec& spec_;
  const int64_t max_batch_, max_seq_;
  OpBuilder builder_;
  Type f32_;
  EntryKind kind_ = EntryKind::Forward;
  Value lengths_;  // prefill: (B) real prompt lengths
  Value offsets_;  // decode: (B) position of each sequence's token
  std::map<std::string, Value> params_;  // per function
  int64_t dropout_sites_ = 0;             // per function: each site's `stream`
};

}  // namespace

OwningOpRef<ModuleOp> buildForward(MLIRContext& context, const ModelSpec& spec, int64_t max_batch, int64_t max_seq) {
  context.loadDialect<LatheDialect, func::FuncDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context));
  ModelFunctionBuilder(context, spec, max_batch, max_seq).build(*module, EntryKind::Forward);
  return module;
}

OwningOpRef<ModuleOp> buildInference(MLIRContext& context, const ModelSpec& spec, int64_t max_batch,
                                     int64_t max_seq) {
  context.loadDialect<LatheDialect, func::FuncDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context));
  ModelFunctionBuilder builder(context, spec, max_batch, max_seq);
  for (EntryKind kind : {EntryKind::Forward, EntryKind::Prefill, EntryKind::Decode}) builder.build(*module, kind);
  return module;
}

}  // namespace lathe::ir
