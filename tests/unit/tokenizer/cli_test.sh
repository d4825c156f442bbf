#!/bin/bash
# The `lathe tokenizer` commands, `lathe compile --tokenizer` and `lathe run --text`, end to end.
# Usage: cli_test.sh LATHE_BINARY SOURCE_DIR
set -euo pipefail
lathe=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

ids=$("$lathe" tokenizer encode -t "$src/data/gpt2" --text "Hello world<|endoftext|>")
[ "$ids" = "15496,995,50256" ] || fail "encode printed '$ids'"
[ "$(printf 'Hello world' | "$lathe" tokenizer encode -t "$src/data/gpt2")" = "15496,995" ] || fail "encode from stdin"
[ "$("$lathe" tokenizer decode -t "$src/data/gpt2" 15496,995)" = "Hello world" ] || fail "decode"

"$lathe" tokenizer encode -t "$src/data/gpt2" "$src/data/corpora/emma.txt" -o "$work/emma.npy"
"$lathe" tokenizer decode -t "$src/data/gpt2" "$work/emma.npy" -o "$work/emma.txt"
cmp "$work/emma.txt" "$src/data/corpora/emma.txt" || fail "npy round trip"

"$lathe" tokenizer train "$src"/data/corpora/*.txt --vocab-size 1000 -o "$work/tok" 2> "$work/train.log"
grep -q "trained 1000 tokens (743 merges)" "$work/train.log" || fail "train: $(cat "$work/train.log")"
"$lathe" tokenizer stats -t "$work/tok" "$src/data/corpora/kjv.txt" > "$work/stats.txt"
grep -q "tokens: 1000" "$work/stats.txt" || fail "stats: $(cat "$work/stats.txt")"
grep -q "round trip ok" "$work/stats.txt" || fail "stats round trip"

sed 's/vocab_size: 256/vocab_size: 1000/' "$src/examples/tiny.yaml" > "$work/tiny.yaml"
"$lathe" compile "$work/tiny.yaml" --tokenizer "$work/tok" --max-seq 64 -o "$work/tiny.lathe" 2> /dev/null
"$lathe" run "$work/tiny.lathe" --text "It is a truth universally acknowledged" --dump-logits "$work/l.npy" 2> /dev/null
[ "$("$lathe" tokenizer encode -t "$work/tiny.lathe" --text "Emma")" = \
  "$("$lathe" tokenizer encode -t "$work/tok" --text "Emma")" ] || fail "artifact tokenizer differs"

# `lathe sample --prompt` streams text; the text is the decode of the generated ids, and a stop string made of
# the first generated token ends the sequence there.
"$lathe" sample "$work/tiny.lathe" --prompt "It is a truth" --max-new-tokens 6 --greedy \
  --dump-tokens "$work/gen.json" > "$work/gen.txt" 2> /dev/null
ids=$(/usr/bin/python3 -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['sequences'][0]['tokens'])))" "$work/gen.json")
[ "$(cat "$work/gen.txt")" = "$("$lathe" tokenizer decode -t "$work/tok" "$ids")" ] || fail "sample text differs from its ids"
first=$("$lathe" tokenizer decode -t "$work/tok" "${ids%%,*}")
"$lathe" sample "$work/tiny.lathe" --prompt "It is a truth" --max-new-tokens 6 --greedy --stop "$first" \
  --dump-tokens "$work/stop.json" > /dev/null 2>&1
/usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['sequences'][0]; sys.exit(not (s['finish'] == 'stop_string' and len(s['tokens']) == 1))" \
  "$work/stop.json" || fail "stop string did not end the sequence: $(cat "$work/stop.json")"

# A Hugging Face model directory with vocab.json + merges.txt brings its tokenizer along.
"$lathe" export "$work/tiny.yaml" --format hf -o "$work/hf" 2> /dev/null
cp "$work/tok/encoder.json" "$work/hf/vocab.json"
cp "$work/tok/vocab.bpe" "$work/hf/merges.txt"
"$lathe" compile "$work/hf" --max-seq 64 -o "$work/hf.lathe" 2> "$work/compile.log"
grep -q "using the tokenizer in" "$work/compile.log" || fail "HF tokenizer not picked up: $(cat "$work/compile.log")"
[ "$("$lathe" tokenizer encode -t "$work/hf.lathe" --text "Emma")" = \
  "$("$lathe" tokenizer encode -t "$work/tok" --text "Emma")" ] || fail "HF artifact tokenizer differs"

if "$lathe" compile "$src/examples/tiny.yaml" --tokenizer "$src/data/gpt2" -o "$work/x.lathe" 2> "$work/err"; then
  fail "a tokenizer larger than the model vocabulary was accepted"
fi
grep -q "more than the model's vocabulary (256)" "$work/err" || fail "error: $(cat "$work/err")"
if "$lathe" tokenizer decode -t "$src/data/gpt2" 50257 2> "$work/err"; then fail "out-of-range id accepted"; fi
grep -q "out of range" "$work/err" || fail "error: $(cat "$work/err")"
echo "cli ok"
