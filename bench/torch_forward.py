#!/usr/bin/python3
"""The PyTorch peer of lathe-bench-forward: the same model, written for speed.

Loads a Lathe model directory (`lathe export --format lathe`: model.json +
model.safetensors) and times its forward pass in float32 with plain, batched
PyTorch ops (fused QKV projection, one batched matmul per attention product,
F.layer_norm, F.gelu). Prints one JSON object per shape, like
lathe-bench-forward. bench.py runs it in a subprocess with the peer's
OpenBLAS environment.

--device cuda[:N] runs it on that GPU (fp32, TF32 matmuls off, attention through
F.scaled_dot_product_attention when this torch has it), synchronizing around
every timed forward; without CUDA in this torch it says so and uses the CPU.

  torch_forward.py MODEL_DIR --threads 2 --shapes 4x64,4x256 [--runs 10] [--device cuda]
  torch_forward.py MODEL_DIR --tokens-file ids.npy --dump-logits out.npy
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from lathe_ref import parse_block, read_safetensors, sinusoidal_table  # noqa: E402
from peer_env import synchronize, torch_device  # noqa: E402


def read_float32_weights(path):
    """float32 tensors straight from the file: no float64 copy, so the peers' peak memory is their own.
    Other dtypes go through the reference reader (float64) and are converted."""
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len).decode("utf-8"))
    if any(info["dtype"] != "F32" for name, info in header.items() if name != "__metadata__"):
        return {name: t.float() for name, t in read_safetensors(path).items()}
    weights = {}
    for name, info in header.items():
        if name != "__metadata__":
            begin, end = info["data_offsets"]
            values = np.fromfile(path, dtype="<f4", count=(end - begin) // 4, offset=8 + header_len + begin)
            weights[name] = torch.from_numpy(values).reshape(info["shape"])
    return weights

ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
}


class FastModel:
    """Float32 weights rearranged once for speed, on `device`; forward() takes (B, T) ids there."""

    def __init__(self, directory, device):
        self.device = device
        # Fused causal attention where it exists (torch >= 2.0); on the CPU the explicit product stays, as before.
        self.fused_attention = device.type == "cuda" and hasattr(F, "scaled_dot_product_attention")
        with open(os.path.join(directory, "model.json")) as f:
            self.spec = json.load(f)
        self.block = parse_block(self.spec["block"])
        self.w = read_float32_weights(os.path.join(directory, "model.safetensors"))
        spec = self.spec
        self.H, self.Hkv = spec["heads"], spec["kv_heads"]
        self.D = spec["d_model"] // self.H
        if spec["activation"] != "swiglu" and spec["activation"] not in ACTIVATIONS:
            raise ValueError(f"{directory}: unknown activation '{spec['activation']}'")
        if spec["norm"] not in ("layernorm", "rmsnorm"):
            raise ValueError(f"{directory}: unknown norm '{spec['norm']}'")
        # One (q|k|v) projection per attention node: a single GEMM instead of three.
        for layer in range(spec["layers"]):
            for node in self.block:
                if node.op == "attention":
                    p = f"layers.{layer}.{node.name}"
                    self.w[p + ".qkv.weight"] = torch.cat([self.w.pop(f"{p}.{x}.weight") for x in "qkv"]).contiguous()
                    if spec["bias"]:
                        self.w[p + ".qkv.bias"] = torch.cat([self.w.pop(f"{p}.{x}.bias") for x in "qkv"])
        self.w = {name: tensor.to(device) for name, tensor in self.w.items()}
        self.head = self.w["embed.tokens"] if spec["tied_embeddings"] else self.w["lm_head.weight"]

    def bias(self, prefix):
        return self.w[prefix + ".bias"] if self.spec["bias"] else None

    def norm(self, prefix, x):
        weight = self.w[prefix + ".weight"]
        if self.spec["norm"] == "layernorm":
            return F.layer_norm(x, (x.shape[-1],), weight, self.w[prefix + ".bias"], self.spec["norm_eps"])
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.spec["norm_eps"]) * weight

    def rope(self, x, T):
        """Rotate-half RoPE on (B, heads, T, D)."""
        half = self.D // 2
        arange = lambda n: torch.arange(n, dtype=torch.float32, device=self.device)  # noqa: E731
        freqs = torch.pow(float(self.spec["rope_theta"]), -2.0 * arange(half) / self.D)
        angle = arange(T)[:, None] * freqs[None, :]
        cos, sin = torch.cos(angle), torch.sin(angle)
        lo, hi = x[..., :half], x[..., half:]
        return torch.cat([lo * cos - hi * sin, hi * cos + lo * sin], dim=-1)

    def attention(self, prefix, x, mask):
        B, T, _ = x.shape
        H, Hkv, D = self.H, self.Hkv, self.D
        qkv = F.linear(x, self.w[prefix + ".qkv.weight"], self.bias(prefix + ".qkv"))
        q, k, v = qkv.split([H * D, Hkv * D, Hkv * D], dim=-1)
        q = q.view(B, T, H, D).transpose(1, 2)
        k = k.view(B, T, Hkv, D).transpose(1, 2)
        v = v.view(B, T, Hkv, D).transpose(1, 2)
        if self.spec["positions"] == "rope":
            q, k = self.rope(q, T), self.rope(k, T)
        if Hkv != H:  # query head h reads kv head h // (H / Hkv)
            k = k.repeat_interleave(H // Hkv, dim=1)
            v = v.repeat_interleave(H // Hkv, dim=1)
        if self.fused_attention:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = torch.matmul(q, k.transpose(-1, -2)).mul_(1.0 / math.sqrt(D)).add_(mask)
            out = torch.matmul(torch.softmax(scores, dim=-1), v)
        out = out.transpose(1, 2).reshape(B, T, H * D)
        return F.linear(out, self.w[prefix + ".o.weight"], self.bias(prefix + ".o"))

    def mlp(self, prefix, x):
        up = F.linear(x, self.w[prefix + ".up.weight"], self.bias(prefix + ".up"))
        if self.spec["activation"] == "swiglu":
            hidden = F.silu(F.linear(x, self.w[prefix + ".gate.weight"], self.bias(prefix + ".gate"))).mul_(up)
        else:
            hidden = ACTIVATIONS[self.spec["activation"]](up)
        return F.linear(hidden, self.w[prefix + ".down.weight"], self.bias(prefix + ".down"))

    def forward(self, ids):
        spec = self.spec
        B, T = ids.shape
        h = F.embedding(ids, self.w["embed.tokens"])
        if spec["positions"] == "learned":
            h = h + self.w["embed.positions"][:T]
        elif spec["positions"] == "sinusoidal":
            h = h + sinusoidal_table(T, spec["d_model"]).float().to(self.device)
        mask = torch.full((T, T), float("-inf"), device=self.device).triu_(1)
        for layer in range(spec["layers"]):
            values = {"x": h}
            for node in self.block:
                prefix = f"layers.{layer}.{node.name}"
                args = [values[name] for name in node.inputs]
                if node.op == "norm":
                    values[node.name] = self.norm(prefix, args[0])
                elif node.op == "attention":
                    values[node.name] = self.attention(prefix, args[0], mask)
                elif node.op == "mlp":
                    values[node.name] = self.mlp(prefix, args[0])
                else:
                    values[node.name] = args[0] + args[1]
            h = values[self.block[-1].name]
        if spec["final_norm"]:
            h = self.norm("final_norm", h)
        return F.linear(h, self.head)


def parse_shapes(text):
    shapes = []
    for item in text.split(","):
        parts = item.lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise argparse.ArgumentTypeError(f"shape '{item}' is not BxT (e.g. 4x64)")
        shapes.append((int(parts[0]), int(parts[1])))
    return shapes


def time_forward(model, ids, warmup, runs):
    for _ in range(warmup):
        model.forward(ids)
    times = []
    for _ in range(runs):
        synchronize(model.device)
        start = time.perf_counter()
        model.forward(ids)
        synchronize(model.device)
        times.append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="Lathe model directory (model.json + model.safetensors)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shapes", type=parse_shapes, default=[(4, 64), (4, 256)])
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tokens-file", help="(B, T) int .npy: run once on these ids instead of timing")
    parser.add_argument("--dump-logits", help="with --tokens-file: write the float32 logits here")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    args = parser.parse_args()
    if args.threads < 1 or args.runs < 1 or args.warmup < 0:
        parser.error("--threads and --runs must be >= 1, --warmup >= 0")
    device, setup = torch_device(args.device, args.threads, "torch_forward.py")
    model = FastModel(args.model, device)
    if model.fused_attention:
        setup += ", scaled_dot_product_attention"
    with torch.inference_mode():
        if args.tokens_file:
            ids = torch.from_numpy(np.load(args.tokens_file).astype(np.int64)).to(device)
            logits = model.forward(ids)
            if args.dump_logits:
                np.save(args.dump_logits, logits.cpu().numpy())
            print(json.dumps({"device": str(device), "setup": setup}), flush=True)
            return
        gen = torch.Generator().manual_seed(args.seed)  # ids drawn on the CPU: the same on every device
        for B, T in args.shapes:
            if T > model.spec["context_length"]:
                sys.exit(f"torch_forward.py: T={T} exceeds the context length {model.spec['context_length']}")
            ids = torch.randint(0, model.spec["vocab_size"], (B, T), generator=gen).to(device)
            times = sorted(time_forward(model, ids, args.warmup, args.runs))
            median = statistics.median(times)
            print(json.dumps({"impl": "torch", "batch": B, "seq": T, "threads": torch.get_num_threads(),
                              "runs": args.runs, "median_s": median, "min_s": times[0],
                              "tokens_per_s": B * T / median, "device": str(device), "setup": setup}), flush=True)


if __name__ == "__main__":
    main()
