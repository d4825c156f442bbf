#!/usr/bin/python3
"""Lathe benchmarks against PyTorch and NumPy on the CPU.

Subcommands:
  matmul   lathe::cpu::gemm (bench/matmul.cpp) vs numpy sgemm and torch.matmul.
  decode   generation tokens/s vs a PyTorch KV cache (bench/decode_bench.py).

Peers run in subprocesses with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from
the environment (they force OpenBLAS onto AVX2 kernels) and with
OPENBLAS_NUM_THREADS set to the thread count; see docs in
/work/shared/notes/toolchain.md "Measuring against PyTorch".
"""
import argparse
import json
import os
import subprocess
import sys

import decode_bench

PYTHON = "/usr/bin/python3"

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


def peer_environment(threads, coretype):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def run_lathe(binary, threads, runs):
    if not os.path.isfile(binary):
        sys.exit(f"bench.py: {binary} not found; build the lathe-bench-matmul target or pass --binary")
    out = subprocess.run([binary, "--threads", str(threads), "--runs", str(runs)],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


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


def cmd_matmul(args):
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    decode_bench.add_decode_command(sub)
    matmul = sub.add_parser("matmul", help="GEMM GFLOP/s: lathe vs numpy vs torch")
    matmul.add_argument("--threads", type=int, default=2)
    matmul.add_argument("--runs", type=int, default=9, help="timed runs per shape (median is reported)")
    matmul.add_argument("--binary", default="build/bin/lathe-bench-matmul", help="path of lathe-bench-matmul")
    matmul.add_argument("--openblas-coretype", default=None,
                        help="set OPENBLAS_CORETYPE for the peers (for CPUs OpenBLAS 0.3.21 does not recognise, "
                             "where it falls back to slow generic kernels; e.g. SkylakeX)")
    matmul.add_argument("--json", help="also write the results to this file")
    matmul.set_defaults(func=cmd_matmul)
    args = parser.parse_args()
    if args.threads < 1 or args.runs < 1:
        parser.error("--threads and --runs must be >= 1")
    args.func(args)


if __name__ == "__main__":
    main()
