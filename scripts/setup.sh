#!/usr/bin/env bash
# Sets up kvsieve on a fresh Debian 12 machine: system packages (Mesa's lavapipe Vulkan driver from
# bookworm-backports, which Dawn's WebGPU needs when there is no GPU; clang-16 and lld-16 for the
# WebAssembly kernels; Chromium for the browser consumer test), pnpm, dependencies, build.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "kvsieve needs Node.js 20.19 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

# Debian 12's own Mesa (22.3) is rejected by Dawn; Mesa 25 from bookworm-backports works.
if ! dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q bpo; then
  echo "==> installing Mesa's lavapipe Vulkan driver from bookworm-backports"
  if [ ! -f /etc/apt/sources.list.d/backports.sources ]; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      sudo_ tee /etc/apt/sources.list.d/backports.sources >/dev/null
  fi
  sudo_ apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers libvulkan1
fi

# kvsieve eval renders its PNG plots with this font (without it: SVG only, and a warning).
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  echo "==> installing the DejaVu fonts (PNG plots)"
  sudo_ apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-dejavu-core
fi

# @kvsieve/kernels-wasm compiles its C kernels to WebAssembly with Debian 12's clang-16 and lld-16.
if ! command -v clang-16 >/dev/null 2>&1 || ! command -v wasm-ld-16 >/dev/null 2>&1; then
  echo "==> installing clang-16 and lld-16 (the WebAssembly kernels)"
  sudo_ apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang-16 lld-16
fi

# The consumer tests (pnpm test:consumer) run a page on WebGPU in Debian's Chromium, driven by
# playwright-core (never a downloaded browser); WebGPU there is SwiftShader on the CPU.
if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Debian's Chromium (the browser consumer test)"
  sudo_ apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi

pnpm_version=10.34.9
if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
  echo "==> installing pnpm $pnpm_version"
  sudo_ npm install -g --no-fund --no-audit "pnpm@$pnpm_version"
fi

echo "==> installing dependencies"
pnpm install --frozen-lockfile
echo "==> building"
pnpm build
echo "==> kvsieve is set up"
