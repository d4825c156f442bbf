#!/usr/bin/env bash
# Installs what Lathe needs from Debian 12 packages (idempotent) and builds it.
# Usage: scripts/setup.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}

PACKAGES=(
  cmake ninja-build ccache g++ pkg-config
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools lld-22
  libflatbuffers-dev flatbuffers-compiler
  libgtest-dev libgmock-dev
  libcli11-dev nlohmann-json3-dev libyaml-cpp-dev
  python3-torch python3-numpy python3-yaml libopenblas0-pthread
  libcairo2-dev zlib1g-dev fonts-dejavu-core
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools spirv-tools glslang-tools
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ccache hits across clones in different directories (CI uses a fresh clone).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR"
