"""End-to-end KV-cache tests: `lathe sample` (prefill + decode) against full forwards.

For every model file in configs/ (exported and re-seeded like test_forward.py,
compiled with --infer, max batch 3, max seq = context length):
  dec/<config>/single  one prompt decoded greedily until the context is full;
  dec/<config>/ragged  three prompts of different lengths decoded together.
Each step's logits (from --dump-logits) must equal, within 1e-4 relative,
  - lathe's own forward entry point over the same tokens (`lathe run`), and
  - the float64 PyTorch reference forward (tests/reference/lathe_ref.py);
and every greedy token must be the reference's argmax (a near-tie, where the
reference's top two logits are closer than the tolerance, ends the comparison
of that sequence instead, since the two may then legitimately diverge).
err/sample_* cases check the CLI's errors for bad generation requests.

Usage: test_decode.py --lathe PATH --workdir DIR [-k NAME ...]
"""

import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_forward import REL_TOL, BATCH, CaseFailure, Lathe, Suite, compare, random_ids, run_suite  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import lathe_ref  # noqa: E402


def reference_logits(model, tokens):
    return lathe_ref.forward(model, torch.tensor([tokens]))[0]  # (T, V) float64


class DecodeSuite(Suite):
    def sample(self, artifact, prompts, max_new, tag):
        out_dir = os.path.dirname(artifact)
        logits_path = os.path.join(out_dir, f"steps_{tag}.npy")
        tokens_path = os.path.join(out_dir, f"tokens_{tag}.json")
        args = ["sample", artifact, "--device", self.lathe.device, "--greedy", "--max-new-tokens", str(max_new),
                "--dump-logits", logits_path, "--dump-tokens", tokens_path]
        for prompt in prompts:
            args += ["--prompt-tokens", ",".join(str(int(t)) for t in prompt)]
        self.lathe.check(*args)
        with open(tokens_path) as f:
            sequences = json.load(f)["sequences"]
        return np.load(logits_path), sequences

    def check_sequence(self, model, artifact, steps, b, prompt, generated, tag):
        """Compares sequence b's step logits with lathe forward and the reference."""
        full = list(prompt) + list(generated)
        used = len(full) - 1 if len(full) > model.spec["context_length"] else len(full)
        # Step i's logits predict generated[i] from the first len(prompt) + i tokens.
        count = len(generated)
        got = steps[:count, b, :]
        forward_path = os.path.join(os.path.dirname(artifact), f"forward_{tag}_{b}.npy")
        lathe_forward = self.lathe.run_tokens(artifact, np.array([full[:used]]), forward_path)[0]
        positions = [len(prompt) - 1 + i for i in range(count)]
        summary = "vs forward: " + compare(got, torch.from_numpy(lathe_forward[positions].astype(np.float64)))
        ref = reference_logits(model, full[:used])[positions]
        summary += "; vs reference: " + compare(got, ref)
        scale = float(ref.abs().max())
        for i, token in enumerate(generated):
            top2 = torch.topk(ref[i], 2)
            if int(top2.indices[0]) == token:
                continue
            if float(top2.values[0] - top2.values[1]) < REL_TOL * scale:
                return summary + f"; near-tie at step {i}, token comparison stopped"
            raise CaseFailure(f"sequence {b} step {i}: lathe chose {token}, the reference's argmax is "
                              f"{int(top2.indices[0])} (logits {float(ref[i][token]):.6g} vs {float(top2.values[0]):.6g})")
        return summary

    def decode_case(self, config, run):
        model, artifact = self.prepare(config)
        spec = model.spec
        ctx = spec["context_length"]
        if run == "single":
            prompts = [random_ids(spec["vocab_size"], 1, max(1, ctx // 3), seed=11)[0]]
            max_new = ctx  # runs until the context is full
        else:
            lengths = [1, ctx // 2, 3][:BATCH]
            prompts = [random_ids(spec["vocab_size"], 1, n, seed=20 + i)[0] for i, n in enumerate(lengths)]
            max_new = ctx // 2
        steps, sequences = self.sample(artifact, prompts, max_new, run)
        details = []
        for b, (prompt, sequence) in enumerate(zip(prompts, sequences)):
            generated = sequence["tokens"]
            expected_finish = "context_full" if len(prompt) + max_new > ctx else "max_tokens"
            expected_count = min(max_new, ctx - len(prompt) + 1)
            if len(generated) != expected_count or sequence["finish"] != expected_finish:
                raise CaseFailure(f"sequence {b}: {len(generated)} tokens, finish {sequence['finish']}; expected "
                                  f"{expected_count} tokens, finish {expected_finish}")
            details.append(self.check_sequence(model, artifact, steps, b, prompt, generated, run))
        return f"{len(prompts)} sequences; " + details[0]

    def sample_error_case(self, what):
        model, artifact = self.prepare("gpt2_tiny")
        ctx, vocab = model.spec["context_length"], model.spec["vocab_size"]
        if what == "sample_prompt_too_long":
            return self.expect_error(["sample", artifact, "--prompt-tokens", ",".join(["1"] * (ctx + 1))],
                                     rf"{ctx + 1} tokens.*{ctx}", what)
        if what == "sample_unknown_token":
            return self.expect_error(["sample", artifact, "--prompt-tokens", f"1,{vocab + 3}"],
                                     rf"\b{vocab + 3}\b.*\[0, {vocab}\)", what)
        if what == "sample_batch_too_large":
            args = ["sample", artifact]
            for _ in range(BATCH + 1):
                args += ["--prompt-tokens", "1,2"]
            return self.expect_error(args, rf"{BATCH + 1} prompts.*max_batch {BATCH}", what)
        if what == "sample_text_without_tokenizer":
            return self.expect_error(["sample", artifact, "--prompt", "hello"], "artifact has no tokenizer", what)
        if what == "sample_bad_top_p":
            return self.expect_error(["sample", artifact, "--prompt-tokens", "1", "--top-p", "1.5"], "top_p", what)
        raise AssertionError(what)

    SAMPLE_ERRORS = ("sample_prompt_too_long", "sample_unknown_token", "sample_batch_too_large",
                     "sample_text_without_tokenizer", "sample_bad_top_p")

    def cases(self):
        for config in self.config_names():
            for run in ("single", "ragged"):
                yield f"dec/{config}/{run}", lambda c=config, r=run: self.decode_case(c, r)
        for what in self.SAMPLE_ERRORS:
            yield f"err/{what}", lambda w=what: self.sample_error_case(w)


if __name__ == "__main__":
    sys.exit(run_suite(lambda args: DecodeSuite(Lathe(args.lathe, args.device), args.workdir), __doc__))
