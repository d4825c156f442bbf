// The gradient rule of every differentiable lathe op (reverse mode). Each rule
// gets the gradients of the op's results (null when a result does not reach
// the loss) and returns one gradient per operand (null for token ids).
// To make a new op differentiable: add a rule here, register it in
// registerGradientModels, and add a case to tests/lit/passes/autodiff.mlir.
#include "lathe/ir/LatheDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

namespace lathe::ir {

#include "lathe/ir/Differentiable.cpp.inc"

namespace {

using Grads = SmallVector<Value>;

template <typename OpT, Grads (*Rule)(OpT, OpBuilder&, Value)>
struct SingleResultGradient
    : DifferentiableOpInterface::ExternalModel<SingleResultGradient<OpT, Rule>, OpT> {
  Grads buildGradients(Operation* op, OpBuilder& builder, ValueRange result_grads) const {
    if (!result_grads[0]) return Grads(op->getNumOperands(), Value());
    return Rule(cast<OpT>(op), builder, result_grads[0]);
  }
};

Grads embeddingGrad(EmbeddingOp op, OpBuilder& b, Value dy) {
  Value table = EmbeddingGradOp::create(b, op.getLoc(), op.getTable().getType(), dy, op.getIds());
  return {table, Value()};
}

Grads addPositionsGrad(AddPositionsOp op, OpBuilder& b, Value dy) {
  if (!op.getTable()) return {dy};
  return {dy, PositionsGradOp::create(b, op.getLoc(), op.getTable().getType(), dy)};
}

Grads layerNormGrad(LayerNormOp op, OpBuilder& b, Value dy) {
  auto grad = LayerNormGradOp::create(b, op.getLoc(), op.getInput().getType(), op.getWeight().getType(),
                                      op.getWeight().getType(), dy, op.getInput(), op.getWeight(), op.getEpsAttr());
  return {grad.getInputGrad(), grad.getWeightGrad(), grad.getBiasGrad()};
}

Grads rmsNormGrad(RMSNormOp op, OpBuilder& b, Value dy) {
  auto grad = RMSNormGradOp::create(b, op.getLoc(), op.getInput().getType(), op.getWeight().getType(), dy,
                                    op.getInput(), op.getWeight(), op.getEpsAttr());
  return {grad.getInputGrad(), grad.getWeightGrad()};
}

// y = x W^T + b:  dx = dy W,  dW = dy^T x,  db = sum dy
Grads linearGrad(LinearOp op, OpBuilder& b, Value dy) {
  Grads grads{LinearGradInputOp::create(b, op.getLoc(), op.getInput().getType(), dy, op.getWeight()),
              LinearGradWeightOp::create(b, op.getLoc(), op.getWeight().getType(), dy, op.getInput())};
  if (op.getBias()) grads.push_back(BiasGradOp::create(b, op.getLoc(), op.getBias().getType(), dy));
  return grads;
}

Grads activationGrad(ActivationOp op, OpBuilder& b, Value dy) {
  return {ActivationGradOp::create(b, op.getLoc(), op.getType(), op.getKindAttr(), op.getInput(), dy)};
}

Grads addGrad(AddOp, OpBuilder&, Value dy) { return {dy, dy}; }

Grads mulGrad(MulOp op, OpBuilder& b, Value dy) {
  return {MulOp::create(b, op.getLoc(), dy, op.getRhs()), MulOp::create(b, op.getLoc(), dy, op.getLhs())};
}

Grads swigluGrad(SwiGLUOp op, OpBuilder& b, Value dy) {
  auto grad = SwiGLUGradOp::create(b, op.getLoc(), op.getType(), op.getType(), op.getGate(), op.getUp(), dy);
  return {grad.getGateGrad(), grad.getUpGrad()};
}

Grads reshapeGrad(ReshapeOp op, OpBuilder& b, Value dy) {
  return {ReshapeOp::create(b, op.getLoc(), op.getInput().getType(), dy)};
}

Grads ropeGrad(RopeOp op, OpBuilder& b, Value dy) {
  return {RopeGradOp::create(b, op.getLoc(), op.getType(), dy, op.getThetaAttr())};
}

Grads attentionGrad(AttentionOp op, OpBuilder& b, Value dy) {
  auto grad = AttentionGradOp::create(b, op.getLoc(), op.getQuery().getType(), op.getKey().getType(),
                                      op.getValue().getType(), dy, op.getQuery(), op.getKey(), op.getValue(),
                                      op.getScaleAttr(), op.getCausalAttr());
  return {grad.getQueryGrad(), grad.getKeyGrad(), grad.getValueGrad()};
}

// The mask is a function of (rng, stream, index): applying the same dropout to dy recomputes it.
Grads dropoutGrad(DropoutOp op, OpBuilder& b, Value dy) {
  return {DropoutOp::create(b, op.getLoc(), op.getType(), dy, op.getRng(), op.getPAttr(), op.getStreamAttr()),
          Value()};
}

Grads paramGrad(ParamOp, OpBuilder&, Value) { return {}; }

}  // namespace

void registerGradientModels(DialectRegistry& registry) {
  registry.addExtension(+[](MLIRContext* context, LatheDialect*) {
    EmbeddingOp::attachInterface<SingleResultGradient<EmbeddingOp, embeddingGrad>>(*context);
    AddPositionsOp::attachInterface<SingleResultGradient<AddPositionsOp, addPositionsGrad>>(*context);
    LayerNormOp::attachInterface<SingleResultGradient<LayerNormOp, layerNormGrad>>(*context);
    RMSNormOp::attachInterface<SingleResultGradient<RMSNormOp, rmsNormGrad>>(*context);
    LinearOp::attachInterface<SingleResultGradient<LinearOp, linearGrad>>(*context);
    ActivationOp::attachInterface<SingleResultGradient<ActivationOp, activationGrad>>(*context);
    AddOp::attachInterface<SingleResultGradient<AddOp, addGrad>>(*context);
    MulOp::attachInterface<SingleResultGradient<MulOp, mulGrad>>(*context);
    SwiGLUOp::attachInterface<SingleResultGradient<SwiGLUOp, swigluGrad>>(*context);
    ReshapeOp::attachInterface<SingleResultGradient<ReshapeOp, reshapeGrad>>(*context);
    RopeOp::attachInterface<SingleResultGradient<RopeOp, ropeGrad>>(*context);
    AttentionOp::attachInterface<SingleResultGradient<AttentionOp, attentionGrad>>(*context);
    DropoutOp::attachInterface<SingleResultGradient<DropoutOp, dropoutGrad>>(*context);
    ParamOp::attachInterface<SingleResultGradient<ParamOp, paramGrad>>(*context);
  });
}

}  // namespace lathe::ir
