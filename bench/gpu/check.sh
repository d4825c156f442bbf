#!/usr/bin/env bash
# The one prepared check for a machine with an NVIDIA GPU (issue #7, "Verification"):
# builds Lathe, runs the unit tests that need a GPU (CUDA, and Vulkan on the
# NVIDIA driver when it is there), the end-to-end suites on --device cuda
# (results against the CPU/PyTorch reference within the suites' tolerances) and
# the GPU benchmarks, all inside a time budget (default 470 s), writing every
# output into OUT_DIR: summary.txt (one line per step), build.log,
# unit_tests.log, e2e.log, bench.log and bench_matmul.json.
#
# Usage: bench/gpu/check.sh OUT_DIR [BUILD_DIR (default build-gpu)]
# Environment: LATHE_CHECK_SECONDS (budget), LATHE_CHECK_TRAIN (bench.py train
# --configs, default the issue's examples/gpt2.yaml:16x1024: ~1.4e13 flop a step,
# ~0.3 s for the PyTorch peer on the same GPU at fp32 (H200 ~67 TFLOP/s), so
# export + compile + 4 steps a side fit the step's 90 s), PYTHON.
# A step that fails does not stop the others; the exit status is 1 if any failed.
set -uo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR [BUILD_DIR]" >&2
  exit 2
fi
cd "$(dirname "$0")/../.."
OUT=$(realpath -m "$1")
BUILD=$(realpath -m "${2:-build-gpu}")
BUDGET=${LATHE_CHECK_SECONDS:-470}
TRAIN_CONFIGS=${LATHE_CHECK_TRAIN:-examples/gpt2.yaml:16x1024}
PYTHON=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3 )}
JOBS=$(nproc)
DEADLINE=$((SECONDS + BUDGET))
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
failed=0
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true MESA_SHADER_CACHE_DISABLE=true PYTHONUNBUFFERED=1

note() { echo "$*" | tee -a "$SUMMARY"; }

# step NAME LOG LIMIT_SECONDS COMMAND...: runs COMMAND with at most LIMIT seconds
# (less if the budget is nearly spent), appending its output to OUT/LOG.
step() {
  local name=$1 log=$OUT/$2 limit=$3
  shift 3
  local left=$((DEADLINE - SECONDS))
  if [ "$left" -lt 15 ]; then
    note "SKIP    $name (the ${BUDGET} s budget is spent)"
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "==== $name: $* (limit ${limit} s)" >>"$log"
  local start=$SECONDS rc=0
  timeout --kill-after=5 "$limit" "$@" >>"$log" 2>&1 || rc=$?
  local status=PASS
  case $rc in
    0) ;;
    77) status=SKIP ;;
    124 | 137) status=TIMEOUT; failed=1 ;;
    *) status=FAIL; failed=1 ;;
  esac
  note "$(printf '%-7s %s (%d s, exit %d) -> %s' "$status" "$name" $((SECONDS - start)) "$rc" "$(basename "$log")")"
}

# needs NAME FILE...: a SKIP line unless every file exists (an optional target was not built).
needs() {
  local name=$1
  shift
  for f in "$@"; do
    if [ ! -e "$f" ]; then
      note "SKIP    $name ($(basename "$f") was not built)"
      return 1
    fi
  done
}

note "lathe GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
note "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"
note "budget ${BUDGET} s, build dir $BUILD, python $PYTHON"

# ---- Build ------------------------------------------------------------------
compiler=OFF
if [ -f "$BUILD/CMakeCache.txt" ]; then  # an existing build dir keeps its choice
  grep -q '^LATHE_BUILD_COMPILER:BOOL=ON' "$BUILD/CMakeCache.txt" && compiler=ON
elif [ -d /usr/lib/llvm-22/lib/cmake/mlir ]; then
  compiler=ON
fi
[ "$compiler" = OFF ] && note "runtime only (no MLIR 22, or a build dir without the compiler): no e2e suites or model benchmarks"
if [ ! -f "$BUILD/build.ninja" ]; then
  step "configure" build.log 120 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLATHE_BUILD_COMPILER=$compiler
fi
targets=(lathe_runtime cuda_test)
[ -f "$BUILD/build.ninja" ] && grep -q "build vulkan_test:" "$BUILD/build.ninja" && targets+=(vulkan_test)
if [ "$compiler" = ON ]; then
  targets+=(lathe lathe-train-check lathe-bench-forward lathe-bench-decode lathe-bench-train lathe-bench-matmul
            lathe-bench-gpu-matmul gpu_kernels_test)
fi
step "build (${targets[*]})" build.log 300 cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}"

