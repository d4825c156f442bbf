"""`bench.py decode`: prefill and decode tokens/s of `lathe-bench-decode` next to a
PyTorch KV-cache implementation of the same model, in the same run.

The model is examples/gpt2.yaml (GPT-2 124M shape) compiled with --infer at
max batch 8, max seq 256 (seeded random weights: speed does not depend on
them). The PyTorch peer is a plain GPT-2 with a per-layer (B, T, C) key/value
cache, run with torch.set_num_threads(threads) in a subprocess whose
environment lacks OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (see bench.py). With
--target cuda it runs on lathe's CUDA device (fp32, TF32 off,
scaled_dot_product_attention where torch has it; synchronized before each clock
read), or says that this torch has no CUDA and runs on the CPU.
"""
import json
import os
import subprocess
import sys

from peer_env import peer_environment, peer_label, requested_peer_device, warn_if_peer_on_cpu

PEER_SCRIPT = r"""
import json, math, statistics, sys, time
job = json.loads(sys.argv[1])
sys.path.insert(0, job["bench_dir"])
import torch
from peer_env import synchronize, torch_device
device, setup = torch_device(job["device"], job["threads"], "the decode peer")
torch.manual_seed(0)  # weights drawn on the CPU, then moved: the same model on every device
C, H, L, V, F = 768, 12, 12, 50257, 3072
D = C // H
F_ = torch.nn.functional
fused_attention = device.type == "cuda" and hasattr(F_, "scaled_dot_product_attention")
if fused_attention:
    setup += ", scaled_dot_product_attention"
lin = lambda i, o: (torch.randn(o, i) * 0.02, torch.zeros(o))
layers = [dict(ln1=(torch.ones(C), torch.zeros(C)), qkv=lin(C, 3 * C), o=lin(C, C),
               ln2=(torch.ones(C), torch.zeros(C)), up=lin(C, F), down=lin(F, C)) for _ in range(L)]
wte, wpe = torch.randn(V, C) * 0.02, torch.randn(1024, C) * 0.01
lnf = (torch.ones(C), torch.zeros(C))
layers = [{name: tuple(t.to(device) for t in pair) for name, pair in layer.items()} for layer in layers]
wte, wpe, lnf = wte.to(device), wpe.to(device), tuple(t.to(device) for t in lnf)

def attend(qh, kh, vh, mask, start, T):
    if not fused_attention:
        att = (qh @ kh.transpose(-1, -2)) / math.sqrt(D) + mask
        return att.softmax(-1) @ vh
    if start == 0:  # prefill: causal over the prompt
        return F_.scaled_dot_product_attention(qh, kh, vh, is_causal=True)
    return F_.scaled_dot_product_attention(qh, kh, vh, attn_mask=None if T == 1 else mask)

def forward(ids, cache, start):
    B, T = ids.shape
    x = wte[ids] + wpe[start:start + T]
    mask = torch.full((T, start + T), float("-inf"), device=device).triu(start + 1)
    for layer, (kc, vc) in zip(layers, cache):
        h = F_.layer_norm(x, (C,), *layer["ln1"])
        q, k, v = F_.linear(h, *layer["qkv"]).split(C, dim=-1)
        kc[:, start:start + T] = k
        vc[:, start:start + T] = v
        heads = lambda t: t.view(B, -1, H, D).transpose(1, 2)
        qh, kh, vh = heads(q), heads(kc[:, :start + T]), heads(vc[:, :start + T])
        y = attend(qh, kh, vh, mask, start, T).transpose(1, 2).reshape(B, T, C)
        x = x + F_.linear(y, *layer["o"])
        h = F_.layer_norm(x, (C,), *layer["ln2"])
        x = x + F_.linear(F_.gelu(F_.linear(h, *layer["up"]), approximate="tanh"), *layer["down"])
    return F_.layer_norm(x[:, -1], (C,), *lnf) @ wte.T

results = []
with torch.no_grad():
    for B in job["batches"]:
        prefill, decode = [], []
        for run in range(job["runs"] + 1):
            cache = [(torch.zeros(B, 1024, C, device=device), torch.zeros(B, 1024, C, device=device))
                     for _ in range(L)]
            ids = torch.randint(0, 1000, (B, job["prompt_len"])).to(device)
            synchronize(device)
            t0 = time.perf_counter()
            logits = forward(ids, cache, 0)
            synchronize(device)
            t1 = time.perf_counter()
            pos = job["prompt_len"]
            for _ in range(job["new_tokens"] - 1):
                nxt = logits.argmax(-1, keepdim=True)
                logits = forward(nxt, cache, pos)
                pos += 1
            synchronize(device)
            t2 = time.perf_counter()
            if run:
                prefill.append(B * job["prompt_len"] / (t1 - t0))
                decode.append(B * (job["new_tokens"] - 1) / (t2 - t1))
        results.append({"batch": B, "prefill_tokens_per_s": statistics.median(prefill),
                        "decode_tokens_per_s": statistics.median(decode)})
print(json.dumps({"device": str(device), "setup": setup, "results": results}))
"""


