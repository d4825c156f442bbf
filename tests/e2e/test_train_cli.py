"""End-to-end training through the CLI on the example model (examples/train_tiny).

Cases (run all, or pick with -k NAME):
  learns    trains on the shipped text and checks that the validation loss falls well
            below the unigram entropy of the text's tokens (threshold printed with the value)
  resume    3 steps + --resume 3 steps gives the bitwise same losses as 6 uninterrupted steps
  dropout   the model with dropout 0.1: resuming is still bit-exact; the first loss differs without
            dropout and with another --seed (sequential batches, so only the masks differ)
  crash     a process killed in the middle of a checkpoint save leaves the previous one loadable
  nan       a diverging run (huge learning rate) stops with the step named, a non-zero exit,
            and the last good checkpoint intact
  grads     --dump-grads writes the first step's gradients under Hugging Face GPT-2 names
  export    `lathe export` of a checkpoint writes config.json + model.safetensors with the trained weights
  errors    bad requests fail with a message naming the problem (no training entry points, 2-D token file,
            --resume without a checkpoint, text without a tokenizer, a batch larger than the artifact's)

Exits 77 (ctest: skipped) when this lathe cannot compile for training (no `compile --train`).
Usage: test_train_cli.py --lathe PATH --workdir DIR [-k NAME ...]
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "train_tiny")
MODEL = os.path.join(EXAMPLE, "model.yaml")
TEXT = os.path.join(EXAMPLE, "pride_and_prejudice.txt")
TOKENIZER = os.path.join(EXAMPLE, "tokenizer")


def run(lathe, *args, env=None, check=True):
    result = subprocess.run([lathe, *map(str, args)], capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"lathe {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr}")
    return result


def safetensors_header(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(size)), 8 + size


def read_tensor(path, name):
    header, start = safetensors_header(path)
    entry = header[name]
    begin, end = entry["data_offsets"]
    with open(path, "rb") as f:
        f.seek(start + begin)
        return np.frombuffer(f.read(end - begin), dtype=np.float32).reshape(entry["shape"])


def losses(log_path):
    with open(log_path) as f:
        return [json.loads(line) for line in f if line.strip()]


class Cases:
    def __init__(self, lathe, workdir):
        self.lathe, self.workdir = lathe, workdir
        self.ids = os.path.join(workdir, "ids.npy")
        run(lathe, "tokenizer", "encode", "-t", TOKENIZER, TEXT, "-o", self.ids)
        self.artifact = os.path.join(workdir, "tiny_train.lathe")
        run(lathe, "compile", MODEL, "--train", "--tokenizer", TOKENIZER, "--max-batch", 8, "--max-seq", 64,
            "--seed", 1, "-o", self.artifact)

    def train(self, *extra, check=True, env=None, artifact=None):
        return run(self.lathe, "train", artifact or self.artifact, "--data", self.ids, "--batch", 4, "--seq", 32,
                   *extra, check=check, env=env)

    def dir(self, name):
        path = os.path.join(self.workdir, name)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        return path

    def learns(self):
        ids = np.load(self.ids)
        counts = np.bincount(ids).astype(np.float64)
        p = counts[counts > 0] / counts.sum()
        entropy = float(-(p * np.log(p)).sum())
        threshold = 0.75 * entropy
        d = self.dir("learns")
        log = os.path.join(d, "metrics.jsonl")
        run(self.lathe, "train", MODEL, "--tokenizer", TOKENIZER, "--data", TEXT, "--batch", 16, "--seq", 64,
            "--steps", 400, "--lr", 2e-3, "--warmup", 40, "--weight-decay", 0.01, "--clip", 1.0, "--seed", 1,
            "--eval-every", 100, "--log", log, "--plot", os.path.join(d, "loss.png"))
        val = [r["val_loss"] for r in losses(log) if "val_loss" in r]
        print(f"learns: unigram entropy of the text's {len(ids)} tokens = {entropy:.4f} nats; "
              f"threshold 0.75 x entropy = {threshold:.4f}; validation loss {' -> '.join(f'{v:.4f}' for v in val)}")
        assert val[-1] < threshold, f"validation loss {val[-1]:.4f} is not below {threshold:.4f}"
        with open(os.path.join(d, "loss.png"), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", "--plot did not write a PNG"

    def resume(self, artifact=None, name="resume"):
        # A constant schedule after warm-up does not depend on --steps, so 4 steps then --resume to 6 must
        # reproduce 6 uninterrupted steps exactly (the unit tests cover cosine with a crash mid-run).
        common = ["--lr", 1e-3, "--warmup", 2, "--schedule", "constant", "--accum", 2, "--seed", 3,
                  "--eval-every", 2, "--clip", 1.0, "--weight-decay", 0.1]
        whole, split = self.dir(name + "_whole"), self.dir(name + "_split")
        self.train("--steps", 6, *common, "--log", os.path.join(whole, "m.jsonl"), artifact=artifact)
        ckpt, log = os.path.join(split, "ckpt"), os.path.join(split, "m.jsonl")
        self.train("--steps", 4, *common, "--checkpoint", ckpt, "--log", log, artifact=artifact)
        self.train("--steps", 6, *common, "--checkpoint", ckpt, "--resume", "--log", log, artifact=artifact)
        a, b = losses(os.path.join(whole, "m.jsonl")), losses(log)
        key = lambda rs: [(r["step"], r["loss"], r["grad_norm"], r.get("val_loss")) for r in rs]
        print(f"{name}: uninterrupted", [r["loss"] for r in a], f"\n{name}: resumed      ", [r["loss"] for r in b])
        assert key(a) == key(b), "the resumed run's losses differ from the uninterrupted run's"
        return a

    def vulkan(self):
        # `lathe train MODEL --device vulkan` compiles for cpu,vulkan in process; the run's losses, gradient norms
        # and validation loss match the same run on the cpu.
        runs = {}
        for device in ("cpu", "vulkan"):
            log = os.path.join(self.dir("device_" + device), "m.jsonl")
            run(self.lathe, "train", MODEL, "--tokenizer", TOKENIZER, "--data", TEXT, "--batch", 4, "--seq", 32,
                "--steps", 6, "--lr", 2e-3, "--seed", 1, "--eval-every", 3, "--log", log, "--device", device)
            runs[device] = losses(log)
        print("vulkan: cpu losses", [r["loss"] for r in runs["cpu"]], "\nvulkan: vulkan losses",
              [r["loss"] for r in runs["vulkan"]])
        assert len(runs["cpu"]) == len(runs["vulkan"]), "the two runs logged different steps"
        for a, b in zip(runs["cpu"], runs["vulkan"]):
            for key in ("loss", "grad_norm", "val_loss"):
                if key in a:
                    assert abs(a[key] - b[key]) <= 1e-4 * abs(a[key]), f"step {a['step']} {key}: {a[key]} vs {b[key]}"

    def dropout(self):
        # The model with dropout 0.1: the masks follow from --seed and the step, so resuming is still exact;
        # the loss differs from the same model's without dropout, and with another --seed.
        d = self.dir("dropout")
        with open(MODEL) as f:
            text = f.read()
        model = os.path.join(d, "model.yaml")
        with open(model, "w") as f:
            f.write(text + "dropout: 0.1\n")
        artifact = os.path.join(d, "dropout.lathe")
        run(self.lathe, "compile", model, "--train", "--tokenizer", TOKENIZER, "--max-batch", 8, "--max-seq", 64,
            "--seed", 1, "-o", artifact)
        self.resume(artifact, "dropout_resume")
        # Sequential batches: the data is the same whatever --seed, so only the masks differ.
        def first_loss(name, seed, with_dropout):
            log = os.path.join(d, name + ".jsonl")
            self.train("--steps", 1, "--no-shuffle", "--seed", seed, "--log", log,
                       artifact=artifact if with_dropout else None)
            return losses(log)[0]["loss"]
        dropped, plain = first_loss("seed3", 3, True), first_loss("plain", 3, False)
        other = first_loss("seed4", 4, True)
        print(f"dropout: first loss {dropped} (seed 3), {other} (seed 4), {plain} without dropout")
        assert dropped != plain, "dropout 0.1 did not change the first loss"
        assert dropped != other, "another --seed gave the same dropout masks"

    def crash(self):
        d = self.dir("crash")
        ckpt = os.path.join(d, "ckpt")
        self.train("--steps", 2, "--lr", 1e-3, "--checkpoint", ckpt)
        size = os.path.getsize(os.path.join(ckpt, "checkpoint.safetensors"))
        killed = self.train("--steps", 4, "--lr", 1e-3, "--checkpoint", ckpt, "--resume", check=False,
                            env=dict(os.environ, LATHE_TEST_CHECKPOINT_ABORT_AFTER_BYTES=str(size // 2)))
        assert killed.returncode != 0, "the save should have been killed"
        assert any(".tmp." in name for name in os.listdir(ckpt)), "no half-written temporary file left behind"
        header, _ = safetensors_header(os.path.join(ckpt, "checkpoint.safetensors"))
        assert header["__metadata__"]["step"] == "2", header["__metadata__"]["step"]
        self.train("--steps", 4, "--lr", 1e-3, "--checkpoint", ckpt, "--resume")
        header, _ = safetensors_header(os.path.join(ckpt, "checkpoint.safetensors"))
        assert header["__metadata__"]["step"] == "4"
        print(f"crash: killed after {size // 2} of {size} bytes; the step-2 checkpoint loaded and training resumed")

    def nan(self):
        d = self.dir("nan")
        ckpt = os.path.join(d, "ckpt")
        result = self.train("--steps", 40, "--lr", 1e30, "--schedule", "constant", "--checkpoint", ckpt,
                            "--checkpoint-every", 1, "--log", os.path.join(d, "m.jsonl"), check=False)
        assert result.returncode != 0, "a diverged run must exit non-zero"
        line = [l for l in result.stderr.splitlines() if "error" in l][-1]
        print("nan:", line)
        assert "is nan" in line or "is inf" in line, result.stderr
        bad_step = int(line.split("step ")[1].split(":")[0])
        header, _ = safetensors_header(os.path.join(ckpt, "checkpoint.safetensors"))
        assert int(header["__metadata__"]["step"]) == bad_step - 1, (header["__metadata__"]["step"], bad_step)
        params = read_tensor(os.path.join(ckpt, "checkpoint.safetensors"), "param.embed.tokens")
        assert np.isfinite(params).all(), "the saved checkpoint holds non-finite parameters"

    def grads(self):
        path = os.path.join(self.dir("grads"), "grads.safetensors")
        self.train("--steps", 1, "--lr", 1e-3, "--dump-grads", path)
        header, _ = safetensors_header(path)
        for name in ["wte.weight", "wpe.weight", "h.0.attn.c_attn.weight", "h.3.mlp.c_proj.bias", "ln_f.weight"]:
            assert name in header, f"{name} missing from {sorted(header)[:8]}..."
        wte = read_tensor(path, "wte.weight")
        assert wte.shape == (512, 128) and np.abs(wte).max() > 0
        print(f"grads: {len(header) - 1} tensors, |d wte|max = {np.abs(wte).max():.3g}")

    def export(self):
        d = self.dir("export")
        ckpt = os.path.join(d, "ckpt")
        self.train("--steps", 2, "--lr", 1e-2, "--checkpoint", ckpt)
        run(self.lathe, "export", ckpt, "-o", os.path.join(d, "hf"))
        wte = read_tensor(os.path.join(d, "hf", "model.safetensors"), "wte.weight")
        trained = read_tensor(os.path.join(ckpt, "checkpoint.safetensors"), "param.embed.tokens")
        assert np.array_equal(wte, trained), "exported weights differ from the checkpoint's"
        with open(os.path.join(d, "hf", "config.json")) as f:
            assert json.load(f)["n_embd"] == 128
        print("export: checkpoint -> config.json + model.safetensors with the trained weights")

    def errors(self):
        d = self.dir("errors")
        plain = os.path.join(d, "plain.lathe")
        run(self.lathe, "compile", MODEL, "--max-batch", 4, "--max-seq", 32, "-o", plain)
        two_d = os.path.join(d, "two_d.npy")
        np.save(two_d, np.zeros((4, 100), dtype=np.int32))
        cases = [
            (["train", plain, "--data", self.ids, "--batch", 4, "--seq", 32], "compile the model with `lathe compile --train`"),
            (["train", self.artifact, "--data", two_d, "--batch", 4, "--seq", 32], "token streams must be 1-D"),
            (["train", self.artifact, "--data", self.ids, "--batch", 4, "--seq", 32, "--checkpoint",
              os.path.join(d, "none"), "--resume"], "cannot open checkpoint"),
            (["train", self.artifact, "--data", TEXT, "--batch", 4, "--seq", 32, "--steps", 1],
             None),  # the artifact embeds the tokenizer: text works
            (["train", plain.replace("plain", "missing"), "--data", self.ids], "cannot open"),
            (["train", self.artifact, "--data", self.ids, "--batch", 9, "--seq", 32],
             "exceeds the artifact's max batch 8"),
        ]
        for args, expected in cases:
            result = run(self.lathe, *args, check=False)
            if expected is None:
                assert result.returncode == 0, result.stderr
                continue
            assert result.returncode != 0 and expected in result.stderr, f"{args}: {result.stderr}"
            print("errors:", result.stderr.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lathe", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("-k", action="append", default=[])
    args = parser.parse_args()
    if "--train" not in run(args.lathe, "compile", "--help").stdout:
        print("SKIPPED: this lathe has no `compile --train` (the compiled training entry points are not built)")
        return 77
    os.makedirs(args.workdir, exist_ok=True)
    cases = Cases(args.lathe, args.workdir)
    names = args.k or ["learns", "resume", "dropout", "crash", "nan", "grads", "export", "errors", "vulkan"]
    failed = []
    for name in names:
        try:
            getattr(cases, name)()
            print(f"PASS {name}")
        except Exception as error:  # noqa: BLE001 - report every case
            failed.append(name)
            print(f"FAIL {name}: {error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
