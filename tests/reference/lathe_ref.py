"""An independent PyTorch reference for Lathe models (float64).

Reads the Lathe directory format (model.json + model.safetensors, as
`lathe export --format lathe` writes it) and runs the forward pass with plain
torch ops, written from the model semantics rather than from Lathe's code.
Also writes Hugging Face GPT-2 / Llama directories from a loaded model, so the
tests can check Lathe's Hugging Face import against the same reference.

Canonical weight names (layer i, block node NAME):
  embed.tokens (V, C), embed.positions (context, C) for learned positions,
  layers.{i}.{NAME}.weight / .bias                       norm nodes,
  layers.{i}.{NAME}.{q,k,v,o}.weight / .bias             attention nodes,
  layers.{i}.{NAME}.{up,down[,gate]}.weight / .bias      mlp nodes,
  final_norm.weight / .bias, lm_head.weight (untied only).
"""

import json
import math
import os
import re
import struct
from dataclasses import dataclass
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F

ATTENTION_PROJECTIONS = ("q", "k", "v", "o")
NODE_OPS = {"norm": 1, "attention": 1, "mlp": 1, "add": 2}

# ---------------------------------------------------------------------------
# safetensors: u64 little-endian header length, JSON header, raw tensor data.

_DTYPES = {"F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (np.uint16, 2)}


def read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    """Returns every tensor as float64, whatever its stored float dtype."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short for a safetensors header")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if 8 + header_len > len(blob):
        raise ValueError(f"{path}: header length {header_len} exceeds the file size")
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        if dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dtype}")
        np_type, itemsize = _DTYPES[dtype]
        begin, end = info["data_offsets"]
        shape = info["shape"]
        if end - begin != itemsize * math.prod(shape) or end > len(data):
            raise ValueError(f"{path}: tensor {name} has inconsistent offsets {begin}..{end}")
        raw = np.frombuffer(data[begin:end], dtype=np_type)
        if dtype == "BF16":  # bfloat16 is the top half of a float32
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = torch.from_numpy(raw.astype(np.float64).reshape(shape))
    return tensors


def write_safetensors(path: str, tensors: Dict[str, torch.Tensor]) -> None:
    """Writes every tensor as little-endian float32, in name order."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name].detach().cpu().numpy(), dtype="<f4")
        raw = array.tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for raw in chunks:
            f.write(raw)


# ---------------------------------------------------------------------------
# The model description.

@dataclass
class Node:
    name: str
    op: str
    inputs: List[str]


@dataclass
class Model:
    spec: dict
    block: List[Node]
    weights: Dict[str, torch.Tensor]

    def weight(self, name: str) -> torch.Tensor:
        if name not in self.weights:
            raise KeyError(f"missing weight '{name}' (have: {', '.join(sorted(self.weights))})")
        return self.weights[name]

    def optional(self, name: str):
        return self.weights.get(name) if self.spec["bias"] else None


_STATEMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*([A-Za-z_]\w*)\s*\(([^)]*)\)\s*$")


def parse_block(statements: List[str]) -> List[Node]:
    """Parses "NAME = OP(ARG, ...)" statements; `x` is the block input."""
    nodes, defined = [], {"x"}
    for statement in statements:
        match = _STATEMENT.match(statement)
        if not match:
            raise ValueError(f"block statement '{statement}' is not NAME = OP(ARGS)")
        name, op, args = match.group(1), match.group(2), match.group(3)
        inputs = [a.strip() for a in args.split(",") if a.strip()]
        if op not in NODE_OPS or len(inputs) != NODE_OPS[op]:
            raise ValueError(f"block statement '{statement}': bad op or argument count")
        for value in inputs:
            if value not in defined:
                raise ValueError(f"block statement '{statement}': '{value}' is not defined yet")
        defined.add(name)
        nodes.append(Node(name, op, inputs))
    if not nodes:
        raise ValueError("the block is empty")
    return nodes


def load_model(directory: str) -> Model:
    with open(os.path.join(directory, "model.json")) as f:
        spec = json.load(f)
    weights = read_safetensors(os.path.join(directory, "model.safetensors"))
    return Model(spec, parse_block(spec["block"]), weights)


