"""End-to-end training tests: lathe's compiled training steps against PyTorch autograd.

For every model file in configs/: `lathe export` it with seeded random weights
that exercise every parameter, `lathe compile --train`, and run the training
entry points through lathe-train-check (the runtime's Session). The reference
is tests/reference/lathe_ref.py in float64 with torch autograd.

Cases:
  grads/<config>/plain   one train_micro_step: the loss and every grad.<weight> state
  grads/<config>/masked  targets partly -100: PyTorch's ignore_index cross-entropy
  grads/<config>/accum   K micro-batches accumulate to K times the gradient of one
                         batch K times larger (grad_scale 1/K then gives its mean)
  dropout/<config>       dropout 0.25 (gpt2_tiny, parallel_gptj): two micro-batches with rng [seed, 0] and
                         [seed, 1] against autograd with the same masks, recomputed here from the
                         documented hash (targets/cpu/kernels/Dropout.h); and the masks' keep fraction
  adamw/<config>         20 steps of train_micro_step + optimizer_step with warm-up
                         learning rates, clipping and weight decay against
                         torch.optim.AdamW: losses, gradient norms, final weights

Usage: test_train.py --lathe PATH --check PATH --workdir DIR [-k NAME ...]
"""

import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import lathe_ref  # noqa: E402
from suite_runner import CONFIG_DIR, CaseFailure, ConfigSuite, compile_targets, run_suite  # noqa: E402

REL_TOL = 1e-4
ABS_FLOOR = 1e-3  # norm below which a tensor is compared absolutely (1e-7 error allowed)
COMMAND_TIMEOUT_S = 300
EXPORT_SEED = 4321
BATCH, MAX_SEQ = 2, 8
ACCUM_STEPS = 3
ADAM_STEPS = 20
IGNORE = -100


def call(*args: str) -> None:
    try:
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise CaseFailure(f"`{' '.join(args)}` ran over {COMMAND_TIMEOUT_S} s")
    if result.returncode != 0:
        raise CaseFailure(f"`{' '.join(args)}` exited {result.returncode}: {result.stderr.strip()[-800:]}")


def relative_error(got: np.ndarray, ref: torch.Tensor) -> float:
    """||got - ref|| / ||ref||, over the whole tensor (a gradient near zero in
    one element is compared at the scale of the tensor)."""
    ref = ref.detach().numpy()
    if got.shape != ref.shape:
        raise CaseFailure(f"shape {got.shape}, expected {ref.shape}")
    # Some gradients are exactly zero in exact arithmetic (a key bias: softmax
    # ignores a constant shift); compare those against float32 rounding.
    scale = max(np.linalg.norm(ref), ABS_FLOOR)
    return float(np.linalg.norm(got.astype(np.float64) - ref) / scale)


def reference_loss(model, tokens: np.ndarray, targets: np.ndarray) -> torch.Tensor:
    logits = lathe_ref.forward(model, torch.from_numpy(tokens))
    flat_targets = torch.from_numpy(targets.astype(np.int64)).reshape(-1)
    if (flat_targets == IGNORE).all():
        return logits.sum() * 0.0  # lathe: loss 0, no gradient
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), flat_targets, ignore_index=IGNORE)


def reference_grads(model, batches):
    """Sum over micro-batches of each batch's mean-loss gradient, and the losses."""
    params = {name: w.clone().requires_grad_(True) for name, w in model.weights.items()}
    ref_model = lathe_ref.Model(model.spec, model.block, params)
    losses = []
    for tokens, targets in batches:
        loss = reference_loss(ref_model, tokens, targets)
        loss.backward()
        losses.append(loss.item())
    return losses, {name: p.grad if p.grad is not None else torch.zeros_like(p) for name, p in params.items()}


DROPOUT_P = 0.25
DROPOUT_SEED = 5
DROPOUT_CONFIGS = ("gpt2_tiny", "parallel_gptj")
MASK64 = (1 << 64) - 1


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def dropout_mask(seed: int, step: int, stream: int, p: float, n: int) -> np.ndarray:
    """Which of n elements lathe's dropout keeps: the top 24 bits of
    splitmix64(splitmix64(splitmix64(seed << 32 | step) ^ stream) + i) >= ceil(p * 2^24)."""
    first = splitmix64(np.array([((seed & 0xFFFFFFFF) << 32) | (step & 0xFFFFFFFF)], dtype=np.uint64))
    key = splitmix64(first ^ np.uint64(stream))
    with np.errstate(over="ignore"):
        draws = splitmix64(key + np.arange(n, dtype=np.uint64)) >> np.uint64(40)
    return draws >= np.uint64(np.ceil(float(np.float32(p)) * 16777216.0))


