"""`bench.py decode`: prefill and decode tokens/s of `lathe-bench-decode` next to a
PyTorch KV-cache implementation of the same model, in the same run.

The model is examples/gpt2.yaml (GPT-2 124M shape) compiled with --infer at
max batch 8, max seq 256 (seeded random weights: speed does not depend on
them). The PyTorch peer is a plain GPT-2 with a per-layer (B, T, C) key/value
cache, run with torch.set_num_threads(threads) in a subprocess whose
environment lacks OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (see bench.py).
"""
import json
import os
import subprocess

from peer_env import peer_environment

PEER_SCRIPT = r"""
import json, math, statistics, sys, time
import torch
job = json.loads(sys.argv[1])
torch.set_num_threads(job["threads"])
torch.manual_seed(0)
C, H, L, V, F = 768, 12, 12, 50257, 3072
D = C // H
lin = lambda i, o: (torch.randn(o, i) * 0.02, torch.zeros(o))
layers = [dict(ln1=(torch.ones(C), torch.zeros(C)), qkv=lin(C, 3 * C), o=lin(C, C),
               ln2=(torch.ones(C), torch.zeros(C)), up=lin(C, F), down=lin(F, C)) for _ in range(L)]
wte, wpe = torch.randn(V, C) * 0.02, torch.randn(1024, C) * 0.01
lnf = (torch.ones(C), torch.zeros(C))
F_ = torch.nn.functional

def forward(ids, cache, start):
    B, T = ids.shape
    x = wte[ids] + wpe[start:start + T]
    mask = torch.full((T, start + T), float("-inf")).triu(start + 1)
    for layer, (kc, vc) in zip(layers, cache):
        h = F_.layer_norm(x, (C,), *layer["ln1"])
        q, k, v = F_.linear(h, *layer["qkv"]).split(C, dim=-1)
        kc[:, start:start + T] = k
        vc[:, start:start + T] = v
        heads = lambda t: t.view(B, -1, H, D).transpose(1, 2)
        qh, kh, vh = heads(q), heads(kc[:, :start + T]), heads(vc[:, :start + T])
        att = (qh @ kh.transpose(-1, -2)) / math.sqrt(D) + mask
        y = (att.softmax(-1) @ vh).transpose(1, 2).reshape(B, T, C)
        x = x + F_.linear(y, *layer["o"])
        h = F_.layer_norm(x, (C,), *layer["ln2"])
        x = x + F_.linear(F_.gelu(F_.linear(h, *layer["up"]), approximate="tanh"), *layer["down"])
    return F_.layer_norm(x[:, -1], (C,), *lnf) @ wte.T

results = []
with torch.no_grad():
    for B in job["batches"]:
        prefill, decode = [], []
        for run in range(job["runs"] + 1):
            cache = [(torch.zeros(B, 1024, C), torch.zeros(B, 1024, C)) for _ in range(L)]
            ids = torch.randint(0, 1000, (B, job["prompt_len"]))
            t0 = time.perf_counter()
            logits = forward(ids, cache, 0)
            t1 = time.perf_counter()
            pos = job["prompt_len"]
            for _ in range(job["new_tokens"] - 1):
                nxt = logits.argmax(-1, keepdim=True)
                logits = forward(nxt, cache, pos)
                pos += 1
            t2 = time.perf_counter()
            if run:
                prefill.append(B * job["prompt_len"] / (t1 - t0))
                decode.append(B * (job["new_tokens"] - 1) / (t2 - t1))
        results.append({"batch": B, "prefill_tokens_per_s": statistics.median(prefill),
                        "decode_tokens_per_s": statistics.median(decode)})
print(json.dumps(results))
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
                        help="where lathe runs (the peer stays on the CPU; lavapipe speed is not meaningful)")
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
                             check=True, capture_output=True, text=True, env=env)
        lathe.append(json.loads(out.stdout))
    peer_env = peer_environment(args.threads, args.openblas_coretype)
    job = {"threads": args.threads, "runs": args.runs, "prompt_len": args.prompt_len,
           "new_tokens": args.new_tokens, "batches": batches}
    out = subprocess.run(["/usr/bin/python3", "-c", PEER_SCRIPT, json.dumps(job)], check=True, capture_output=True, text=True,
                         env=peer_env)
    torch_rates = json.loads(out.stdout)
    print(f"GPT-2 124M shape, lathe on {args.target}, "
          f"prompt {args.prompt_len}, {args.new_tokens} new tokens, {args.threads} threads (median of {args.runs})")
    print(f"{'batch':>5} {'':>8} {'lathe tok/s':>12} {'torch tok/s':>12} {'lathe/torch':>11}")
    for mine, peer in zip(lathe, torch_rates):
        for phase in ("prefill", "decode"):
            a, b = mine[f"{phase}_tokens_per_s"], peer[f"{phase}_tokens_per_s"]
            print(f"{mine['batch']:>5} {phase:>8} {a:>12.1f} {b:>12.1f} {a / b:>10.2f}x")
    return 0
