#!/usr/bin/python3
"""Lathe benchmarks against PyTorch and NumPy on the CPU.

Subcommands:
  matmul     lathe::cpu::gemm (bench/matmul.cpp) vs numpy sgemm and torch.matmul.
  tokenizer  GPT-2 BPE encoding MB/s (bench/tokenizer.cpp) vs tiktoken, single-threaded.

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
    matmul = sub.add_parser("matmul", help="GEMM GFLOP/s: lathe vs numpy vs torch")
    matmul.add_argument("--threads", type=int, default=2)
    matmul.add_argument("--runs", type=int, default=9, help="timed runs per shape (median is reported)")
    matmul.add_argument("--binary", default="build/bin/lathe-bench-matmul", help="path of lathe-bench-matmul")
    matmul.add_argument("--openblas-coretype", default=None,
                        help="set OPENBLAS_CORETYPE for the peers (for CPUs OpenBLAS 0.3.21 does not recognise, "
                             "where it falls back to slow generic kernels; e.g. SkylakeX)")
    matmul.add_argument("--json", help="also write the results to this file")
    matmul.set_defaults(func=cmd_matmul)
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
    if args.threads < 1 or args.runs < 1:
        parser.error("--threads and --runs must be >= 1")
    args.func(args)


if __name__ == "__main__":
    main()