def canonical_shapes(spec: dict) -> Dict[str, tuple]:
    """The weight names and shapes a spec needs, under the canonical names."""
    C, D, V = spec["d_model"], spec["d_model"] // spec["heads"], spec["vocab_size"]
    shapes = {"embed.tokens": (V, C)}
    if spec["positions"] == "learned":
        shapes["embed.positions"] = (spec["context_length"], C)
    if not spec["tied_embeddings"]:
        shapes["lm_head.weight"] = (V, C)

    def add_norm(prefix):
        shapes[prefix + ".weight"] = (C,)
        if spec["norm"] == "layernorm":
            shapes[prefix + ".bias"] = (C,)

    def add_linear(prefix, out_features, in_features):
        shapes[prefix + ".weight"] = (out_features, in_features)
        if spec["bias"]:
            shapes[prefix + ".bias"] = (out_features,)

    for i in range(spec["layers"]):
        for node in parse_block(spec["block"]):
            prefix = f"layers.{i}.{node.name}"
            if node.op == "norm":
                add_norm(prefix)
            elif node.op == "attention":
                for p, rows in (("q", spec["heads"]), ("k", spec["kv_heads"]), ("v", spec["kv_heads"])):
                    add_linear(f"{prefix}.{p}", rows * D, C)
                add_linear(prefix + ".o", C, spec["heads"] * D)
            elif node.op == "mlp":
                add_linear(prefix + ".up", spec["d_ff"], C)
                add_linear(prefix + ".down", C, spec["d_ff"])
                if spec["activation"] == "swiglu":
                    add_linear(prefix + ".gate", spec["d_ff"], C)
    if spec["final_norm"]:
        add_norm("final_norm")
    return shapes


def random_weights(shapes: Dict[str, tuple], seed: int) -> Dict[str, torch.Tensor]:
    """Seeded weights that exercise every parameter: unlike a GPT-2 init, norm
    weights are not one and biases not zero, so a misplaced one shows."""
    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for name in sorted(shapes):
        shape = tuple(shapes[name])
        noise = torch.randn(*shape, generator=gen, dtype=torch.float64)
        if name.endswith(".bias"):
            weights[name] = 0.1 * noise
        elif len(shape) == 1:  # a norm weight
            weights[name] = 1.0 + 0.1 * noise
        elif name.startswith("embed.") or name == "lm_head.weight":
            weights[name] = 0.3 * noise
        else:  # a linear (out, in)
            weights[name] = noise / math.sqrt(shape[1])
    # Representable in float32, so a safetensors file holds them exactly.
    return {name: w.float().double() for name, w in weights.items()}


def random_model(spec: dict, seed: int = 0) -> Model:
    return Model(spec, parse_block(spec["block"]), random_weights(canonical_shapes(spec), seed))


# ---------------------------------------------------------------------------
# The forward pass.

def sinusoidal_table(length: int, channels: int) -> torch.Tensor:
    t = torch.arange(length, dtype=torch.float64)[:, None]
    j = torch.arange(channels)
    angle = t / torch.pow(10000.0, (2 * (j // 2)).to(torch.float64) / channels)
    return torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle))


def apply_rope(x: torch.Tensor, theta: float) -> torch.Tensor:
    """Rotate-half RoPE on (B, T, H, D): pairs channel i with i + D/2."""
    T, D = x.shape[1], x.shape[3]
    half = D // 2
    freqs = torch.pow(float(theta), -2.0 * torch.arange(half, dtype=torch.float64) / D)
    angle = torch.arange(T, dtype=torch.float64)[:, None] * freqs[None, :]
    cos, sin = torch.cos(angle)[None, :, None, :], torch.sin(angle)[None, :, None, :]
    lo, hi = x[..., :half], x[..., half:]
    return torch.cat([lo * cos - hi * sin, hi * cos + lo * sin], dim=-1)


def norm(model: Model, prefix: str, x: torch.Tensor) -> torch.Tensor:
    spec = model.spec
    weight = model.weight(prefix + ".weight")
    if spec["norm"] == "layernorm":
        return F.layer_norm(x, (x.shape[-1],), weight, model.weight(prefix + ".bias"), spec["norm_eps"])
    if spec["norm"] == "rmsnorm":
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + spec["norm_eps"]) * weight
    raise ValueError(f"unknown norm '{spec['norm']}'")


def linear(model: Model, prefix: str, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, model.weight(prefix + ".weight"), model.optional(prefix + ".bias"))


def attention(model: Model, prefix: str, x: torch.Tensor) -> torch.Tensor:
    spec = model.spec
    B, T, C = x.shape
    H, Hkv = spec["heads"], spec["kv_heads"]
    D = C // H
    q = linear(model, prefix + ".q", x).view(B, T, H, D)
    k = linear(model, prefix + ".k", x).view(B, T, Hkv, D)
    v = linear(model, prefix + ".v", x).view(B, T, Hkv, D)
    if spec["positions"] == "rope":
        q, k = apply_rope(q, spec["rope_theta"]), apply_rope(k, spec["rope_theta"])
    group = H // Hkv  # query head h reads kv head h // group
    k = k.repeat_interleave(group, dim=2)
    v = v.repeat_interleave(group, dim=2)
    scores = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(D)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    probs = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
    out = torch.einsum("bhts,bshd->bthd", probs, v).reshape(B, T, H * D)
    return linear(model, prefix + ".o", out)


ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3))),
    "relu": F.relu,
    "silu": F.silu,
}


