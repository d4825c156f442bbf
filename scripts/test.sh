#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (GoogleTest, lit, PyTorch end-to-end) under ctest.
# Usage: scripts/test.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
scripts/setup.sh "$BUILD_DIR"
cd "$BUILD_DIR"
ctest --output-on-failure -j2
