#!/usr/bin/python3
"""Lathe benchmarks against PyTorch and NumPy (on the CPU; with --target cuda, PyTorch on the same GPU).

Subcommands:
  matmul   lathe::cpu::gemm (bench/matmul.cpp) vs numpy sgemm and torch.matmul.
  decode   generation tokens/s vs a PyTorch KV cache (bench/decode_bench.py).
  forward  a compiled model's forward pass (bench/forward.cpp) vs the same model in
           PyTorch (bench/torch_forward.py), tokens/s, plus a logits cross-check.
  train    a training step (bench/train.cpp: train_micro_step + optimizer_step) vs
           PyTorch forward + cross-entropy + backward + AdamW (bench/torch_train.py):
           tokens/s, peak RSS and a first-step loss cross-check.
  all      matmul (1024^3, 2048^3) and forward in one run, one table with the goals.
  profile  where lathe's forward time goes, by kernel kind (perf samples).
  tokenizer  GPT-2 BPE encoding MB/s (bench/tokenizer.cpp) vs tiktoken, single-threaded.

See bench/README.md for how to read the numbers.

Peers run in subprocesses with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from
the environment (they force OpenBLAS onto AVX2 kernels) and with
OPENBLAS_NUM_THREADS set to the thread count; see docs in
/work/shared/notes/toolchain.md "Measuring against PyTorch". With --target cuda
the PyTorch peers of forward, train and decode run on lathe's CUDA device (fp32,
TF32 off) when torch has CUDA, and say so when it has not (bench/README.md).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

import decode_bench
from peer_env import peer_environment, peer_label, requested_peer_device, warn_if_peer_on_cpu

PYTHON = "/usr/bin/python3"
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
TORCH_FORWARD = os.path.join(BENCH_DIR, "torch_forward.py")
TORCH_TRAIN = os.path.join(BENCH_DIR, "torch_train.py")

# The issue's goals: forward at least as fast as PyTorch, sgemm >= 70% of OpenBLAS.
FORWARD_GOAL = 1.0
SGEMM_GOAL = 0.70
GOAL_MATMUL_SHAPES = ("square_1024", "square_2048")
# Largest max |lathe - torch| / max |torch| over the logits for "same model".
LOGITS_TOLERANCE = 1e-3
# Largest |lathe - torch| / |torch| of the first training step's loss (same weights, same ids).
LOSS_TOLERANCE = 1e-4

# Runs inside the peer subprocess: argv[1] = "numpy" | "torch", argv[2] = JSON job.
PEER_SCRIPT = r"""
import json, statistics, sys, time
import numpy as np
job = json.loads(sys.argv[2])
if sys.argv[1] == "torch":
    import torch
    torch.set_num_threads(job["threads"])
results = []
for s in job["shapes"]:
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (s["M"], s["K"])).astype(np.float32)
    b = rng.uniform(-1, 1, (s["N"], s["K"]) if s["trans_b"] else (s["K"], s["N"])).astype(np.float32)
    if sys.argv[1] == "torch":
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        tb = tb.t() if s["trans_b"] else tb
        run = lambda: torch.matmul(ta, tb)
    else:
        bb = b.T if s["trans_b"] else b
        run = lambda: a @ bb
    start = time.perf_counter()
    while time.perf_counter() - start < 0.2:
        run()
    rates = []
    for _ in range(job["runs"]):
        t0 = time.perf_counter()
        run()
        rates.append(2.0 * s["M"] * s["N"] * s["K"] / (time.perf_counter() - t0) * 1e-9)
    results.append({"shape": s["shape"], "gflops": statistics.median(rates)})
