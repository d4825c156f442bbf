#!/usr/bin/python3
"""Cross-checks the training kernels against PyTorch autograd (float64).

Usage: training_torch_check.py BUILD/bin/training_kernels_torch_dump
Runs the dump tool (TrainingTorchDump.cpp) into a temporary directory, then
recomputes every gradient with torch autograd and the optimizer with
torch.optim.AdamW, and fails (exit 1) on any element outside tolerance.
"""

import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def load(directory):
    arrays = {}
    with open(os.path.join(directory, "manifest.txt")) as f:
        for line in f:
            name, dtype, *dims = line.split()
            is_int = dtype == "i32"
            data = np.fromfile(os.path.join(directory, name + ".bin"), dtype=np.int32 if is_int else np.float32)
            data = data.reshape([int(d) for d in dims]).astype(np.int64 if is_int else np.float64)
            arrays[name] = torch.from_numpy(data)
    return arrays


failures = []


def compare(name, got, want, rtol=1e-4, atol=1e-5):
    err = (got - want).abs() - (atol + rtol * want.abs())
    worst = (got - want).abs().max().item()
    ok = bool((err <= 0).all())
    print(f"{'ok  ' if ok else 'FAIL'} {name:18s} max abs diff {worst:.3g}")
    if not ok:
        failures.append(name)


def grads_of(inputs, output, dout):
    for t in inputs:
        t.grad = None
    (output * dout).sum().backward()
    return [t.grad for t in inputs]


def check_attention(a):
    q, k, v, dout = (a[n].clone().requires_grad_(True) for n in ("attn_q", "attn_k", "attn_v", "attn_dout"))
    B, T, H, D = q.shape
    group = H // k.shape[2]
    qh = q.permute(0, 2, 1, 3)
    kh = k.permute(0, 2, 1, 3).repeat_interleave(group, dim=1)
    vh = v.permute(0, 2, 1, 3).repeat_interleave(group, dim=1)
    scores = qh @ kh.transpose(-1, -2) / math.sqrt(D)
    scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    out = (scores.softmax(-1) @ vh).permute(0, 2, 1, 3)
    compare("attention out", a["attn_out"], out.detach())
    dq, dk, dv = grads_of([q, k, v], out, a["attn_dout"])
    compare("attention dq", a["attn_dq"], dq)
    compare("attention dk", a["attn_dk"], dk)
    compare("attention dv", a["attn_dv"], dv)


def check_norms(a):
    x, w, b = (a[n].clone().requires_grad_(True) for n in ("norm_x", "norm_w", "norm_b"))
    y = F.layer_norm(x, (x.shape[-1],), w, b, eps=1e-5)
    dx, dw, db = grads_of([x, w, b], y, a["norm_dy"])
    compare("layerNorm dx", a["ln_dx"], dx)
    compare("layerNorm dw", a["ln_dw"], dw)
    compare("layerNorm db", a["ln_db"], db)
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w
    dx, dw = grads_of([x, w], y, a["norm_dy"])
    compare("rmsNorm dx", a["rms_dx"], dx)
    compare("rmsNorm dw", a["rms_dw"], dw)


def check_activations(a):
    functions = {
        "gelu": lambda x: F.gelu(x),
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "silu": F.silu,
        "relu": F.relu,
    }
    for name, fn in functions.items():
        x = a["act_x"].clone().requires_grad_(True)
        (dx,) = grads_of([x], fn(x), a["act_dy"])
        compare(name + " dx", a["act_dx_" + name], dx, atol=1e-6)


def check_cross_entropy(a):
    logits = a["ce_logits"].clone().requires_grad_(True)
    loss = F.cross_entropy(logits, a["ce_targets"], ignore_index=-100)
    loss.backward()
    compare("cross-entropy mean", a["ce_mean"], loss.detach().reshape(1))
    compare("cross-entropy grad", a["ce_dlogits"], logits.grad, atol=1e-8)


def check_adamw(a):
    p = torch.nn.Parameter(a["adamw_p0"].clone())
    opt = torch.optim.AdamW([p], lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    for g in a["adamw_grads"]:
        p.grad = g.clone()
        opt.step()
    state = opt.state[p]
    compare("adamw param", a["adamw_p"], p.detach(), rtol=1e-5, atol=1e-6)
    compare("adamw m", a["adamw_m"], state["exp_avg"], rtol=1e-5, atol=1e-7)
    compare("adamw v", a["adamw_v"], state["exp_avg_sq"], rtol=1e-5, atol=1e-9)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as directory:
        subprocess.run([sys.argv[1], directory], check=True)
        arrays = load(directory)
    check_attention(arrays)
    check_norms(arrays)
    check_activations(arrays)
    check_cross_entropy(arrays)
    check_adamw(arrays)
    if failures:
        sys.exit("failed: " + ", ".join(failures))


if __name__ == "__main__":
    main()
