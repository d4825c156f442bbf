//===- LatheGradOps.td - the loss and the gradient building blocks ------===//
//
// Emitted by lathe-autodiff (see ir/lib/Gradients.cpp); each is the backward
// of one forward op and lowers to one kernel.
//
//===----------------------------------------------------------------------===//
#ifndef LATHE_GRAD_OPS_TD
#define LATHE_GRAD_OPS_TD

def Lathe_CrossEntropyOp : Lathe_Op<"cross_entropy"> {
  let summary = "mean next-token cross-entropy over tokens whose target is not ignore_index";
  let description = [{
    logits (B,T,V), targets (B,T) -> loss, a (1) vector (entry points return it as is).
    ```mlir
    %loss = lathe.cross_entropy %logits, %targets {ignore_index = -100 : i64} : tensor<?x?x11xf32>, tensor<?x?xi32> -> tensor<1xf32>
    ```
  }];
  let arguments = (ins Lathe_FloatTensor:$logits, Lathe_TokenTensor:$targets, I64Attr:$ignore_index);
  let results = (outs 1DTensorOf<[F32]>:$loss);
  let assemblyFormat = "$logits `,` $targets attr-dict `:` type($logits) `,` type($targets) `->` type($loss)";
  let builders = [OpBuilder<(ins "::mlir::Value":$logits, "::mlir::Value":$targets, "int64_t":$ignore_index), [{
    build($_builder, $_state, ::mlir::RankedTensorType::get({1}, $_builder.getF32Type()), logits, targets,
          $_builder.getI64IntegerAttr(ignore_index));
  }]>];
  let hasVerifier = 1;
}

def Lathe_CrossEntropyGradOp : Lathe_Op<"cross_entropy_grad", [AllTypesMatch<["logits", "result"]>]> {
  let summary = "d(mean loss)/d logits = (softmax - onehot) / count, zero on ignored tokens";
  let arguments = (ins Lathe_FloatTensor:$logits, Lathe_TokenTensor:$targets, I64Attr:$ignore_index);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$logits `,` $targets attr-dict `:` type($logits) `,` type($targets)";
}

def Lathe_LinearGradInputOp : Lathe_Op<"linear_grad_input"> {
  let summary = "dx = dy W for y = x W^T: (..., N) x (N, K) -> (..., K)";
  let arguments = (ins Lathe_FloatTensor:$output_grad, Lathe_FloatTensor:$weight);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad `,` $weight attr-dict `:` type($output_grad) `,` type($weight) `->` type($result)";
  let hasVerifier = 1;
}