print(json.dumps(results))
"""


def require_binary(path, target, flag):
    if not os.path.isfile(path):
        sys.exit(f"bench.py: {path} not found; build the {target} target or pass {flag}")


def run_json_lines(command, what, env=None):
    """Runs a tool that prints one JSON object per line; exits naming the tool on failure."""
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"bench.py: {what} failed (exit {proc.returncode}): {' '.join(command)}\n{proc.stderr.strip()}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def run_lathe(binary, threads, runs, only_shapes=()):
    require_binary(binary, "lathe-bench-matmul", "--binary")
    command = [binary, "--threads", str(threads), "--runs", str(runs)]
    for name in only_shapes:
        command += ["--shape", name]
    return run_json_lines(command, "lathe-bench-matmul")


def run_peer(peer, shapes, threads, runs, coretype):
    job = json.dumps({"shapes": shapes, "threads": threads, "runs": runs})
    proc = subprocess.run([PYTHON, "-c", PEER_SCRIPT, peer, job], capture_output=True, text=True,
                          env=peer_environment(threads, coretype))
    if proc.returncode != 0:
        print(f"bench.py: {peer} peer failed:\n{proc.stderr.strip()}", file=sys.stderr)
        return {}
    return {r["shape"]: r["gflops"] for r in json.loads(proc.stdout)}


def ratio(a, b):
    return f"{a / b:.2f}" if b else "n/a"


# lathe's GEMM variants on cuda (lathe-bench-gpu-matmul --kernel), as table columns.
CUDA_MATMUL_KERNELS = (("tensor-fp32", "tc-fp32"), ("tensor-tf32", "tc-tf32"), ("scalar", "scalar"))


def run_gpu_matmul(args, kernel=None):
    require_binary(args.gpu_binary, "lathe-bench-gpu-matmul", "--gpu-binary")
    command = [args.gpu_binary, "--device", args.device or args.target, "--runs", str(args.runs)]
    if kernel:
        command += ["--kernel", kernel, "--large"]
    rows = run_json_lines(command, "lathe-bench-gpu-matmul")
    for r in rows:
        if "skipped" in r:
            print(f"bench.py: {r['shape']} skipped{f' ({kernel})' if kernel else ''}: {r['skipped']}", file=sys.stderr)
    return [r for r in rows if "skipped" not in r]


def cmd_matmul(args):
    if args.target != "cpu":
        return cmd_gpu_matmul(args)
    lathe = run_lathe(args.binary, args.threads, args.runs)
    numpy_rates = run_peer("numpy", lathe, args.threads, args.runs, args.openblas_coretype)
    torch_rates = run_peer("torch", lathe, args.threads, args.runs, args.openblas_coretype)
    header = f"{'shape':<16} {'M':>5} {'N':>6} {'K':>5} {'B^T':>4} {'lathe':>8} {'numpy':>8} {'torch':>8} " \
             f"{'l/numpy':>8} {'l/torch':>8}"
    print(f"GFLOP/s, {args.threads} threads, median of {args.runs} runs"
          + (f", peers with OPENBLAS_CORETYPE={args.openblas_coretype}" if args.openblas_coretype else ""))
    print(header)
    print("-" * len(header))
    for r in lathe:
        n, t = numpy_rates.get(r["shape"], 0.0), torch_rates.get(r["shape"], 0.0)
        print(f"{r['shape']:<16} {r['M']:>5} {r['N']:>6} {r['K']:>5} {'y' if r['trans_b'] else 'n':>4} "
              f"{r['gflops']:>8.1f} {n:>8.1f} {t:>8.1f} {ratio(r['gflops'], n):>8} {ratio(r['gflops'], t):>8}")
    if args.json:
        rows = [dict(r, numpy_gflops=numpy_rates.get(r["shape"]), torch_gflops=torch_rates.get(r["shape"]))
                for r in lathe]
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


# Runs inside the PyTorch-on-CUDA peer subprocess: argv[1] = JSON job. torch.matmul on a CUDA tensor is cuBLAS;
# CUDA events time the GEMMs alone, like lathe's device timestamps.
TORCH_CUDA_PEER_SCRIPT = r"""
import json, statistics, sys
import torch
job = json.loads(sys.argv[1])
device = torch.device(job["device"] if ":" in job["device"] else "cuda:0")  # lathe's cuda:N is torch's
torch.cuda.set_device(device)
results = []
for s in job["shapes"]:
    row = {"shape": s["shape"]}
    for name, dtype, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True),
                              ("fp16", torch.float16, False), ("bf16", torch.bfloat16, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        a = torch.rand(s["M"], s["K"], device=device, dtype=dtype)
        b = torch.rand(s["N"], s["K"], device=device, dtype=dtype) if s["trans_b"] else \
            torch.rand(s["K"], s["N"], device=device, dtype=dtype)
        b = b.t() if s["trans_b"] else b
        for _ in range(3):
            torch.matmul(a, b)
        rates = []
        for _ in range(job["runs"]):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            torch.matmul(a, b)
            end.record()
            end.synchronize()
            rates.append(2.0 * s["M"] * s["N"] * s["K"] / (start.elapsed_time(end) * 1e-3) * 1e-9)
        row[name + "_gflops"] = statistics.median(rates)
    results.append(row)
print(json.dumps({"torch": torch.__version__, "gpu": torch.cuda.get_device_name(device), "results": results}))
"""


def run_torch_cuda_peer(args, shapes):
    """PyTorch (cuBLAS) GFLOP/s per shape and precision on the same GPU, or None when torch has no CUDA."""
    device = args.device or "cuda"
    job = json.dumps({"shapes": shapes, "runs": args.runs, "device": device})
    proc = subprocess.run([PYTHON, "-c", TORCH_CUDA_PEER_SCRIPT, job], capture_output=True, text=True)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        print(f"bench.py: no PyTorch-on-CUDA peer ({reason})", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


def cmd_gpu_matmul(args):
    """The GPU kernel's GFLOP/s (device timestamps) next to lathe's CPU GEMM in the same run (and, on cuda,
    next to PyTorch/cuBLAS on the same GPU)."""
    cpu = {r["shape"]: r["gflops"] for r in run_lathe(args.binary, args.threads, args.runs)}
    if args.target == "cuda":
        gpu = run_gpu_matmul(args, CUDA_MATMUL_KERNELS[0][0])
        for kernel, column in CUDA_MATMUL_KERNELS:
            rates = {r["shape"]: r["gflops"] for r in (gpu if kernel == CUDA_MATMUL_KERNELS[0][0]
                                                          else run_gpu_matmul(args, kernel))}
            for r in gpu:
                r[column] = rates.get(r["shape"], 0.0)
        return print_cuda_matmul(args, gpu, cpu, run_torch_cuda_peer(args, gpu))
    gpu = run_gpu_matmul(args)
    print(f"GFLOP/s, lathe on {args.device or args.target} (kernel time from device timestamps) and lathe on the "
          f"cpu ({args.threads} threads), median of {args.runs} runs")
    header = f"{'shape':<16} {'M':>5} {'N':>6} {'K':>5} {'B^T':>4} {args.target:>8} {'cpu':>8} {'gpu/cpu':>8}"
    print(header)
    print("-" * len(header))
    for r in gpu:
        c = cpu.get(r["shape"], 0.0)
        print(f"{r['shape']:<16} {r['M']:>5} {r['N']:>6} {r['K']:>5} {'y' if r['trans_b'] else 'n':>4} "
              f"{r['gflops']:>8.1f} {c:>8.1f} {ratio(r['gflops'], c):>8}")
    if args.json:
        write_json(args.json, [dict(r, cpu_gflops=cpu.get(r["shape"])) for r in gpu])
    return 0


def print_cuda_matmul(args, gpu, cpu, peer):
    """lathe's GEMMs on the GPU (tensor cores at fp32 and TF32 precision, scalar) against cuBLAS (through
    PyTorch) in fp32, tf32, fp16 and bf16; ratios pair equal precisions."""
    torch_rows = {r["shape"]: r for r in peer["results"]} if peer else {}
    print(f"GFLOP/s, lathe on {args.device or args.target} (kernel time from CUDA events), median of {args.runs} "
          f"runs; " + (f"PyTorch {peer['torch']} (cuBLAS) on {peer['gpu']}" if peer else "no PyTorch-on-CUDA peer"))
    lathe_columns = [column for _, column in CUDA_MATMUL_KERNELS]
    header = f"{'shape':<16} {'M':>5} {'N':>6} {'K':>5} {'B^T':>4} " + \
        " ".join(f"{c:>9}" for c in lathe_columns) + f" {'cpu':>8} " + \
        f"{'cublas32':>9} {'tf32':>9} {'fp16':>9} {'bf16':>9} {'fp32/cb':>8} {'tf32/cb':>8}"
    print(header)
    print("-" * len(header))
    for r in gpu:
        t = torch_rows.get(r["shape"], {})
        lathe_cells = " ".join(f"{r.get(c, 0.0):>9.0f}" for c in lathe_columns)
        peer_cells = " ".join(f"{t.get(p + '_gflops', 0.0):>9.0f}" for p in ("fp32", "tf32", "fp16", "bf16"))
        print(f"{r['shape']:<16} {r['M']:>5} {r['N']:>6} {r['K']:>5} {'y' if r['trans_b'] else 'n':>4} "
              f"{lathe_cells} {cpu.get(r['shape'], 0.0):>8.1f} {peer_cells} "
              f"{ratio(r.get('tc-fp32', 0.0), t.get('fp32_gflops', 0.0)):>8} "
              f"{ratio(r.get('tc-tf32', 0.0), t.get('tf32_gflops', 0.0)):>8}")
    if args.json:
        write_json(args.json, [dict(r, cpu_gflops=cpu.get(r["shape"]), torch_cuda=torch_rows.get(r["shape"]))
                               for r in gpu])
    return 0


# --------------------------------------------------------------------------
# forward: lathe-bench-forward vs bench/torch_forward.py on the same weights.

def compile_targets(args):
    """--target list for `lathe compile`: artifacts always carry the cpu dispatch list too."""
    return "cpu" if args.target == "cpu" else f"cpu,{args.target}"


def device_options(args):
    """Driver options that run on --target's device, with per-kernel times on GPUs."""
    return [] if args.target == "cpu" else ["--device", args.device or args.target, "--profile", "1"]


