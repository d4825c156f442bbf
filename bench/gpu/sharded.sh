#!/usr/bin/env bash
# sharded.sh JOBS GTEST_BINARY [ARGS...]: runs the GoogleTest binary as JOBS
# shards in parallel (GTEST_TOTAL_SHARDS / GTEST_SHARD_INDEX), prints each
# shard's output in order, and fails if any shard failed.
set -uo pipefail
jobs=$1
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for ((i = 0; i < jobs; i++)); do
  GTEST_TOTAL_SHARDS=$jobs GTEST_SHARD_INDEX=$i "$@" >"$dir/$i.log" 2>&1 &
done
status=0
for ((i = 0; i < jobs; i++)); do wait -n || status=1; done
for ((i = 0; i < jobs; i++)); do
  echo "---- shard $i of $jobs"
  cat "$dir/$i.log"
done
passed=$(cat "$dir"/*.log | grep -c '^\[       OK \]')
failed=$(cat "$dir"/*.log | grep -c '^\[  FAILED  \] .*(')
echo "sharded.sh: $passed passed, $failed failed in $jobs shards"
exit $status