def Lathe_LinearGradWeightOp : Lathe_Op<"linear_grad_weight"> {
  let summary = "dW = sum over rows of dy^T x: (..., N), (..., K) -> (N, K)";
  let arguments = (ins Lathe_FloatTensor:$output_grad, Lathe_FloatTensor:$input);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad `,` $input attr-dict `:` type($output_grad) `,` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Lathe_BiasGradOp : Lathe_Op<"bias_grad"> {
  let summary = "db = sum over rows of dy: (..., N) -> (N)";
  let arguments = (ins Lathe_FloatTensor:$output_grad);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad attr-dict `:` type($output_grad) `->` type($result)";
}

def Lathe_LayerNormGradOp : Lathe_Op<"layer_norm_grad",
    [AllTypesMatch<["input", "output_grad", "input_grad"]>, AllTypesMatch<["weight", "weight_grad", "bias_grad"]>]> {
  let summary = "(dx, dw, db) of layer_norm";
  let arguments = (ins Lathe_FloatTensor:$output_grad, Lathe_FloatTensor:$input, Lathe_FloatTensor:$weight, F32Attr:$eps);
  let results = (outs Lathe_FloatTensor:$input_grad, Lathe_FloatTensor:$weight_grad, Lathe_FloatTensor:$bias_grad);
  let assemblyFormat = "$output_grad `,` $input `,` $weight attr-dict `:` type($input) `,` type($weight)";
}

def Lathe_RMSNormGradOp : Lathe_Op<"rms_norm_grad",
    [AllTypesMatch<["input", "output_grad", "input_grad"]>, AllTypesMatch<["weight", "weight_grad"]>]> {
  let summary = "(dx, dw) of rms_norm";
  let arguments = (ins Lathe_FloatTensor:$output_grad, Lathe_FloatTensor:$input, Lathe_FloatTensor:$weight, F32Attr:$eps);
  let results = (outs Lathe_FloatTensor:$input_grad, Lathe_FloatTensor:$weight_grad);
  let assemblyFormat = "$output_grad `,` $input `,` $weight attr-dict `:` type($input) `,` type($weight)";
}

def Lathe_AttentionGradOp : Lathe_Op<"attention_grad",
    [AllTypesMatch<["query", "output_grad", "query_grad"]>, AllTypesMatch<["key", "value", "key_grad", "value_grad"]>]> {
  let summary = "(dq, dk, dv) of attention; dk and dv of a kv head sum over its query heads";
  let arguments = (ins Lathe_FloatTensor:$output_grad, Lathe_FloatTensor:$query, Lathe_FloatTensor:$key,
                       Lathe_FloatTensor:$value, F32Attr:$scale, BoolAttr:$causal);
  let results = (outs Lathe_FloatTensor:$query_grad, Lathe_FloatTensor:$key_grad, Lathe_FloatTensor:$value_grad);
  let assemblyFormat = "$output_grad `,` $query `,` $key `,` $value attr-dict `:` type($query) `,` type($key)";
}

def Lathe_RopeGradOp : Lathe_Op<"rope_grad", [AllTypesMatch<["output_grad", "result"]>]> {
  let summary = "rope's adjoint: rotation by the negated angles";
  let arguments = (ins Lathe_FloatTensor:$output_grad, F32Attr:$theta);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad attr-dict `:` type($output_grad)";
}

def Lathe_ActivationGradOp : Lathe_Op<"activation_grad", [AllTypesMatch<["input", "output_grad", "result"]>]> {
  let summary = "dx = dy * f'(x)";
  let arguments = (ins Lathe_ActivationAttr:$kind, Lathe_FloatTensor:$input, Lathe_FloatTensor:$output_grad);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$kind $input `,` $output_grad attr-dict `:` type($input)";
}

def Lathe_SwiGLUGradOp : Lathe_Op<"swiglu_grad",
    [AllTypesMatch<["gate", "up", "output_grad", "gate_grad", "up_grad"]>]> {
  let summary = "(dgate, dup) of swiglu";
  let arguments = (ins Lathe_FloatTensor:$gate, Lathe_FloatTensor:$up, Lathe_FloatTensor:$output_grad);
  let results = (outs Lathe_FloatTensor:$gate_grad, Lathe_FloatTensor:$up_grad);
  let assemblyFormat = "$gate `,` $up `,` $output_grad attr-dict `:` type($gate)";
}

def Lathe_EmbeddingGradOp : Lathe_Op<"embedding_grad"> {
  let summary = "dtable: rows of dy scattered (summed) by token id: (B,T,C), (B,T) -> (V,C)";
  let arguments = (ins Lathe_FloatTensor:$output_grad, Lathe_TokenTensor:$ids);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad `,` $ids attr-dict `:` type($output_grad) `,` type($ids) `->` type($result)";
  let hasVerifier = 1;
}

def Lathe_PositionsGradOp : Lathe_Op<"positions_grad"> {
  let summary = "dtable of learned positions: dy summed over the batch, (B,T,C) -> (P,C), rows >= T zero";
  let arguments = (ins Lathe_FloatTensor:$output_grad);
  let results = (outs Lathe_FloatTensor:$result);
  let assemblyFormat = "$output_grad attr-dict `:` type($output_grad) `->` type($result)";
}

#endif // LATHE_GRAD_OPS_TD