def print_kernel_table(title, kernels):
    """Per-kernel-kind device times of one profiled run (GPU targets)."""
    total = sum(k["microseconds"] for k in kernels) or 1.0
    print(f"  {title}: device time by kernel kind (one profiled run)")
    for k in kernels:
        print(f"    {k['kind']:<18} {k['microseconds'] / 1e3:9.2f} ms {100 * k['microseconds'] / total:6.1f}%  "
              f"{k['dispatches']:>4} dispatches")


def parse_shapes(text):
    shapes = []
    for item in text.split(","):
        parts = item.strip().lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise argparse.ArgumentTypeError(f"shape '{item}' is not BxT with B, T >= 1 (e.g. 4x64)")
        shapes.append((int(parts[0]), int(parts[1])))
    return shapes


def shape_name(shape):
    return f"{shape[0]}x{shape[1]}"


def prepare_model(args, workdir):
    """Exports the model once (weights for the peer) and compiles that export, so both run the same weights."""
    require_binary(args.lathe, "lathe", "--lathe")
    export_dir = os.path.join(workdir, "model")
    artifact = os.path.join(workdir, "model.lathe")
    max_batch = max(b for b, _ in args.shapes)
    max_seq = max(t for _, t in args.shapes)
    for command in ([args.lathe, "export", args.model, "-o", export_dir, "--format", "lathe"],
                    [args.lathe, "compile", export_dir, "--target", compile_targets(args), "--max-batch",
                     str(max_batch), "--max-seq", str(max_seq), "-o", artifact]):
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench.py: {' '.join(command)} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    with open(os.path.join(export_dir, "model.json")) as f:
        spec = json.load(f)
    return export_dir, artifact, spec


def lathe_forward_command(args, artifact, *extra):
    return [args.binary, artifact, "--threads", str(args.threads), "--warmup", str(args.warmup),
            *device_options(args), *extra]


def time_lathe_forward(args, artifact):
    results = {}
    for b, t in args.shapes:
        command = lathe_forward_command(args, artifact, "--batch", str(b), "--seq", str(t), "--runs", str(args.runs))
        results[(b, t)] = run_json_lines(command, "lathe-bench-forward")[0]
    return results


def peer_device_options(args):
    return ["--device", requested_peer_device(args.target, args.device)]


def peer_description(args, report):
    """Where a PyTorch peer ran, from one of its JSON lines; says so on stderr when it fell back to the CPU."""
    warn_if_peer_on_cpu(requested_peer_device(args.target, args.device), report["device"], report["setup"])
    return {"device": report["device"], "setup": report["setup"], "label": peer_label(args.target, report["device"])}


def print_peer_setup(args, peer):
    if args.target == "cuda":
        print(f"peer: {peer['setup']}")


def time_torch_forward(args, export_dir):
    command = [PYTHON, TORCH_FORWARD, export_dir, "--threads", str(args.threads), "--warmup", str(args.warmup),
               "--runs", str(args.runs), "--shapes", ",".join(shape_name(s) for s in args.shapes),
               *peer_device_options(args)]
    rows = run_json_lines(command, "the PyTorch peer", peer_environment(args.threads, args.openblas_coretype))
    return {(r["batch"], r["seq"]): r for r in rows}


