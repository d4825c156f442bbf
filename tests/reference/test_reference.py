"""Self-checks of the PyTorch reference (lathe_ref.py), independent of lathe.

Run: /usr/bin/python3 tests/reference/test_reference.py
"""

import json
import math
import os
import struct
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lathe_ref  # noqa: E402

PRE_NORM_BLOCK = ["ln1 = norm(x)", "attn = attention(ln1)", "r1 = add(x, attn)",
                  "ln2 = norm(r1)", "mlp = mlp(ln2)", "out = add(r1, mlp)"]


def make_spec(**overrides) -> dict:
    spec = dict(name="t", vocab_size=37, context_length=12, d_model=24, layers=2, heads=4, kv_heads=4, d_ff=40,
                norm="layernorm", norm_eps=1e-5, norm_placement="pre", final_norm=True, positions="learned",
                rope_theta=10000.0, activation="gelu_tanh", bias=True, tied_embeddings=True, block=PRE_NORM_BLOCK)
    spec.update(overrides)
    return spec





def random_ids(spec: dict, batch: int, length: int, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, spec["vocab_size"], (batch, length), generator=gen)


# --- Independent Hugging Face forwards, written from the HF tensor names. ---

def hf_gpt2_forward(directory: str, ids: torch.Tensor) -> torch.Tensor:
    cfg = json.load(open(os.path.join(directory, "config.json")))
    w = lathe_ref.read_safetensors(os.path.join(directory, "model.safetensors"))
    p = "transformer." if "transformer.wte.weight" in w else ""
    C, H = cfg["n_embd"], cfg["n_head"]
    eps = cfg["layer_norm_epsilon"]
    act = {"gelu_new": lambda x: F.gelu(x, approximate="tanh"), "gelu": F.gelu}[cfg["activation_function"]]
    B, T = ids.shape
    x = w[p + "wte.weight"][ids] + w[p + "wpe.weight"][torch.arange(T)]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(cfg["n_layer"]):
        h = f"{p}h.{i}."
        a = F.layer_norm(x, (C,), w[h + "ln_1.weight"], w[h + "ln_1.bias"], eps)
        qkv = a @ w[h + "attn.c_attn.weight"] + w[h + "attn.c_attn.bias"]
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in qkv.split(C, dim=-1))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)
        att = torch.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ w[h + "attn.c_proj.weight"] + w[h + "attn.c_proj.bias"]
        m = F.layer_norm(x, (C,), w[h + "ln_2.weight"], w[h + "ln_2.bias"], eps)
        m = act(m @ w[h + "mlp.c_fc.weight"] + w[h + "mlp.c_fc.bias"])
        x = x + m @ w[h + "mlp.c_proj.weight"] + w[h + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (C,), w[p + "ln_f.weight"], w[p + "ln_f.bias"], eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else w[p + "wte.weight"]
    return x @ head.T


def hf_llama_forward(directory: str, ids: torch.Tensor) -> torch.Tensor:
    cfg = json.load(open(os.path.join(directory, "config.json")))
    w = lathe_ref.read_safetensors(os.path.join(directory, "model.safetensors"))
    C, H, Hkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D, eps = C // H, cfg["rms_norm_eps"]
    B, T = ids.shape

    def rms(x, weight):
        return weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)

    # HF LlamaRotaryEmbedding / rotate_half, on (B, H, T, D).
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos(), emb.sin()

    def rotate_half(x):
        return torch.cat([-x[..., D // 2:], x[..., :D // 2]], dim=-1)

    x = w["model.embed_tokens.weight"][ids]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(cfg["num_hidden_layers"]):
        L = f"model.layers.{i}."
        a = rms(x, w[L + "input_layernorm.weight"])
        q = (a @ w[L + "self_attn.q_proj.weight"].T).view(B, T, H, D).transpose(1, 2)
        k = (a @ w[L + "self_attn.k_proj.weight"].T).view(B, T, Hkv, D).transpose(1, 2)
        v = (a @ w[L + "self_attn.v_proj.weight"].T).view(B, T, Hkv, D).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // Hkv, dim=1), v.repeat_interleave(H // Hkv, dim=1)
        att = torch.softmax(((q @ k.transpose(-1, -2)) / math.sqrt(D)).masked_fill(~mask, float("-inf")), dim=-1)
        x = x + (att @ v).transpose(1, 2).reshape(B, T, C) @ w[L + "self_attn.o_proj.weight"].T
        m = rms(x, w[L + "post_attention_layernorm.weight"])
        g, u = m @ w[L + "mlp.gate_proj.weight"].T, m @ w[L + "mlp.up_proj.weight"].T
        x = x + (F.silu(g) * u) @ w[L + "mlp.down_proj.weight"].T
    x = rms(x, w["model.norm.weight"])
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return x @ head.T


class ReferenceTest(unittest.TestCase):
    def assertClose(self, a, b, tol=1e-10):
        self.assertEqual(a.shape, b.shape)
        self.assertLessEqual((a - b).abs().max().item(), tol)

    def test_causal(self):
        for positions in ("learned", "sinusoidal", "rope"):
            spec = make_spec(positions=positions, kv_heads=2)
            model = lathe_ref.random_model(spec)
            ids = random_ids(spec, 2, spec["context_length"])
            changed = ids.clone()
            changed[:, -1] = (changed[:, -1] + 1) % spec["vocab_size"]
            a, b = lathe_ref.forward(model, ids), lathe_ref.forward(model, changed)
            self.assertClose(a[:, :-1], b[:, :-1])
            self.assertGreater((a[:, -1] - b[:, -1]).abs().max().item(), 1e-3, positions)

    def test_batch_rows_are_independent(self):
        spec = make_spec(positions="rope", norm="rmsnorm", activation="swiglu", bias=False)
        model = lathe_ref.random_model(spec)
        ids = random_ids(spec, 3, 7)
        batched = lathe_ref.forward(model, ids)
        for row in range(3):
            self.assertClose(batched[row:row + 1], lathe_ref.forward(model, ids[row:row + 1]))

    def test_rope_is_identity_at_t0_and_rotates_pairs(self):
        x = torch.randn(2, 3, 4, 6, dtype=torch.float64)
        y = lathe_ref.apply_rope(x, 10000.0)
        self.assertClose(y[:, 0], x[:, 0], tol=0.0)
        self.assertClose(y.norm(dim=-1), x.norm(dim=-1))  # rotations preserve length
        t, i, D = 2, 1, 6  # hand-computed element: channel i pairs with i + D/2
        angle = t * 10000.0 ** (-2 * i / D)
        lo, hi = x[0, t, 0, i], x[0, t, 0, i + D // 2]
        self.assertAlmostEqual(y[0, t, 0, i].item(), (lo * math.cos(angle) - hi * math.sin(angle)).item(), places=12)
        self.assertAlmostEqual(y[0, t, 0, i + D // 2].item(), (hi * math.cos(angle) + lo * math.sin(angle)).item(),
                               places=12)

    def test_gqa_with_duplicated_kv_equals_mha(self):
        for kv_heads in (1, 2):
            gqa_spec = make_spec(positions="rope", kv_heads=kv_heads)
            gqa = lathe_ref.random_model(gqa_spec)
            mha_spec = dict(gqa_spec, kv_heads=gqa_spec["heads"])
            mha_weights = dict(gqa.weights)
            group, D = gqa_spec["heads"] // kv_heads, gqa_spec["d_model"] // gqa_spec["heads"]
            for name, tensor in gqa.weights.items():
                if name.endswith((".k.weight", ".v.weight", ".k.bias", ".v.bias")):
                    per_head = tensor.reshape(kv_heads, D, *tensor.shape[1:])
                    mha_weights[name] = per_head.repeat_interleave(group, dim=0).reshape(-1, *tensor.shape[1:])
            mha = lathe_ref.Model(mha_spec, gqa.block, mha_weights)
            ids = random_ids(gqa_spec, 2, 9)
            self.assertClose(lathe_ref.forward(gqa, ids), lathe_ref.forward(mha, ids))

    def test_layernorm_matches_torch_and_formula(self):
        spec = make_spec()
        model = lathe_ref.random_model(spec)
        x = torch.randn(2, 5, spec["d_model"], dtype=torch.float64) * 3 + 1
        ln = torch.nn.LayerNorm(spec["d_model"], eps=spec["norm_eps"]).double()
        with torch.no_grad():
            ln.weight.copy_(model.weights["layers.0.ln1.weight"])
            ln.bias.copy_(model.weights["layers.0.ln1.bias"])
        got = lathe_ref.norm(model, "layers.0.ln1", x)
        self.assertClose(got, ln(x).detach())
        mean, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
        formula = (x - mean) / torch.sqrt(var + spec["norm_eps"]) * ln.weight + ln.bias
        self.assertClose(got, formula.detach())

    def test_rmsnorm_formula(self):
        spec = make_spec(norm="rmsnorm", norm_eps=1e-3)
        model = lathe_ref.random_model(spec)
        x = torch.randn(4, spec["d_model"], dtype=torch.float64)
        weight = model.weights["layers.0.ln1.weight"]
        for row in range(4):
            r = x[row]
            expected = r / math.sqrt(sum(v * v for v in r.tolist()) / len(r) + 1e-3) * weight
            self.assertClose(lathe_ref.norm(model, "layers.0.ln1", r), expected)

    def test_sinusoidal_table_odd_width(self):
        table = lathe_ref.sinusoidal_table(5, 7)
        for t in range(5):
            for j in range(7):
                angle = t / 10000 ** (2 * (j // 2) / 7)
                self.assertAlmostEqual(table[t, j].item(), math.sin(angle) if j % 2 == 0 else math.cos(angle), 12)

    def test_activations(self):
        x = torch.linspace(-4, 4, 33, dtype=torch.float64)
        self.assertClose(lathe_ref.ACTIVATIONS["gelu"](x), x * 0.5 * (1 + torch.erf(x / math.sqrt(2))))
        self.assertClose(lathe_ref.ACTIVATIONS["gelu_tanh"](x), F.gelu(x, approximate="tanh"))

    def test_custom_parallel_block(self):
        spec = make_spec(block=["n = norm(x)", "a = attention(n)", "m = mlp(n)", "s = add(a, m)", "out = add(x, s)"],
                         layers=1, final_norm=False)
        model = lathe_ref.random_model(spec)
        x = torch.randn(1, 4, spec["d_model"], dtype=torch.float64)
        n = lathe_ref.norm(model, "layers.0.n", x)
        expected = x + lathe_ref.attention(model, "layers.0.a", n) + lathe_ref.mlp(model, "layers.0.m", n)
        self.assertClose(lathe_ref.run_block(model, 0, x), expected)

    def test_bad_block_statements_are_rejected(self):
        for block in (["a = attention(y)"], ["a = conv(x)"], ["a = add(x)"], ["a := norm(x)"], []):
            with self.assertRaises(ValueError, msg=str(block)):
                lathe_ref.parse_block(block)

    def test_hf_gpt2_writer_matches_independent_gpt2(self):
        for tied in (True, False):
            spec = make_spec(tied_embeddings=tied, heads=3, kv_heads=3, d_model=30, layers=2)
            model = lathe_ref.random_model(spec)
            ids = random_ids(spec, 2, spec["context_length"])
            expected = lathe_ref.forward(model, ids)
            for with_prefix in (True, False):
                with tempfile.TemporaryDirectory() as d:
                    lathe_ref.write_hf_gpt2(d, model, with_prefix=with_prefix)
                    # float32 storage: compare at float32 precision
                    self.assertClose(hf_gpt2_forward(d, ids), expected, tol=1e-4)

    def test_hf_llama_writer_matches_independent_llama(self):
        spec = make_spec(norm="rmsnorm", positions="rope", activation="swiglu", bias=False, kv_heads=2,
                         tied_embeddings=False, rope_theta=500.0)
        model = lathe_ref.random_model(spec)
        ids = random_ids(spec, 2, spec["context_length"])
        with tempfile.TemporaryDirectory() as d:
            lathe_ref.write_hf_llama(d, model)
            self.assertClose(hf_llama_forward(d, ids), lathe_ref.forward(model, ids), tol=1e-4)

    def test_hf_writer_refuses_inexpressible_models(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(ValueError):
                lathe_ref.write_hf_gpt2(d, lathe_ref.random_model(make_spec(positions="rope")))
            with self.assertRaises(ValueError):
                lathe_ref.write_hf_llama(d, lathe_ref.random_model(make_spec()))

    def test_safetensors_roundtrip_and_half_types(self):
        tensors = {"a": torch.randn(3, 4, dtype=torch.float64), "b.c": torch.randn(5, dtype=torch.float64)}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.safetensors")
            lathe_ref.write_safetensors(path, tensors)
            with open(path, "rb") as f:
                (header_len,) = struct.unpack("<Q", f.read(8))
            self.assertEqual((8 + header_len) % 8, 0)
            back = lathe_ref.read_safetensors(path)
            for name, tensor in tensors.items():
                self.assertClose(back[name], tensor.float().double(), tol=0.0)

            values = np.array([1.5, -2.25, 0.0, 65504.0], dtype=np.float32)
            f16 = values.astype("<f2").tobytes()
            bf16 = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
            header = ('{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},'
                      '"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[8,16]}}').encode()
            path = os.path.join(d, "half.safetensors")
            with open(path, "wb") as f:
                f.write(struct.pack("<Q", len(header)) + header + f16 + bf16)
            back = lathe_ref.read_safetensors(path)
            self.assertEqual(back["h"].tolist(), [1.5, -2.25, 0.0, 65504.0])
            self.assertEqual(back["b"].flatten().tolist(), [1.5, -2.25, 0.0, 65280.0])  # bf16 truncation

    def test_safetensors_rejects_bad_offsets(self):
        header = b'{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}}'
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.safetensors")
            with open(path, "wb") as f:
                f.write(struct.pack("<Q", len(header)) + header + b"\0" * 16)
            with self.assertRaises(ValueError):
                lathe_ref.read_safetensors(path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