# ---- Unit tests ---------------------------------------------------------------
BIN=$BUILD/bin
# Every GPU kernel variant against the cpu kernel, one dispatch at a time (tests/unit/gpu_kernels).
if needs "cuda kernel parity" "$BIN/gpu_kernels_test"; then
  # Each case assembles its kernel with ptxas (about a second): gtest shards run in parallel.
  step "cuda kernel parity (every kernel variant vs the cpu, tensor-core GEMMs too)" unit_tests.log 150 \
    env LATHE_PARITY_DEVICE=cuda bench/gpu/sharded.sh "$JOBS" "$BIN/gpu_kernels_test"
fi
if needs "cuda unit tests" "$BIN/cuda_test"; then
  step "cuda unit tests" unit_tests.log 60 "$BIN/cuda_test"
  # gtest's own count, e.g. "[  SKIPPED ] 9 tests, listed below:" (on a GPU machine this should be absent).
  skipped=$(grep -o '^\[  SKIPPED \] [0-9]* tests\?,' "$OUT/unit_tests.log" 2>/dev/null | grep -o '[0-9]*' | head -1)
  [ -n "$skipped" ] && note "        cuda unit tests: $skipped skipped (unit_tests.log says why)"
  stub=$BUILD/tests/unit/cuda/stub_driver
  [ -d "$stub" ] && step "cuda stub-driver test" unit_tests.log 30 \
    env LD_LIBRARY_PATH="$stub" LATHE_TEST_CUDA_STUB_DRIVER=1 "$BIN/cuda_test" --gtest_filter='CudaStubDriver.*'
fi
if command -v vulkaninfo >/dev/null && vulkaninfo --summary 2>/dev/null | grep -qi nvidia; then
  if needs "vulkan unit tests (NVIDIA driver)" "$BIN/vulkan_test"; then
    validation=0
    ls /usr/share/vulkan/explicit_layer.d/*validation* >/dev/null 2>&1 && validation=1
    step "vulkan unit tests (NVIDIA driver, validation $validation)" unit_tests.log 60 \
      env LATHE_VULKAN_VALIDATION=$validation "$BIN/vulkan_test"
  fi
else
  note "SKIP    vulkan unit tests (no NVIDIA Vulkan driver found by vulkaninfo)"
fi

# ---- End-to-end suites on cuda ------------------------------------------------
if [ "$compiler" = ON ] && needs "e2e suites" "$BIN/lathe" "$BIN/lathe-train-check"; then
  work=$BUILD/e2e-cuda
  step "e2e forward --device cuda" e2e.log 90 "$PYTHON" tests/e2e/test_forward.py --device cuda \
    --lathe "$BIN/lathe" --workdir "$work/fwd" -k fwd/
  step "e2e decode --device cuda" e2e.log 90 "$PYTHON" tests/e2e/test_decode.py --device cuda \
    --lathe "$BIN/lathe" --workdir "$work/dec" -k dec/
  step "e2e train gradients --device cuda" e2e.log 90 "$PYTHON" tests/e2e/test_train.py --device cuda \
    --lathe "$BIN/lathe" --check "$BIN/lathe-train-check" --workdir "$work/train" -k grads/
fi

# ---- Benchmarks on cuda ---------------------------------------------------------
if [ "$compiler" = ON ]; then
  if needs "bench matmul" "$BIN/lathe-bench-gpu-matmul" "$BIN/lathe-bench-matmul"; then
    step "bench matmul --target cuda (tensor cores fp32/tf32, scalar; vs cuBLAS through PyTorch)" bench.log 120 \
      "$PYTHON" bench/bench.py matmul \
      --target cuda --runs 20 --threads "$JOBS" --binary "$BIN/lathe-bench-matmul" \
      --gpu-binary "$BIN/lathe-bench-gpu-matmul" --json "$OUT/bench_matmul.json"
  fi
  if needs "bench forward" "$BIN/lathe-bench-forward"; then
    step "bench forward --target cuda" bench.log 60 "$PYTHON" bench/bench.py forward --target cuda --runs 10 \
      --threads "$JOBS" --lathe "$BIN/lathe" --binary "$BIN/lathe-bench-forward"
  fi
  if needs "bench decode" "$BIN/lathe-bench-decode"; then
    step "bench decode --target cuda (batch 1, 32)" bench.log 60 "$PYTHON" bench/bench.py decode --target cuda \
      --batches 1,32 --runs 2 --threads "$JOBS" --build "$BUILD"
  fi
  if needs "bench train" "$BIN/lathe-bench-train"; then
    step "bench train --target cuda ($TRAIN_CONFIGS)" bench.log 90 "$PYTHON" bench/bench.py train --target cuda \
      --configs "$TRAIN_CONFIGS" --runs 3 --threads "$JOBS" --lathe "$BIN/lathe" --binary "$BIN/lathe-bench-train"
  fi
fi

note "done in $SECONDS s: $([ $failed -eq 0 ] && echo 'every step passed or was skipped' || echo 'some steps FAILED')"
exit $failed