def check_logits(args, export_dir, artifact, spec, workdir):
    """Runs both on the same seeded ids; returns max |lathe - torch| / max |torch| over the logits (in float64)
    and the peer's description."""
    import numpy as np
    shape = args.shapes[0]
    ids_path, lathe_path, torch_path = (os.path.join(workdir, n) for n in ("ids.npy", "lathe.npy", "torch.npy"))
    np.save(ids_path, np.random.default_rng(7).integers(0, spec["vocab_size"], size=shape, dtype=np.int32))
    run_json_lines([args.binary, artifact, "--threads", str(args.threads), "--warmup", "0", "--runs", "1",
                    *device_options(args), "--tokens-file", ids_path, "--dump-logits", lathe_path],
                   "lathe-bench-forward")
    report = run_json_lines([PYTHON, TORCH_FORWARD, export_dir, "--threads", str(args.threads), "--tokens-file",
                             ids_path, "--dump-logits", torch_path, *peer_device_options(args)], "the PyTorch peer",
                            peer_environment(args.threads, args.openblas_coretype))[0]
    ours, theirs = np.load(lathe_path).astype(np.float64), np.load(torch_path).astype(np.float64)
    if ours.shape != theirs.shape:
        sys.exit(f"bench.py: logits shapes differ: lathe {ours.shape}, torch {theirs.shape}")
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max()), peer_description(args, report)


def measure_forward(args, workdir):
    """Medians over --repeat rounds, each round timing lathe then the peer (so load changes hit both)."""
    export_dir, artifact, spec = prepare_model(args, workdir)
    rel_diff, peer = check_logits(args, export_dir, artifact, spec, workdir)
    rounds = [(time_lathe_forward(args, artifact), time_torch_forward(args, export_dir)) for _ in range(args.repeat)]
    rows = []
    for shape in args.shapes:
        lathe_rates = [lathe[shape]["tokens_per_s"] for lathe, _ in rounds]
        torch_rates = [peer[shape]["tokens_per_s"] for _, peer in rounds]
        rows.append({"shape": shape_name(shape), "batch": shape[0], "seq": shape[1],
                     "lathe_tokens_per_s": statistics.median(lathe_rates),
                     "torch_tokens_per_s": statistics.median(torch_rates),
                     "lathe_rounds": lathe_rates, "torch_rounds": torch_rates,
                     "kernels": rounds[0][0][shape].get("kernels")})
    check = {"shape": shape_name(args.shapes[0]), "max_rel_diff": rel_diff, "tolerance": LOGITS_TOLERANCE,
             "ok": rel_diff < LOGITS_TOLERANCE}
    return {"model": spec["name"], "rows": rows, "logits_check": check, "peer": peer}


def peer_note(args):
    coretype = f"OPENBLAS_CORETYPE={args.openblas_coretype}" if args.openblas_coretype else "OPENBLAS_CORETYPE unset"
    return f"{args.threads} threads, median of {args.runs} runs x {args.repeat} rounds, peers with {coretype}"


def print_logits_check(check):
    verdict = "ok" if check["ok"] else "MISMATCH: the two do not compute the same model"
    print(f"logits check at {check['shape']}: max |lathe - torch| / max |torch| = {check['max_rel_diff']:.2e} "
          f"(tolerance {check['tolerance']:.0e}): {verdict}")


def with_workdir(args, measure):
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        return measure(args, args.workdir)
    with tempfile.TemporaryDirectory(prefix="lathe-bench-") as workdir:
        return measure(args, workdir)


def write_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)


def cmd_forward(args):
    require_binary(args.binary, "lathe-bench-forward", "--binary")
    result = with_workdir(args, measure_forward)
    print(f"Forward tokens/s, {result['model']}, lathe on {args.target}, {peer_note(args)}")
    print_peer_setup(args, result["peer"])
    label = result["peer"]["label"]
    width = max(10, len(label))
    header = f"{'B x T':<10} {'lathe':>10} {label:>{width}} {'lathe/torch':>12}"
    print(header)
    print("-" * len(header))
    for r in result["rows"]:
        print(f"{r['shape']:<10} {r['lathe_tokens_per_s']:>10.1f} {r['torch_tokens_per_s']:>{width}.1f} "
              f"{ratio(r['lathe_tokens_per_s'], r['torch_tokens_per_s']):>12}")
    for r in result["rows"]:
        if r["kernels"]:
            print_kernel_table(f"B x T = {r['shape']}", r["kernels"])
    print_logits_check(result["logits_check"])
    if args.json:
        write_json(args.json, dict(result, threads=args.threads, openblas_coretype=args.openblas_coretype))
    return 0 if result["logits_check"]["ok"] else 1


# --------------------------------------------------------------------------
# all: the issue's four numbers and their goals in one table.

def measure_matmul(args):
    rounds = []
    for _ in range(args.repeat):
        lathe = run_lathe(args.matmul_binary, args.threads, args.runs, GOAL_MATMUL_SHAPES)
        rounds.append((lathe, run_peer("numpy", lathe, args.threads, args.runs, args.openblas_coretype),
                       run_peer("torch", lathe, args.threads, args.runs, args.openblas_coretype)))
    rows = []
    for name in GOAL_MATMUL_SHAPES:
        def median_of(pick):
            values = [pick(round_) for round_ in rounds]
            return statistics.median(values) if all(v is not None for v in values) else None
        rows.append({"shape": name,
                     "lathe_gflops": median_of(lambda r: next(x["gflops"] for x in r[0] if x["shape"] == name)),
                     "numpy_gflops": median_of(lambda r: r[1].get(name)),
                     "torch_gflops": median_of(lambda r: r[2].get(name))})
    return rows


def format_cell(value, digits=1):
    return f"{value:.{digits}f}" if value is not None else "n/a"


def goal_row(name, unit, lathe, numpy_value, torch_value, goal_text, goal_met):
    return {"benchmark": name, "unit": unit, "lathe": lathe, "numpy": numpy_value, "torch": torch_value,
            "lathe/numpy": lathe / numpy_value if lathe and numpy_value else None,
            "lathe/torch": lathe / torch_value if lathe and torch_value else None,
            "goal": goal_text, "met": goal_met}


