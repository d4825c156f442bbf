"""End-to-end forward tests: lathe's logits against the PyTorch reference.

For every model file in configs/: `lathe export` it, give the exported weights
seeded random values that exercise every parameter (non-zero biases, norm
weights other than one), `lathe compile` the directory and `lathe run` it on
one sequence (T=1, T=context) and on a (3, T) batch; the reference
(tests/reference/lathe_ref.py, float64) computes the expected logits.
Also: Hugging Face GPT-2 / Llama directories written by the reference, and
errors reported through the CLI.

fp16 weights (fwd16/<config>): the same export compiled with `--weight-dtype
f16`, run on the (3, T) batch. The reference uses the same weights rounded to
fp16 (round to nearest even, as the compiler rounds them) and computes in
float64, so lathe's only extra error is its f32 arithmetic and the tolerance
stays REL_TOL; the rounding itself (about 5e-4 relative per weight) is not an
error of lathe's.

Usage: test_forward.py --lathe PATH --workdir DIR [-k NAME ...]
Case names: fwd/<config>/<run>, fwd16/<config>, hf/<layout>, err/<what>; -k
keeps the cases whose name contains any of the given strings.
"""

import os
import re
import subprocess
import sys

import numpy as np
import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import lathe_ref  # noqa: E402
from suite_runner import CONFIG_DIR, CaseFailure, ConfigSuite, compile_targets, run_suite  # noqa: E402,F401 (re-exported to the other suites)

REL_TOL, ABS_TOL = 1e-4, 1e-5
COMMAND_TIMEOUT_S = 300
EXPORT_SEED = 1234
BATCH = 3
PRE_NORM_BLOCK = ["ln1 = norm(x)", "attn = attention(ln1)", "r1 = add(x, attn)",
                  "ln2 = norm(r1)", "mlp = mlp(ln2)", "out = add(r1, mlp)"]


class Lathe:
    """Runs the lathe CLI; a non-zero exit becomes a CaseFailure with its stderr."""

    def __init__(self, binary: str, device: str = "cpu"):
        self.binary = binary
        self.device = device

    def call(self, *args: str) -> subprocess.CompletedProcess:
        try:
            return subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise CaseFailure(f"`lathe {' '.join(args)}` ran over {COMMAND_TIMEOUT_S} s")

    def check(self, *args: str) -> None:
        result = self.call(*args)
        if result.returncode != 0:
            raise CaseFailure(f"`lathe {' '.join(args)}` exited {result.returncode}: {result.stderr.strip()[-800:]}")

    def compile(self, model: str, artifact: str, max_seq: int, *extra: str) -> None:
        self.check("compile", model, "--target", compile_targets(self.device), "-o", artifact,
                   "--max-batch", str(BATCH), "--max-seq", str(max_seq), *extra)

    def run_tokens(self, artifact: str, ids: np.ndarray, out: str) -> np.ndarray:
        self.check("run", artifact, "--device", self.device, "--tokens", ",".join(str(i) for i in ids[0]),
                   "--dump-logits", out)
        return np.load(out)

    def run_file(self, artifact: str, ids: np.ndarray, out: str) -> np.ndarray:
        tokens_file = out[:-len(".npy")] + ".tokens.npy"
        np.save(tokens_file, ids.astype(np.int32))
        self.check("run", artifact, "--device", self.device, "--tokens-file", tokens_file, "--dump-logits", out)
        return np.load(out)


