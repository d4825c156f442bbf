#!/usr/bin/env bash
# The main job on the CPU target: compile GPT-2 124M (seeded random weights) to one artifact, run its forward pass,
# sample from it with the KV cache, then export it in the Hugging Face layout, import that directory back and check that the logits are identical.
# Finally, train a tiny GPT on Jane Austen (examples/train_tiny) for a few seconds and sample from the trained weights.
# Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
scripts/setup.sh "$BUILD_DIR" >/dev/null
LATHE="$BUILD_DIR/bin/lathe"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== compile examples/gpt2.yaml for the CPU (B <= 4, T <= 128)"
"$LATHE" compile examples/gpt2.yaml --target cpu --tokenizer data/gpt2 --max-batch 4 --max-seq 128 --seed 1 \
  -o "$WORK/gpt2.lathe"

echo "== forward on 4 x 128 tokens"
/usr/bin/python3 -c "import numpy as np; np.save('$WORK/ids.npy', np.random.default_rng(0).integers(0, 50257, (4, 128), dtype=np.int32))"
"$LATHE" run "$WORK/gpt2.lathe" --tokens-file "$WORK/ids.npy" --repeat 3 --dump-logits "$WORK/logits.npy"

echo "== sample 24 tokens (random weights, so the text is noise; the speed is real)"
"$LATHE" sample "$WORK/gpt2.lathe" --prompt "It is a truth universally acknowledged" --max-new-tokens 24 \
  --top-k 40 --seed 1

echo "== export as Hugging Face GPT-2, import it again, compare"
"$LATHE" export examples/gpt2.yaml --seed 1 --format hf -o "$WORK/hf"
"$LATHE" compile "$WORK/hf" --max-batch 4 --max-seq 128 -o "$WORK/hf.lathe"
"$LATHE" run "$WORK/hf.lathe" --tokens-file "$WORK/ids.npy" --dump-logits "$WORK/hf_logits.npy"
/usr/bin/python3 - "$WORK" <<'PY'
import sys, numpy as np
work = sys.argv[1]
a, b = np.load(f"{work}/logits.npy"), np.load(f"{work}/hf_logits.npy")
print(f"logits {a.shape}, max |difference| after the Hugging Face round trip: {np.abs(a - b).max():.3g}")
sys.exit(0 if np.array_equal(a, b) else 1)
PY

echo "== train a tiny GPT on Pride and Prejudice (examples/train_tiny; 200 steps of 16 x 64 tokens)"
EX=examples/train_tiny
"$LATHE" train "$EX/model.yaml" --tokenizer "$EX/tokenizer" --data "$EX/pride_and_prejudice.txt" --batch 16 --seq 64 \
  --steps 200 --lr 2e-3 --warmup 20 --weight-decay 0.01 --clip 1 --seed 1 --eval-every 50 --print-every 50 \
  --log "$WORK/metrics.jsonl" --plot "$BUILD_DIR/train_tiny_loss.png" --checkpoint "$WORK/run"

echo "== sample from the trained weights"
"$LATHE" compile "$EX/model.yaml" --train --tokenizer "$EX/tokenizer" --max-batch 16 --max-seq 64 -o "$WORK/tiny.lathe"
"$LATHE" sample "$WORK/tiny.lathe" --checkpoint "$WORK/run" --prompt "It is a truth" --max-new-tokens 40 --top-k 20 --seed 1