def cmd_all(args):
    require_binary(args.binary, "lathe-bench-forward", "--binary")
    require_binary(args.matmul_binary, "lathe-bench-matmul", "--matmul-binary")
    table = []
    for r in measure_matmul(args):
        size = r["shape"].split("_")[1]
        share = r["lathe_gflops"] / r["numpy_gflops"] if r["numpy_gflops"] else None
        table.append(goal_row(f"sgemm {size}^3", "GFLOP/s", r["lathe_gflops"], r["numpy_gflops"], r["torch_gflops"],
                              f"lathe/numpy >= {SGEMM_GOAL:.2f}", share is not None and share >= SGEMM_GOAL))
    forward = with_workdir(args, measure_forward)
    for r in forward["rows"]:
        speedup = r["lathe_tokens_per_s"] / r["torch_tokens_per_s"]
        table.append(goal_row(f"forward {r['shape']}", "tokens/s", r["lathe_tokens_per_s"], None,
                              r["torch_tokens_per_s"], f"lathe/torch >= {FORWARD_GOAL:.2f}", speedup >= FORWARD_GOAL))
    print(f"Lathe vs numpy/OpenBLAS and PyTorch {forward['model']} forward, {peer_note(args)}")
    if args.target == "cuda":
        print(f"forward peer: {forward['peer']['setup']}; sgemm rows: lathe and the peers on the CPU")
    header = f"{'benchmark':<18} {'unit':<9} {'lathe':>8} {'numpy':>8} {'torch':>8} {'l/numpy':>8} {'l/torch':>8}  " \
             f"{'goal':<19} {'met':<3}"
    print(header)
    print("-" * len(header))
    for row in table:
        print(f"{row['benchmark']:<18} {row['unit']:<9} {format_cell(row['lathe']):>8} {format_cell(row['numpy']):>8} "
              f"{format_cell(row['torch']):>8} {format_cell(row['lathe/numpy'], 2):>8} "
              f"{format_cell(row['lathe/torch'], 2):>8}  {row['goal']:<19} {'yes' if row['met'] else 'no':<3}")
    print_logits_check(forward["logits_check"])
    if args.json:
        write_json(args.json, {"threads": args.threads, "openblas_coretype": args.openblas_coretype,
                               "runs": args.runs, "repeat": args.repeat, "table": table, "forward": forward})
    return 0 if forward["logits_check"]["ok"] else 1


# --------------------------------------------------------------------------
# train: lathe-bench-train vs bench/torch_train.py, same weights and ids, one process per run.

def parse_train_configs(text):
    """MODEL:BxT,... e.g. examples/gpt2.yaml:4x64,examples/gpt_small.yaml:8x256."""
    configs = []
    for item in text.split(","):
        model, sep, shape = item.strip().rpartition(":")
        if not sep or not model:
            raise argparse.ArgumentTypeError(f"config '{item}' is not MODEL:BxT (e.g. examples/gpt2.yaml:4x64)")
        configs.append((model, parse_shapes(shape)[0]))
    return configs


def prepare_train_model(args, model, shape, workdir):
    """Exports the model (weights for the peer), compiles that export with --train, writes seeded (B, T+1) ids."""
    import numpy as np
    require_binary(args.lathe, "lathe", "--lathe")
    os.makedirs(workdir, exist_ok=True)
    export_dir, artifact, ids = (os.path.join(workdir, n) for n in ("model", "train.lathe", "ids.npy"))
    for command in ([args.lathe, "export", model, "-o", export_dir, "--format", "lathe"],
                    [args.lathe, "compile", export_dir, "--train", "--no-infer", "--target", compile_targets(args),
                     "--max-batch", str(shape[0]), "--max-seq", str(shape[1]), "-o", artifact]):
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench.py: {' '.join(command)} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    with open(os.path.join(export_dir, "model.json")) as f:
        spec = json.load(f)
    np.save(ids, np.random.default_rng(7).integers(0, spec["vocab_size"], size=(shape[0], shape[1] + 1),
                                                   dtype=np.int32))
    return export_dir, artifact, ids, spec


def time_train_round(args, export_dir, artifact, ids):
    """One fresh process each, lathe first, so peak RSS is each process's own."""
    common = ["--ids", ids, "--threads", str(args.threads), "--warmup", str(args.warmup), "--runs", str(args.runs)]
    lathe = run_json_lines([args.binary, artifact, *common, *device_options(args)], "lathe-bench-train")[0]
    peer = run_json_lines([PYTHON, TORCH_TRAIN, export_dir, *common, *peer_device_options(args)],
                          "the PyTorch training peer", peer_environment(args.threads, args.openblas_coretype))[0]
    return lathe, peer


def peak_memory_keys(report):
    """The peer's peak memory and its value before the model: GPU memory when it trained on CUDA, else RSS."""
    if "peak_gpu_bytes" in report:
        return "peak_gpu_bytes", "gpu_before_model_bytes"
    return "peak_rss_bytes", "rss_before_model_bytes"


def train_row(args, model, shape, spec, rounds):
    def median_of(side, key):
        return statistics.median(r[side][key] for r in rounds)

    def memory(side):
        peak_key, before_key = peak_memory_keys(rounds[0][side])
        peak = median_of(side, peak_key)
        return peak / 2**20, (peak - median_of(side, before_key)) / 2**20

    lathe_loss, torch_loss = rounds[0][0]["first_loss"], rounds[0][1]["first_loss"]
    rel_diff = abs(lathe_loss - torch_loss) / abs(torch_loss)
    (lathe_peak, lathe_model), (torch_peak, torch_model) = memory(0), memory(1)
    return {"model": spec["name"], "file": model, "shape": shape_name(shape), "batch": shape[0], "seq": shape[1],
            "lathe_tokens_per_s": median_of(0, "tokens_per_s"), "torch_tokens_per_s": median_of(1, "tokens_per_s"),
            "lathe_rounds": [r[0]["tokens_per_s"] for r in rounds],
            "torch_rounds": [r[1]["tokens_per_s"] for r in rounds],
            "lathe_peak_rss_mib": lathe_peak, "torch_peak_rss_mib": torch_peak,
            "lathe_model_rss_mib": lathe_model, "torch_model_rss_mib": torch_model,
            "lathe_first_loss": lathe_loss, "torch_first_loss": torch_loss,
            "loss_rel_diff": rel_diff, "loss_ok": rel_diff < LOSS_TOLERANCE,
            "kernels": rounds[0][0].get("kernels"), "peer": peer_description(args, rounds[0][1]),
            "torch_memory": "gpu" if "peak_gpu_bytes" in rounds[0][1] else "rss"}