def compare(got: np.ndarray, ref: torch.Tensor) -> str:
    """Checks lathe's logits against the float64 reference; returns a summary."""
    ref = ref.numpy()
    if got.shape != ref.shape:
        raise CaseFailure(f"logits shape {got.shape}, expected {ref.shape}")
    if got.dtype != np.float32:
        raise CaseFailure(f"logits dtype {got.dtype}, expected float32")
    if not np.all(np.isfinite(got)):
        raise CaseFailure("logits contain NaN or Inf")
    diff = np.abs(got.astype(np.float64) - ref)
    scale = max(np.abs(ref).max(), 1e-6)
    worst_rel = diff.max() / scale
    bad = diff > REL_TOL * np.abs(ref) + ABS_TOL
    summary = f"worst_rel={worst_rel:.2e} max_abs={diff.max():.2e} max|ref|={scale:.3g}"
    if worst_rel > REL_TOL or bad.any():
        where = np.unravel_index(np.argmax(diff - REL_TOL * np.abs(ref)), diff.shape)
        raise CaseFailure(f"{summary}; {int(bad.sum())} elements out of tolerance, worst at {tuple(int(i) for i in where)}: "
                          f"lathe {got[where]:.7g} vs reference {ref[where]:.7g}")
    return summary


def random_ids(vocab: int, batch: int, length: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab, size=(batch, length))