def mlp(model: Model, prefix: str, x: torch.Tensor) -> torch.Tensor:
    activation = model.spec["activation"]
    up = linear(model, prefix + ".up", x)
    if activation == "swiglu":
        hidden = F.silu(linear(model, prefix + ".gate", x)) * up
    elif activation in ACTIVATIONS:
        hidden = ACTIVATIONS[activation](up)
    else:
        raise ValueError(f"unknown activation '{activation}'")
    return linear(model, prefix + ".down", hidden)


def run_block(model: Model, layer: int, x: torch.Tensor, drop=None) -> torch.Tensor:
    """drop(h): training dropout on each attention and mlp output (None: none)."""
    values = {"x": x}
    keep = drop or (lambda h: h)
    for node in model.block:
        prefix = f"layers.{layer}.{node.name}"
        args = [values[name] for name in node.inputs]
        if node.op == "norm":
            values[node.name] = norm(model, prefix, args[0])
        elif node.op == "attention":
            values[node.name] = keep(attention(model, prefix, args[0]))
        elif node.op == "mlp":
            values[node.name] = keep(mlp(model, prefix, args[0]))
        else:
            values[node.name] = args[0] + args[1]
    return values[model.block[-1].name]


def forward(model: Model, ids: torch.Tensor, drop=None) -> torch.Tensor:
    """ids: (B, T) integer tensor -> logits (B, T, V) in float64. drop(h), if
    given, is training dropout: called on the embeddings (after the positions)
    and on every attention and mlp output, in that order, as GPT-2 applies it."""
    keep = drop or (lambda h: h)
    spec = model.spec
    B, T = ids.shape
    if spec["d_model"] % spec["heads"] or spec["heads"] % spec["kv_heads"]:
        raise ValueError("heads must divide d_model and kv_heads must divide heads")
    if T > spec["context_length"]:
        raise ValueError(f"sequence length {T} exceeds context_length {spec['context_length']}")
    if ids.min() < 0 or ids.max() >= spec["vocab_size"]:
        raise ValueError(f"token ids must lie in [0, {spec['vocab_size']})")
    tokens = model.weight("embed.tokens")
    h = tokens[ids.long()]
    if spec["positions"] == "learned":
        h = h + model.weight("embed.positions")[:T]
    elif spec["positions"] == "sinusoidal":
        h = h + sinusoidal_table(T, spec["d_model"])
    elif spec["positions"] != "rope":
        raise ValueError(f"unknown positions '{spec['positions']}'")
    h = keep(h)
    for layer in range(spec["layers"]):
        h = run_block(model, layer, h, drop)
    if spec["final_norm"]:
        h = norm(model, "final_norm", h)
    head = tokens if spec["tied_embeddings"] else model.weight("lm_head.weight")
    return h @ head.T


# ---------------------------------------------------------------------------
# Hugging Face writers (for testing Lathe's import independently).

def _standard_pre_norm_block(model: Model):
    """Names of (norm1, attention, norm2, mlp) if the block is the standard
    pre-norm residual block, else raises ValueError."""
    b = model.block
    ops = [n.op for n in b]
    if ops != ["norm", "attention", "add", "norm", "mlp", "add"]:
        raise ValueError(f"block {ops} is not the standard pre-norm block")
    n1, att, r1, n2, ff, r2 = b
    wired = (n1.inputs == ["x"] and att.inputs == [n1.name] and sorted(r1.inputs) == sorted(["x", att.name])
             and n2.inputs == [r1.name] and ff.inputs == [n2.name] and sorted(r2.inputs) == sorted([r1.name, ff.name]))
    if not wired:
        raise ValueError("block is not wired as the standard pre-norm residual block")
    return n1.name, att.name, n2.name, ff.name


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ValueError(f"model is not expressible in this Hugging Face layout: {what}")