def measure_train(args, workdir):
    rows = []
    for index, (model, shape) in enumerate(args.configs):
        export_dir, artifact, ids, spec = prepare_train_model(args, model, shape, os.path.join(workdir, str(index)))
        rounds = [time_train_round(args, export_dir, artifact, ids) for _ in range(args.repeat)]
        rows.append(train_row(args, model, shape, spec, rounds))
    return rows


# The train default: the issue's GPT-2 124M step at B=16, T=1024 on a GPU; shapes a 2-core CPU measures in minutes.
TRAIN_CONFIGS = {"cpu": "examples/gpt2.yaml:4x64,examples/gpt_small.yaml:8x256",
                 "cuda": "examples/gpt2.yaml:16x1024"}


def cmd_train(args):
    require_binary(args.binary, "lathe-bench-train", "--binary")
    if args.configs is None:
        args.configs = parse_train_configs(TRAIN_CONFIGS.get(args.target, TRAIN_CONFIGS["cpu"]))
    rows = with_workdir(args, measure_train)
    print(f"Training step (micro-step + AdamW) tokens/s and peak RSS, lathe on {args.target}, {peer_note(args)}")
    print_peer_setup(args, rows[0]["peer"])
    label = rows[0]["peer"]["label"]
    on_gpu = rows[0]["torch_memory"] == "gpu"
    rate, peak, above = f"{label} tok/s", f"{label} {'GPU ' if on_gpu else ''}MiB", f"{label} +MiB"
    widths = [max(11, len(rate)), max(9, len(peak)), max(10, len(above))]
    header = f"{'model':<10} {'B x T':<7} {'lathe tok/s':>11} {rate:>{widths[0]}} {'l/torch':>7}  " \
             f"{'lathe MiB':>9} {peak:>{widths[1]}}  {'lathe +MiB':>10} {above:>{widths[2]}}  {'loss rel diff':>13}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['model']:<10} {r['shape']:<7} {r['lathe_tokens_per_s']:>11.1f} "
              f"{r['torch_tokens_per_s']:>{widths[0]}.1f} "
              f"{ratio(r['lathe_tokens_per_s'], r['torch_tokens_per_s']):>7}  {r['lathe_peak_rss_mib']:>9.0f} "
              f"{r['torch_peak_rss_mib']:>{widths[1]}.0f}  {r['lathe_model_rss_mib']:>10.0f} "
              f"{r['torch_model_rss_mib']:>{widths[2]}.0f}  "
              f"{r['loss_rel_diff']:>13.2e}{'' if r['loss_ok'] else ' MISMATCH'}")
    for r in rows:
        if r["kernels"]:
            print_kernel_table(f"{r['model']} {r['shape']} train_micro_step", r["kernels"])
    print("MiB: peak RSS of the process (ru_maxrss); +MiB: that peak minus the RSS just before the model was loaded "
          "(runtime/interpreter and libraries excluded).")
    if on_gpu:
        print(f"{peak}: torch.cuda.max_memory_allocated (tensors on the GPU; the caching allocator reserves more); "
              f"lathe's MiB is host RSS only, its device buffers are not in it.")
    print(f"first-step loss check: |lathe - torch| / |torch| < {LOSS_TOLERANCE:.0e}: "
          + ("ok" if all(r["loss_ok"] for r in rows) else "MISMATCH: the two do not compute the same loss"))
    if args.json:
        write_json(args.json, {"threads": args.threads, "openblas_coretype": args.openblas_coretype,
                               "runs": args.runs, "warmup": args.warmup, "repeat": args.repeat, "rows": rows})
    return 0 if all(r["loss_ok"] for r in rows) else 1


# --------------------------------------------------------------------------
# profile: perf samples of lathe-bench-forward, grouped by kernel kind.

# First match wins; symbols are perf's demangled names. Every CPU kernel's
# symbol has "ThreadPool&" in its argument list, so the pool comes last.
KERNEL_KINDS = (
    ("gemm: epilogue (bias/act/residual)", re.compile(r"epilogue")),
    ("gemm: packing A and B panels", re.compile(r"pack[A-Z]")),
    ("gemm: micro-kernel, blocking", re.compile(r"microKernel|gemm|GemmPlan")),
    ("attention", re.compile(r"attention")),
    ("norms", re.compile(r"layerNorm|rmsNorm")),
    ("elementwise", re.compile(r"binary|unary|swiglu|rope|embedding|Positions|addRowInPlace")),
    ("thread pool (spin, wake, join)", re.compile(r"ThreadPool")),
)
PERF_LINE = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$")


def kernel_kind(dso, symbol):
    for kind, pattern in KERNEL_KINDS:
        if pattern.search(symbol):
            return kind
    if dso == "[kernel.kallsyms]":
        return "OS (page faults, scheduling)"
    return "other runtime/libc" if dso.startswith("liblathe") or dso.startswith("libc") else f"other ({dso})"


