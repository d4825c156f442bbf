#!/usr/bin/python3
"""The PyTorch peer of lathe-bench-train: one training step of the same model.

Loads a Lathe model directory (`lathe export --format lathe`) into the float32
model of torch_forward.py (fused QKV weights, batched attention), makes every
weight a leaf parameter and times plain steps: forward, mean cross-entropy,
backward, gradient clipping at norm 1 and torch.optim.AdamW with the
hyper-parameters lathe-bench-train gives optimizer_step (lr, betas (0.9, 0.95),
eps 1e-8, weight decay 0.1 on matrices outside embed.*). Prints one JSON object
like lathe-bench-train: the first step's loss, step times, tokens/s and peak RSS.

--device cuda[:N] trains on that GPU: fp32 with TF32 matmuls off, attention through
F.scaled_dot_product_attention and AdamW with fused=True where this torch has them,
a synchronize around every timed step, and the peak GPU memory
(torch.cuda.max_memory_allocated) next to the peak RSS. Without CUDA in this torch
it says so and trains on the CPU.

  torch_train.py MODEL_DIR --ids ids.npy [--threads 2] [--warmup 1] [--runs 5] [--device cuda]
"""
import argparse
import inspect
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from peer_env import synchronize, torch_device
from torch_forward import ACTIVATIONS, FastModel


def current_rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


class TrainableModel(FastModel):
    """FastModel with every weight a parameter; the MLP avoids in-place ops autograd needs the inputs of."""

    def __init__(self, directory, device):
        super().__init__(directory, device)
        for tensor in self.w.values():
            tensor.requires_grad_(True)

    def mlp(self, prefix, x):
        up = F.linear(x, self.w[prefix + ".up.weight"], self.bias(prefix + ".up"))
        if self.spec["activation"] == "swiglu":
            hidden = F.silu(F.linear(x, self.w[prefix + ".gate.weight"], self.bias(prefix + ".gate"))) * up
        else:
            hidden = ACTIVATIONS[self.spec["activation"]](up)
        return F.linear(hidden, self.w[prefix + ".down.weight"], self.bias(prefix + ".down"))

    def optimizer(self, lr):
        """Decoupled weight decay on matrices outside embed.*, as Lathe's optimizer_step."""
        decay = [t for name, t in self.w.items() if t.dim() == 2 and not name.startswith("embed.")]
        keep = [t for name, t in self.w.items() if not (t.dim() == 2 and not name.startswith("embed."))]
        groups = [{"params": decay, "weight_decay": 0.1}, {"params": keep, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8,
                                 **({"fused": True} if self.fused_adamw() else {}))

    def fused_adamw(self):
        """One fused kernel for the whole update: on CUDA, in torch versions whose AdamW has it (2.0 on)."""
        return self.device.type == "cuda" and "fused" in inspect.signature(torch.optim.AdamW).parameters


def gpu_memory_bytes(device):
    """Bytes held by tensors on the GPU now, and at most so far (None, None on the CPU)."""
    if device.type != "cuda":
        return None, None
    return torch.cuda.memory_allocated(device), torch.cuda.max_memory_allocated(device)


def timed_train_step(model, optimizer, tokens, targets):
    """(loss, seconds) of one step, the device's queued work included."""
    synchronize(model.device)
    start = time.perf_counter()
    loss = train_step(model, optimizer, tokens, targets)
    synchronize(model.device)
    return loss, time.perf_counter() - start


def train_step(model, optimizer, tokens, targets):
    logits = model.forward(tokens)
    loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(model.w.values()), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="Lathe model directory (model.json + model.safetensors)")
    parser.add_argument("--ids", required=True, help="(B, T+1) int .npy: tokens = ids[:, :T], targets = ids[:, 1:]")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (>= 1: the first gives first_loss)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    args = parser.parse_args()
    if args.threads < 1 or args.runs < 1 or args.warmup < 1 or args.lr <= 0:
        parser.error("--threads, --runs and --warmup must be >= 1, --lr > 0")
    device, setup = torch_device(args.device, args.threads, "torch_train.py")
    ids = torch.from_numpy(np.load(args.ids).astype(np.int64))
    if ids.dim() != 2 or ids.shape[1] < 2:
        sys.exit(f"torch_train.py: {args.ids}: expected a (B, T+1) array with T >= 1, got {tuple(ids.shape)}")
    tokens, targets = ids[:, :-1].contiguous().to(device), ids[:, 1:].contiguous().to(device)
    rss_before_model = current_rss_bytes()
    gpu_before_model, _ = gpu_memory_bytes(device)
    model = TrainableModel(args.model, device)
    optimizer = model.optimizer(args.lr)
    setup += "".join(f", {name}" for name, used in (("scaled_dot_product_attention", model.fused_attention),
                                                     ("fused AdamW", model.fused_adamw())) if used)
    first_loss, first_step_s = timed_train_step(model, optimizer, tokens, targets)
    for _ in range(args.warmup - 1):
        train_step(model, optimizer, tokens, targets)
    times = sorted(timed_train_step(model, optimizer, tokens, targets)[1] for _ in range(args.runs))
    median = times[len(times) // 2]  # as lathe-bench-train
    B, T = tokens.shape
    result = {"impl": "torch", "batch": B, "seq": T, "threads": torch.get_num_threads(), "runs": args.runs,
              "first_loss": first_loss, "first_step_s": first_step_s, "median_s": median, "min_s": times[0],
              "tokens_per_s": B * T / median, "rss_before_model_bytes": rss_before_model,
              "peak_rss_bytes": peak_rss_bytes(), "device": str(device), "setup": setup}
    if device.type == "cuda":
        result.update(gpu_before_model_bytes=gpu_before_model, peak_gpu_bytes=gpu_memory_bytes(device)[1])
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