class Suite(ConfigSuite):
    def __init__(self, lathe: Lathe, workdir: str):
        super().__init__(workdir)
        self.lathe = lathe
        self.f16_artifacts = {}  # config -> its export compiled with --weight-dtype f16

    # --- lathe-format models from the configs -------------------------------

    def _prepare(self, config: str):
        """Export, re-seed the weights, compile (ConfigSuite.prepare runs it once per config)."""
        base = self.dir_for(config)
        exported = os.path.join(base, "model")
        self.lathe.check("export", os.path.join(CONFIG_DIR, config + ".yaml"), "-o", exported,
                         "--format", "lathe", "--seed", str(EXPORT_SEED))
        try:
            model = lathe_ref.load_model(exported)
        except (OSError, ValueError, KeyError) as error:
            raise CaseFailure(f"the reference cannot read the export: {error}")
        expected = lathe_ref.canonical_shapes(model.spec)
        found = {name: tuple(t.shape) for name, t in model.weights.items()}
        if found != expected:
            missing = sorted(set(expected) - set(found))
            extra = sorted(set(found) - set(expected))
            wrong = sorted(n for n in set(found) & set(expected) if found[n] != expected[n])
            raise CaseFailure(f"exported weights differ from the canonical names: missing {missing[:6]}, "
                              f"unexpected {extra[:6]}, wrong shape {wrong[:6]}")
        model.weights = lathe_ref.random_weights(found, seed=EXPORT_SEED)
        lathe_ref.write_safetensors(os.path.join(exported, "model.safetensors"), model.weights)
        artifact = os.path.join(base, "model.lathe")
        self.lathe.compile(exported, artifact, model.spec["context_length"])
        return model, artifact

    def forward_case(self, config: str, run: str) -> str:
        model, artifact = self.prepare(config)
        spec = model.spec
        out = os.path.join(self.workdir, config, f"logits_{run}.npy")
        if run == "T1":
            ids = random_ids(spec["vocab_size"], 1, 1, seed=1)
            got = self.lathe.run_tokens(artifact, ids, out)
        elif run == "Tctx":
            ids = random_ids(spec["vocab_size"], 1, spec["context_length"], seed=2)
            got = self.lathe.run_tokens(artifact, ids, out)
        else:
            length = spec["context_length"] // 2 + 1
            ids = random_ids(spec["vocab_size"], BATCH, length, seed=3)
            got = self.lathe.run_file(artifact, ids, out)
        return compare(got, lathe_ref.forward(model, torch.from_numpy(ids)))

    def f16_case(self, config: str) -> str:
        model, artifact = self.prepare(config)
        if config not in self.f16_artifacts:
            f16_artifact = artifact[:-len(".lathe")] + "_f16.lathe"
            self.lathe.compile(os.path.join(os.path.dirname(artifact), "model"), f16_artifact,
                               model.spec["context_length"], "--weight-dtype", "f16")
            self.f16_artifacts[config] = f16_artifact
        rounded = lathe_ref.Model(model.spec, model.block,
                                  {name: w.to(torch.float16).double() for name, w in model.weights.items()})
        length = model.spec["context_length"] // 2 + 1
        ids = random_ids(model.spec["vocab_size"], BATCH, length, seed=3)
        got = self.lathe.run_file(self.f16_artifacts[config], ids, os.path.join(self.workdir, config, "logits_f16.npy"))
        return compare(got, lathe_ref.forward(rounded, torch.from_numpy(ids)))

    # --- Hugging Face directories written by the reference -------------------

    def hf_spec(self, config: str) -> dict:
        with open(os.path.join(CONFIG_DIR, config + ".yaml")) as f:
            spec = yaml.safe_load(f)
        spec.setdefault("rope_theta", 10000.0)
        spec["block"] = PRE_NORM_BLOCK
        return spec

    def hf_case(self, layout: str) -> str:
        if layout.startswith("gpt2"):
            spec = self.hf_spec("gpt2_tiny")
            spec["tied_embeddings"] = layout != "gpt2_untied"  # an untied head sits beside transformer.*
            model = lathe_ref.random_model(spec, seed=7)
            directory = self.dir_for("hf", layout)
            lathe_ref.write_hf_gpt2(directory, model, with_prefix=(layout != "gpt2_no_prefix"))
        else:
            model = lathe_ref.random_model(self.hf_spec("llama_tiny"), seed=8)
            directory = self.dir_for("hf", layout)
            lathe_ref.write_hf_llama(directory, model)
        artifact = os.path.join(directory, "model.lathe")
        self.lathe.compile(directory, artifact, model.spec["context_length"])
        ids = random_ids(model.spec["vocab_size"], BATCH, model.spec["context_length"], seed=4)
        got = self.lathe.run_file(artifact, ids, os.path.join(directory, "logits.npy"))
        return compare(got, lathe_ref.forward(model, torch.from_numpy(ids)))

    # --- errors through the CLI ----------------------------------------------

    def expect_error(self, args, must_mention, what: str) -> str:
        result = self.lathe.call(*args)
        if result.returncode == 0:
            raise CaseFailure(f"{what}: lathe exited 0")
        if result.returncode < 0:
            raise CaseFailure(f"{what}: lathe died from signal {-result.returncode}: {result.stderr.strip()[-300:]}")
        message = result.stderr.strip()
        if not message:
            raise CaseFailure(f"{what}: exit {result.returncode} but nothing on stderr")
        if not re.search(must_mention, message):
            raise CaseFailure(f"{what}: stderr does not match /{must_mention}/: {message[-300:]}")
        return f"exit {result.returncode}: {message.splitlines()[0][:120]}"

    # A valid model file; each error case changes lines (1-based) or appends some.
    VALID_MODEL_FILE = ["name: bad", "vocab_size: 64", "context_length: 8", "d_model: 16", "layers: 1", "heads: 2",
                        "kv_heads: 2", "d_ff: 32", "norm: layernorm", "positions: learned", "activation: gelu",
                        "bias: true", "tied_embeddings: true"]

    def write_model_file(self, what: str, changed_lines: dict, appended: list) -> str:
        lines = list(self.VALID_MODEL_FILE)
        for number, text in changed_lines.items():
            lines[number - 1] = text
        path = os.path.join(self.dir_for("err", what), what + ".yaml")
        with open(path, "w") as f:
            f.write("\n".join(lines + appended) + "\n")
        return path

    def expect_model_file_error(self, what: str, changed_lines: dict, appended: list, line_pattern: str) -> str:
        path = self.write_model_file(what, changed_lines, appended)
        artifact = os.path.join(os.path.dirname(path), "model.lathe")
        return self.expect_error(["compile", path, "--target", "cpu", "-o", artifact],
                                 rf"{re.escape(what)}\.yaml:{line_pattern}\b", what)

    def error_case(self, what: str) -> str:
        out = os.path.join(self.workdir, "err_logits.npy")
        if what == "token_out_of_range":
            model, artifact = self.prepare("gpt2_tiny")
            vocab = model.spec["vocab_size"]
            return self.expect_error(["run", artifact, "--tokens", f"1,{vocab},2", "--dump-logits", out],
                                     rf"\b{vocab}\b", what)
        if what == "token_file_out_of_range":
            model, artifact = self.prepare("gpt2_tiny")
            ids = random_ids(model.spec["vocab_size"], 2, 4, seed=5)
            ids[1, 2] = model.spec["vocab_size"] + 5
            tokens_file = os.path.join(self.dir_for("err", what), "ids.npy")
            np.save(tokens_file, ids.astype(np.int32))
            return self.expect_error(["run", artifact, "--tokens-file", tokens_file, "--dump-logits", out],
                                     rf"\b{ids[1, 2]}\b", what)
        if what == "longer_than_context":
            model, artifact = self.prepare("gpt2_tiny")
            ctx = model.spec["context_length"]
            tokens = ",".join(["1"] * (ctx + 1))
            return self.expect_error(["run", artifact, "--tokens", tokens, "--dump-logits", out],
                                     rf"\b({ctx}|{ctx + 1})\b", what)
        if what == "missing_model_file":
            path = os.path.join(self.workdir, "no_such_model.yaml")
            return self.expect_error(["compile", path, "--target", "cpu", "-o", out + ".lathe"],
                                     re.escape("no_such_model.yaml"), what)
        if what == "missing_artifact":
            path = os.path.join(self.workdir, "no_such_artifact.lathe")
            return self.expect_error(["run", path, "--tokens", "1", "--dump-logits", out],
                                     re.escape("no_such_artifact.lathe"), what)
        if what == "f16_weights_with_train":
            path = self.write_model_file(what, {}, [])
            return self.expect_error(["compile", path, "--train", "--weight-dtype", "f16", "-o", out + ".lathe"],
                                     re.escape("fp16 weights are for inference artifacts"), what)
        if what == "valid_model_file_compiles":  # the control for the cases below
            path = self.write_model_file(what, {}, [])
            self.lathe.compile(path, os.path.join(os.path.dirname(path), "model.lathe"), 8)
            return "compiles"
        if what == "yaml_syntax":  # yaml-cpp rejects line 4: "illegal map value"
            return self.expect_model_file_error(what, {4: "d_model: 16: 3"}, [], "4")
        if what == "yaml_bad_value":
            return self.expect_model_file_error(what, {11: "activation: tanhh"}, [], "11")
        if what == "yaml_heads_do_not_divide":  # either key is a fair place to point at
            return self.expect_model_file_error(what, {4: "d_model: 30", 6: "heads: 4", 7: "kv_heads: 4"}, [], "(4|6)")
        if what == "yaml_undefined_block_value":
            block = ["block:", '  - "n = norm(x)"', '  - "a = attention(m)"', '  - "out = add(x, a)"']
            return self.expect_model_file_error(what, {}, block, "16")
        raise AssertionError(what)

    ERRORS = ("token_out_of_range", "token_file_out_of_range", "longer_than_context", "missing_model_file",
              "missing_artifact", "f16_weights_with_train", "valid_model_file_compiles", "yaml_syntax", "yaml_bad_value", "yaml_heads_do_not_divide",
              "yaml_undefined_block_value")

    def cases(self):
        for config in self.config_names():
            for run in ("T1", "Tctx", "batch"):
                yield f"fwd/{config}/{run}", lambda c=config, r=run: self.forward_case(c, r)
        for config in self.config_names():
            yield f"fwd16/{config}", lambda c=config: self.f16_case(c)
        for layout in ("gpt2_prefix", "gpt2_no_prefix", "gpt2_untied", "llama"):
            yield f"hf/{layout}", lambda l=layout: self.hf_case(l)
        for what in self.ERRORS:
            yield f"err/{what}", lambda w=what: self.error_case(w)


if __name__ == "__main__":
    sys.exit(run_suite(lambda args: Suite(Lathe(args.lathe, args.device), args.workdir), __doc__))