def _write_config(directory: str, config: dict) -> None:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def write_hf_gpt2(directory: str, model: Model, with_prefix: bool = True) -> None:
    """GPT-2 layout: Conv1D weights stored (in, out), q/k/v fused into c_attn."""
    s = model.spec
    _require(s["norm"] == "layernorm" and s["positions"] == "learned", "needs layernorm and learned positions")
    _require(s["kv_heads"] == s["heads"] and s["bias"] and s["final_norm"], "needs MHA, biases and a final norm")
    _require(s["activation"] in ("gelu", "gelu_tanh", "relu", "silu"), "needs a plain activation")
    ln1, att, ln2, ff = _standard_pre_norm_block(model)
    w, prefix = model.weights, ("transformer." if with_prefix else "")
    out = {prefix + "wte.weight": w["embed.tokens"], prefix + "wpe.weight": w["embed.positions"],
           prefix + "ln_f.weight": w["final_norm.weight"], prefix + "ln_f.bias": w["final_norm.bias"]}
    for i in range(s["layers"]):
        src, dst = f"layers.{i}.", f"{prefix}h.{i}."
        for lathe_name, hf_name in ((ln1, "ln_1"), (ln2, "ln_2")):
            out[dst + hf_name + ".weight"] = w[src + lathe_name + ".weight"]
            out[dst + hf_name + ".bias"] = w[src + lathe_name + ".bias"]
        a = src + att
        out[dst + "attn.c_attn.weight"] = torch.cat([w[f"{a}.{p}.weight"] for p in "qkv"], dim=0).T
        out[dst + "attn.c_attn.bias"] = torch.cat([w[f"{a}.{p}.bias"] for p in "qkv"])
        out[dst + "attn.c_proj.weight"] = w[a + ".o.weight"].T
        out[dst + "attn.c_proj.bias"] = w[a + ".o.bias"]
        m = src + ff
        out[dst + "mlp.c_fc.weight"] = w[m + ".up.weight"].T
        out[dst + "mlp.c_fc.bias"] = w[m + ".up.bias"]
        out[dst + "mlp.c_proj.weight"] = w[m + ".down.weight"].T
        out[dst + "mlp.c_proj.bias"] = w[m + ".down.bias"]
    if not s["tied_embeddings"]:
        out["lm_head.weight"] = w["lm_head.weight"]
    hf_activation = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu", "silu": "silu"}[s["activation"]]
    _write_config(directory, {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "vocab_size": s["vocab_size"], "n_positions": s["context_length"], "n_ctx": s["context_length"],
        "n_embd": s["d_model"], "n_layer": s["layers"], "n_head": s["heads"], "n_inner": s["d_ff"],
        "activation_function": hf_activation, "layer_norm_epsilon": s["norm_eps"],
        "tie_word_embeddings": s["tied_embeddings"], "torch_dtype": "float32"})
    write_safetensors(os.path.join(directory, "model.safetensors"), out)


def write_hf_llama(directory: str, model: Model) -> None:
    """Llama layout: q/k in rotate-half order already (as HF stores them)."""
    s = model.spec
    _require(s["norm"] == "rmsnorm" and s["positions"] == "rope", "needs rmsnorm and rope")
    _require(s["activation"] == "swiglu" and not s["bias"] and s["final_norm"], "needs swiglu, no biases, a final norm")
    ln1, att, ln2, ff = _standard_pre_norm_block(model)
    w = model.weights
    out = {"model.embed_tokens.weight": w["embed.tokens"], "model.norm.weight": w["final_norm.weight"]}
    for i in range(s["layers"]):
        src, dst = f"layers.{i}.", f"model.layers.{i}."
        out[dst + "input_layernorm.weight"] = w[src + ln1 + ".weight"]
        out[dst + "post_attention_layernorm.weight"] = w[src + ln2 + ".weight"]
        for p in ATTENTION_PROJECTIONS:
            out[f"{dst}self_attn.{p}_proj.weight"] = w[f"{src}{att}.{p}.weight"]
        for p in ("gate", "up", "down"):
            out[f"{dst}mlp.{p}_proj.weight"] = w[f"{src}{ff}.{p}.weight"]
    if not s["tied_embeddings"]:
        out["lm_head.weight"] = w["lm_head.weight"]
    _write_config(directory, {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": s["vocab_size"], "max_position_embeddings": s["context_length"],
        "hidden_size": s["d_model"], "intermediate_size": s["d_ff"], "num_hidden_layers": s["layers"],
        "num_attention_heads": s["heads"], "num_key_value_heads": s["kv_heads"], "hidden_act": "silu",
        "rms_norm_eps": s["norm_eps"], "rope_theta": s["rope_theta"], "attention_bias": False,
        "tie_word_embeddings": s["tied_embeddings"], "torch_dtype": "float32"})
    write_safetensors(os.path.join(directory, "model.safetensors"), out)