def profile_shape(args, artifact, shape, workdir):
    data = os.path.join(workdir, f"perf-{shape_name(shape)}.data")
    command = ["perf", "record", "-q", "-F", str(args.frequency), "-o", data, "--",
               *lathe_forward_command(args, artifact, "--batch", str(shape[0]), "--seq", str(shape[1]),
                                      "--runs", str(args.runs))]
    timing = run_json_lines(command, "perf record")[0]
    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,sym",
                             "--percent-limit", "0"], capture_output=True, text=True)
    if report.returncode != 0:
        sys.exit(f"bench.py: perf report failed:\n{report.stderr.strip()}")
    shares = {}
    for line in report.stdout.splitlines():
        match = PERF_LINE.match(line)
        if match:
            kind = kernel_kind(match.group(2), match.group(4))
            shares[kind] = shares.get(kind, 0.0) + float(match.group(1))
    return {"shape": shape_name(shape), "median_s": timing["median_s"], "tokens_per_s": timing["tokens_per_s"],
            "percent_by_kind": dict(sorted(shares.items(), key=lambda kv: -kv[1]))}


def cmd_profile(args):
    require_binary(args.binary, "lathe-bench-forward", "--binary")
    if subprocess.run(["perf", "--version"], capture_output=True).returncode != 0:
        sys.exit("bench.py: profile needs `perf` (Debian package linux-perf)")

    def measure(args, workdir):
        _, artifact, spec = prepare_model(args, workdir)
        return spec["name"], [profile_shape(args, artifact, shape, workdir) for shape in args.shapes]

    model, profiles = with_workdir(args, measure)
    print(f"Where lathe's forward time goes, {model}, {args.threads} threads: share of CPU samples "
          f"({args.warmup} warm-up + {args.runs} timed runs, artifact load included)")
    for p in profiles:
        print(f"\nB x T = {p['shape']}: median {p['median_s'] * 1e3:.1f} ms per forward, "
              f"{p['tokens_per_s']:.1f} tokens/s")
        for kind, percent in p["percent_by_kind"].items():
            print(f"  {kind:<36} {percent:6.1f}%  ~{percent / 100 * p['median_s'] * 1e3:8.1f} ms")
    if args.json:
        write_json(args.json, {"model": model, "threads": args.threads, "profiles": profiles})
    return 0