def add_decode_command(sub):
    decode = sub.add_parser("decode", help="generation tokens/s: lathe prefill/decode vs a PyTorch KV cache")
    decode.add_argument("--build", default="build", help="Lathe build directory")
    decode.add_argument("--threads", type=int, default=2)
    decode.add_argument("--runs", type=int, default=3)
    decode.add_argument("--prompt-len", type=int, default=128)
    decode.add_argument("--new-tokens", type=int, default=32)
    decode.add_argument("--batches", default="1,8")
    decode.add_argument("--artifact", default=None, help="reuse this GPT-2-shaped artifact instead of compiling one")
    decode.add_argument("--openblas-coretype", default=None,
                        help="set OPENBLAS_CORETYPE for the peer (see bench.py matmul; e.g. SkylakeX)")
    decode.add_argument("--target", choices=("cpu", "vulkan", "cuda"), default="cpu",
                        help="where lathe runs; the peer runs on the CPU, except on cuda, where it runs on the same "
                             "GPU when torch has CUDA (lavapipe speed is not meaningful)")
    decode.add_argument("--device", default=None,
                        help="device for a GPU --target, e.g. vulkan:1 or cuda:1 (default: the target's first)")
    decode.set_defaults(func=cmd_decode)


def cmd_decode(args):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = os.path.abspath(args.build)
    batches = [int(b) for b in args.batches.split(",")]
    artifact = args.artifact or os.path.join(build, "bench-gpt2-infer.lathe")
    if not args.artifact:
        model = os.path.join(root, "examples", "gpt2.yaml")
        targets = "cpu" if args.target == "cpu" else f"cpu,{args.target}"
        subprocess.run([os.path.join(build, "bin", "lathe"), "compile", model, "--target", targets,
                        "--max-batch", str(max(batches)), "--max-seq", "256", "-o", artifact], check=True)
    env = dict(os.environ, LATHE_NUM_THREADS=str(args.threads))
    lathe = []
    for batch in batches:
        out = subprocess.run([os.path.join(build, "bin", "lathe-bench-decode"), artifact, "--batch", str(batch),
                              "--prompt-len", str(args.prompt_len), "--new-tokens", str(args.new_tokens),
                              "--runs", str(args.runs), "--device", args.device or args.target],
                             capture_output=True, text=True, env=env)
        if out.returncode != 0:
            sys.exit(f"bench.py: lathe-bench-decode failed (exit {out.returncode}) at batch {batch}:\n"
                     f"{out.stderr.strip()}")
        lathe.append(json.loads(out.stdout))
    peer_env = peer_environment(args.threads, args.openblas_coretype)
    requested = requested_peer_device(args.target, args.device)
    job = {"threads": args.threads, "runs": args.runs, "prompt_len": args.prompt_len,
           "new_tokens": args.new_tokens, "batches": batches, "device": requested,
           "bench_dir": os.path.dirname(os.path.abspath(__file__))}
    out = subprocess.run(["/usr/bin/python3", "-c", PEER_SCRIPT, json.dumps(job)], capture_output=True, text=True,
                         env=peer_env)
    if out.returncode != 0:
        sys.exit(f"bench.py: the decode peer failed (exit {out.returncode}):\n{out.stderr.strip()}")
    peer = json.loads(out.stdout)
    warn_if_peer_on_cpu(requested, peer["device"], peer["setup"])
    torch_rates = peer["results"]
    label = f"{peer_label(args.target, peer['device'])} tok/s"
    print(f"GPT-2 124M shape, lathe on {args.target}, "
          f"prompt {args.prompt_len}, {args.new_tokens} new tokens, {args.threads} threads (median of {args.runs})")
    if args.target == "cuda":
        print(f"peer: {peer['setup']}")
    width = max(12, len(label))
    print(f"{'batch':>5} {'':>8} {'lathe tok/s':>12} {label:>{width}} {'lathe/torch':>11}")
    for mine, peer in zip(lathe, torch_rates):
        for phase in ("prefill", "decode"):
            a, b = mine[f"{phase}_tokens_per_s"], peer[f"{phase}_tokens_per_s"]
            print(f"{mine['batch']:>5} {phase:>8} {a:>12.1f} {b:>{width}.1f} {a / b:>10.2f}x")
    return 0