def reference_dropout(seed: int, step: int, p: float):
    """drop(h) for lathe_ref.forward: each call is the next dropout site (stream 0, 1, ...)."""
    streams = iter(range(1 << 20))
    scale = float(np.float32(1.0) / (np.float32(1.0) - np.float32(p)))  # the kernel's float32 factor

    def drop(h: torch.Tensor) -> torch.Tensor:
        keep = dropout_mask(seed, step, next(streams), p, h.numel()).reshape(h.shape)
        return h * torch.from_numpy(keep.astype(np.float64)) * scale
    return drop


def decays(name: str, weight: torch.Tensor) -> bool:
    return weight.dim() == 2 and not name.startswith("embed.")


class Suite(ConfigSuite):
    def __init__(self, lathe: str, check: str, workdir: str, device: str = "cpu"):
        super().__init__(workdir)
        self.lathe, self.check_binary, self.device = lathe, check, device

    def check(self, *args):
        """Runs lathe-train-check on this suite's device."""
        call(self.check_binary, "--device", self.device, *args)

    def _prepare(self, config: str):
        """Export with re-seeded weights and compile --train (run once per config by ConfigSuite.prepare)."""
        self.dir_for(config)
        return self._export_and_compile(os.path.join(CONFIG_DIR, config + ".yaml"), config)

    def _export_and_compile(self, source: str, name: str):
        """Exports the model file `source` to workdir/name/model with re-seeded weights, compiles that --train."""
        exported = os.path.join(self.workdir, name, "model")
        call(self.lathe, "export", source, "-o", exported, "--format", "lathe")
        model = lathe_ref.load_model(exported)
        model.weights = lathe_ref.random_weights({n: tuple(w.shape) for n, w in model.weights.items()}, EXPORT_SEED)
        lathe_ref.write_safetensors(os.path.join(exported, "model.safetensors"), model.weights)
        artifact = os.path.join(self.workdir, name, "train.lathe")
        seq = min(MAX_SEQ, model.spec["context_length"])
        call(self.lathe, "compile", exported, "--train", "--target", compile_targets(self.device),
             "--max-batch", str(BATCH), "--max-seq", str(seq), "-o", artifact)
        return model, artifact, seq

    def dropout_case(self, config: str) -> str:
        """Compiles the config with dropout and checks two micro-batches' losses and summed gradients."""
        with open(os.path.join(CONFIG_DIR, config + ".yaml")) as f:
            text = f.read()
        name = config + "_dropout"
        source = os.path.join(self.dir_for(name), "model.yaml")
        with open(source, "w") as f:
            f.write(text.replace(f"name: {config}", f"name: {name}") + f"dropout: {DROPOUT_P}\n")
        model, artifact, seq = self._export_and_compile(source, name)
        batches = [self.batch(model, seq, seed=30 + k) for k in range(2)]
        out = self.dir_for(name, "grads")
        files = []
        for i, (tokens, targets) in enumerate(batches):
            for what, array in (("tokens", tokens), ("targets", targets)):
                files.append(os.path.join(out, f"{what}{i}.npy"))
                np.save(files[-1], array)
        self.check("grads", artifact, out, "--seed", str(DROPOUT_SEED), *files)

        params = {n: w.clone().requires_grad_(True) for n, w in model.weights.items()}
        ref_model = lathe_ref.Model(model.spec, model.block, params)
        ref_losses = []
        for step, (tokens, targets) in enumerate(batches):
            logits = lathe_ref.forward(ref_model, torch.from_numpy(tokens),
                                       reference_dropout(DROPOUT_SEED, step, DROPOUT_P))
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                   torch.from_numpy(targets.astype(np.int64)).reshape(-1))
            loss.backward()
            ref_losses.append(loss.item())
        with torch.no_grad():
            undropped = reference_loss(model, *batches[0]).item()
        if abs(undropped - ref_losses[0]) < 1e-3 * abs(undropped):
            raise CaseFailure(f"dropout did not change the loss ({undropped})")
        grads = {n: p.grad if p.grad is not None else torch.zeros_like(p) for n, p in params.items()}
        summary = self.compare_grads(model, out, ref_losses, grads)
        # The keep fraction over many masks: 5 standard deviations around 1 - p.
        n = 1 << 18
        kept = np.mean([dropout_mask(DROPOUT_SEED, step, stream, DROPOUT_P, n).mean()
                        for step in range(2) for stream in range(4)])
        sigma = np.sqrt(DROPOUT_P * (1 - DROPOUT_P) / (8 * n))
        if abs(kept - (1 - DROPOUT_P)) > 5 * sigma:
            raise CaseFailure(f"keep fraction {kept:.5f}, expected {1 - DROPOUT_P} +- {5 * sigma:.5f}")
        return f"{summary}; keep fraction {kept:.4f}"

    def batch(self, model, seq: int, seed: int, batch: int = BATCH, masked: bool = False):
        rng = np.random.default_rng(seed)
        vocab = model.spec["vocab_size"]
        tokens = rng.integers(0, vocab, size=(batch, seq)).astype(np.int32)
        targets = rng.integers(0, vocab, size=(batch, seq)).astype(np.int32)
        if masked:
            targets[rng.random(size=targets.shape) < 0.4] = IGNORE
            targets[0, :] = IGNORE  # a fully masked sequence too
        return tokens, targets

    def run_grads(self, config: str, name: str, batches):
        model, artifact, _ = self.prepare(config)
        out = self.dir_for(config, name)
        files = []
        for i, (tokens, targets) in enumerate(batches):
            for what, array in (("tokens", tokens), ("targets", targets)):
                path = os.path.join(out, f"{what}{i}.npy")
                np.save(path, array)
                files.append(path)
        self.check("grads", artifact, out, *files)
        return model, out

    def compare_grads(self, model, out: str, ref_losses, ref_grads, grad_scale: float = 1.0) -> str:
        losses = np.load(os.path.join(out, "losses.npy"))
        worst = 0.0
        for i, (got, ref) in enumerate(zip(losses, ref_losses)):
            err = abs(got - ref) / max(abs(ref), 1e-12)
            if err > REL_TOL:
                raise CaseFailure(f"loss {i}: {got} vs reference {ref} (relative error {err:.2e})")
        for name, ref in ref_grads.items():
            path = os.path.join(out, f"grad.{name}.npy")
            if not os.path.exists(path):
                raise CaseFailure(f"no gradient state grad.{name}")
            err = relative_error(np.load(path) * grad_scale, ref)
            worst = max(worst, err)
            if err > REL_TOL:
                raise CaseFailure(f"grad.{name}: relative error {err:.2e}")
        return f"loss {losses[-1]:.5f}, {len(ref_grads)} gradients, worst relative error {worst:.1e}"

    def grads_case(self, config: str, variant: str) -> str:
        model, _, seq = self.prepare(config)
        if variant == "plain":
            batches = [self.batch(model, seq, seed=11)]
            _, out = self.run_grads(config, variant, batches)
            losses, grads = reference_grads(model, batches)
            return self.compare_grads(model, out, losses, grads)
        if variant == "masked":
            batches = [self.batch(model, seq, seed=12, masked=True)]
            _, out = self.run_grads(config, variant, batches)
            losses, grads = reference_grads(model, batches)
            return self.compare_grads(model, out, losses, grads)
        # accum: ACCUM_STEPS micro-batches, then grad_scale 1/K, equal one batch K times larger
        batches = [self.batch(model, seq, seed=20 + k) for k in range(ACCUM_STEPS)]
        _, out = self.run_grads(config, variant, batches)
        big = (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))
        _, big_grads = reference_grads(model, [big])
        per_batch_losses = [reference_grads(model, [b])[0][0] for b in batches]
        return self.compare_grads(model, out, per_batch_losses, big_grads, grad_scale=1.0 / ACCUM_STEPS)

    def adamw_case(self, config: str) -> str:
        model, artifact, seq = self.prepare(config)
        out = self.dir_for(config, "adamw")
        steps = [self.batch(model, seq, seed=100 + s, masked=(s % 5 == 4)) for s in range(ADAM_STEPS)]
        tokens = np.stack([s[0] for s in steps])
        targets = np.stack([s[1] for s in steps])
        peak_lr, warmup, beta1, beta2, eps, wd, clip = 3e-3, 5, 0.9, 0.95, 1e-8, 0.1, 1.0
        lrs = [peak_lr * min(1.0, (s + 1) / warmup) for s in range(ADAM_STEPS)]
        hyper = np.array([[lr, beta1, beta2, eps, wd, clip, 1.0, s + 1] for s, lr in enumerate(lrs)], dtype=np.float32)
        np.save(os.path.join(out, "tokens.npy"), tokens)
        np.save(os.path.join(out, "targets.npy"), targets)
        hyper.tofile(os.path.join(out, "hyper.f32"))
        self.check("train", artifact, out, os.path.join(out, "tokens.npy"), os.path.join(out, "targets.npy"),
                   os.path.join(out, "hyper.f32"))

        params = {name: w.clone().requires_grad_(True) for name, w in model.weights.items()}
        ref_model = lathe_ref.Model(model.spec, model.block, params)
        groups = [{"params": [p for n, p in params.items() if decays(n, p)], "weight_decay": wd},
                  {"params": [p for n, p in params.items() if not decays(n, p)], "weight_decay": 0.0}]
        optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=lrs[0], betas=(beta1, beta2), eps=eps)
        ref_losses, ref_norms = [], []
        largest_grad = {name: 0.0 for name in params}
        for s in range(ADAM_STEPS):
            for group in optimizer.param_groups:
                group["lr"] = float(hyper[s, 0])
            optimizer.zero_grad()
            loss = reference_loss(ref_model, tokens[s], targets[s])
            loss.backward()
            for p in params.values():
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
            for name, p in params.items():
                largest_grad[name] = max(largest_grad[name], p.grad.norm().item())
            ref_norms.append(torch.nn.utils.clip_grad_norm_(list(params.values()), clip).item())
            optimizer.step()
            ref_losses.append(loss.item())
        for what, got, ref in (("loss", np.load(os.path.join(out, "losses.npy")), ref_losses),
                               ("grad norm", np.load(os.path.join(out, "grad_norms.npy")), ref_norms)):
            for s, (g, r) in enumerate(zip(got, ref)):
                if abs(g - r) > REL_TOL * max(abs(r), 1e-12):
                    raise CaseFailure(f"step {s + 1} {what}: {g} vs reference {r}")
        worst = 0.0
        # The loss does not depend on a weight whose exact gradient is zero (a
        # key bias: softmax ignores a constant shift). Its computed gradient is
        # rounding noise, which AdamW scales to full-size steps in random
        # directions, in float32 and float64 alike: such weights are not compared.
        invariant = [name for name, g in largest_grad.items() if g < 1e-9]
        for name, p in params.items():
            if name in invariant:
                continue
            err = relative_error(np.load(os.path.join(out, f"param.{name}.npy")), p)
            worst = max(worst, err)
            if err > REL_TOL:
                raise CaseFailure(f"final param.{name}: relative error {err:.2e}")
        with torch.no_grad():
            ref_eval = reference_loss(ref_model, tokens[0], targets[0]).item()
        got_eval = float(np.load(os.path.join(out, "eval_loss.npy"))[0])
        if abs(got_eval - ref_eval) > REL_TOL * abs(ref_eval):
            raise CaseFailure(f"eval_loss after training: {got_eval} vs reference {ref_eval}")
        return (f"loss {ref_losses[0]:.4f} -> {ref_losses[-1]:.4f}, final weights worst relative error {worst:.1e}, "
                f"eval_loss {got_eval:.4f}" + (f", {len(invariant)} loss-invariant weights skipped" if invariant else ""))

    def cases(self):
        for config in self.config_names():
            for variant in ("plain", "masked", "accum"):
                yield f"grads/{config}/{variant}", lambda c=config, v=variant: self.grads_case(c, v)
        for config in DROPOUT_CONFIGS:
            yield f"dropout/{config}", lambda c=config: self.dropout_case(c)
        for config in self.config_names():
            yield f"adamw/{config}", lambda c=config: self.adamw_case(c)


if __name__ == "__main__":
    sys.exit(run_suite(lambda args: Suite(args.lathe, args.check, args.workdir, args.device), __doc__,
                       binaries=(("--lathe", "the lathe binary"), ("--check", "the lathe-train-check binary"))))