def add_forward_options(parser, with_peer=True):
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shapes", type=parse_shapes, default=parse_shapes("4x64,4x256"),
                        help="comma-separated BxT (default 4x64,4x256); the first is also the logits check's")
    parser.add_argument("--model", default="examples/gpt2.yaml", help="model file or directory (lathe export input)")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per shape (median is reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per shape first")
    parser.add_argument("--lathe", default="build/bin/lathe", help="path of the lathe tool")
    parser.add_argument("--binary", default="build/bin/lathe-bench-forward", help="path of lathe-bench-forward")
    parser.add_argument("--workdir", help="keep the exported model and artifact here (default: a temporary dir)")
    parser.add_argument("--json", help="also write the results to this file")
    add_target_option(parser)
    if with_peer:
        parser.add_argument("--repeat", type=int, default=1,
                            help="rounds of lathe-then-peer timing; the median over rounds is reported")
        add_coretype_option(parser)


def add_target_option(parser):
    parser.add_argument("--target", choices=("cpu", "vulkan", "cuda"), default="cpu",
                        help="where lathe runs: cpu, vulkan or cuda (artifacts compiled for cpu,TARGET; per-kernel "
                             "device times are printed too). On cuda the PyTorch peers run on the same GPU (fp32, "
                             "TF32 off) when torch can use CUDA, else on the CPU, saying so; on vulkan they stay on "
                             "the CPU (on lavapipe, Mesa's CPU Vulkan, speed is not meaningful)")
    parser.add_argument("--device", default=None,
                        help="device for a GPU --target, e.g. vulkan:1 or cuda:1 (default: the target's first)")


def add_coretype_option(parser):
    parser.add_argument("--openblas-coretype", default=None,
                        help="set OPENBLAS_CORETYPE for the peers (for CPUs OpenBLAS 0.3.21 does not recognise, "
                             "where it falls back to slow generic kernels; e.g. SkylakeX)")


# --------------------------------------------------------------------------
# tokenizer: lathe-bench-tokenizer vs tiktoken, both given data/gpt2, one thread.

# Runs inside the tiktoken peer subprocess: argv[1] = JSON job (files, runs, gpt2 dir).
TIKTOKEN_SCRIPT = r"""
import json, statistics, sys, time
import tiktoken
job = json.loads(sys.argv[1])
with open(job["gpt2"] + "/encoder.json", encoding="utf-8") as f:
    encoder = json.load(f)
printable = list(range(33, 127)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
byte_of, extra = {}, 0
for b in range(256):
    if b in printable:
        byte_of[chr(b)] = b
    else:
        byte_of[chr(256 + extra)] = b
        extra += 1
special = {"<|endoftext|>": encoder["<|endoftext|>"]}
ranks = {bytes(byte_of[c] for c in t): r for t, r in encoder.items() if t not in special}
pattern = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
enc = tiktoken.Encoding("gpt2_local", pat_str=pattern, mergeable_ranks=ranks, special_tokens=special)
text = "".join(open(path, encoding="utf-8").read() for path in job["files"])
size = len(text.encode("utf-8"))
rates = []
for _ in range(job["runs"]):
    start = time.perf_counter()
    ids = enc.encode_ordinary(text)
    rates.append(size / 1e6 / (time.perf_counter() - start))
checksum = 1469598103934665603
for i in ids:
    checksum = ((checksum ^ i) * 1099511628211) % (1 << 64)
print(json.dumps({"version": tiktoken.__version__, "tokens": len(ids), "encode_mb_per_s": statistics.median(rates),
                  "checksum": str(checksum)}))
"""


def cmd_tokenizer(args):
    if not os.path.isfile(args.binary):
        sys.exit(f"bench.py: {args.binary} not found; build the lathe-bench-tokenizer target or pass --binary")
    files = args.files or [os.path.join(args.corpora, name) for name in sorted(os.listdir(args.corpora))
                           if name.endswith(".txt")]
    lathe = json.loads(subprocess.run([args.binary, "--tokenizer", args.gpt2, "--runs", str(args.runs)] + files,
                                      check=True, capture_output=True, text=True).stdout)
    job = json.dumps({"files": files, "runs": args.runs, "gpt2": args.gpt2})
    proc = subprocess.run([PYTHON, "-c", TIKTOKEN_SCRIPT, job], capture_output=True, text=True,
                          env=dict(os.environ, RAYON_NUM_THREADS="1"))
    peer = json.loads(proc.stdout) if proc.returncode == 0 else None
    if peer is None:
        print(f"bench.py: tiktoken peer failed (pip install tiktoken):\n{proc.stderr.strip()}", file=sys.stderr)
    print(f"GPT-2 encoding, single-threaded, {lathe['bytes'] / 1e6:.1f} MB of text, median of {args.runs} runs")
    print(f"{'':<18} {'MB/s':>8} {'tokens':>10}")
    print(f"{'lathe':<18} {lathe['encode_mb_per_s']:>8.2f} {lathe['tokens']:>10}")
    if peer:
        print(f"{'tiktoken ' + peer['version']:<18} {peer['encode_mb_per_s']:>8.2f} {peer['tokens']:>10}")
        print(f"lathe/tiktoken: {ratio(lathe['encode_mb_per_s'], peer['encode_mb_per_s'])}x; "
              f"ids identical: {'yes' if peer['checksum'] == lathe['checksum'] else 'NO'}")
    print(f"lathe: decode {lathe['decode_mb_per_s']:.0f} MB/s, round trip {'ok' if lathe['round_trip'] else 'FAILED'}, "
          f"load {lathe['load_ms']:.0f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"lathe": lathe, "tiktoken": peer}, f, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    decode_bench.add_decode_command(sub)
    matmul = sub.add_parser("matmul", help="GEMM GFLOP/s: lathe vs numpy vs torch")
    matmul.add_argument("--threads", type=int, default=2)
    matmul.add_argument("--runs", type=int, default=9, help="timed runs per shape (median is reported)")
    matmul.add_argument("--binary", default="build/bin/lathe-bench-matmul", help="path of lathe-bench-matmul")
    matmul.add_argument("--gpu-binary", default="build/bin/lathe-bench-gpu-matmul",
                        help="path of lathe-bench-gpu-matmul (GPU targets)")
    add_coretype_option(matmul)
    add_target_option(matmul)
    matmul.add_argument("--json", help="also write the results to this file")
    matmul.set_defaults(func=cmd_matmul)

    forward = sub.add_parser("forward", help="forward tokens/s: lathe vs the same model in PyTorch")
    add_forward_options(forward)
    forward.set_defaults(func=cmd_forward)

    every = sub.add_parser("all", help="sgemm 1024^3/2048^3 and forward, one table with the goals")
    add_forward_options(every)
    every.add_argument("--matmul-binary", default="build/bin/lathe-bench-matmul", help="path of lathe-bench-matmul")
    every.set_defaults(func=cmd_all)

    train = sub.add_parser("train", help="training step tokens/s and peak RSS: lathe vs PyTorch + AdamW")
    train.add_argument("--configs", type=parse_train_configs, default=None,
                       help=f"comma-separated MODEL:BxT (default {TRAIN_CONFIGS['cpu']}; "
                            f"with --target cuda {TRAIN_CONFIGS['cuda']})")
    train.add_argument("--threads", type=int, default=2)
    train.add_argument("--runs", type=int, default=5, help="timed steps per process (median is reported)")
    train.add_argument("--warmup", type=int, default=1, help="untimed steps first (>= 1; the first gives the loss)")
    train.add_argument("--repeat", type=int, default=1,
                       help="rounds of lathe-then-peer processes; the median over rounds is reported")
    train.add_argument("--lathe", default="build/bin/lathe", help="path of the lathe tool")
    train.add_argument("--binary", default="build/bin/lathe-bench-train", help="path of lathe-bench-train")
    train.add_argument("--workdir", help="keep the exported models, artifacts and ids here (default: a temporary dir)")
    train.add_argument("--json", help="also write the results to this file")
    add_coretype_option(train)
    add_target_option(train)
    train.set_defaults(func=cmd_train)

    profile = sub.add_parser("profile", help="lathe forward time by kernel kind (needs perf)")
    add_forward_options(profile, with_peer=False)
    profile.set_defaults(runs=5, warmup=1)
    profile.add_argument("--frequency", type=int, default=999, help="perf samples per second")
    profile.set_defaults(func=cmd_profile)

    tokenizer = sub.add_parser("tokenizer", help="GPT-2 BPE encoding MB/s: lathe vs tiktoken")
    tokenizer.add_argument("files", nargs="*", help="text files (default: every .txt under --corpora)")
    tokenizer.add_argument("--corpora", default="/work/shared/data/corpora")
    tokenizer.add_argument("--gpt2", default="data/gpt2", help="directory with encoder.json and vocab.bpe")
    tokenizer.add_argument("--runs", type=int, default=5, help="timed runs (median is reported)")
    tokenizer.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)  # encoding is single-threaded
    tokenizer.add_argument("--binary", default="build/bin/lathe-bench-tokenizer", help="path of lathe-bench-tokenizer")
    tokenizer.add_argument("--json", help="also write the results to this file")
    tokenizer.set_defaults(func=cmd_tokenizer)
    args = parser.parse_args()
    if args.threads < 1 or args.runs < 1 or getattr(args, "repeat", 1) < 1 or getattr(args, "warmup", 0) < 0:
        parser.error("--threads, --runs and --repeat must be >= 1, --warmup >= 0")
    if args.command == "train" and args.warmup < 1:
        parser.error("train: --warmup must be >= 1 (the first step's loss is the cross-check)")
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
