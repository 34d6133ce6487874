#!/usr/bin/env bash
# Writes .gpu/, what `scripts/gpu-kit/run.sh` needs to run the GPU bench (`pnpm bench:gpu`) on an
# offline x86-64 Linux machine with a GPU driver but no Node and no network (DEVICE.md): this
# machine's node binary, Dawn's dawn.node (both xz-compressed), the bench bundled with every JS
# dependency by esbuild, and Debian's Vulkan loader (libvulkan1) in case the machine lacks one.
# Run from anywhere in a checkout with dependencies installed (pnpm install). Needs xz and apt-get.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
kit=.gpu
limit_mib=45

[ "$(uname -m)" = x86_64 ] || { echo "pack.sh: the kit is for x86-64 machines; this is $(uname -m)" >&2; exit 2; }
node_bin=$(readlink -f "$(command -v node)")
# webgpu has no "exports", so its package.json resolves from the package that depends on it.
dawn=$(cd packages/kernels-webgpu && node -p "require('node:path').join(require('node:path').dirname(require.resolve('webgpu/package.json')), 'dist/linux-x64/dawn.node')")
[ -f "$dawn" ] || { echo "pack.sh: $dawn is missing; run pnpm install first" >&2; exit 2; }

rm -rf "$kit"
mkdir -p "$kit"
echo "bundling the bench" >&2
node scripts/gpu-kit/bundle.mjs "$kit/gpu-bench.mjs" >&2
echo "compressing node $(node -v) ($node_bin) and $dawn" >&2
xz -T0 -6 -c "$node_bin" >"$kit/node.xz"
xz -T0 -6 -c "$dawn" >"$kit/dawn.node.xz"
# The Vulkan loader and glvnd's libraries. NVIDIA's Vulkan driver is libGLX_nvidia.so.0 (named by
# its ICD file); on an H200 box (driver 580) that had none of glvnd's libraries the loader said
# "Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr' for ICD libGLX_nvidia.so.0"
# with libvulkan1, libglvnd0 and libglx0 unpacked, and found the GPU once libegl1, libgl1,
# libopengl0 and libgles2 were unpacked too. The X11 client libraries libGLX_nvidia links to come
# along for machines without them. run.sh unpacks only those whose libraries the machine lacks.
debs="libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2"
debs="$debs libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0"
echo "downloading $debs" >&2
# shellcheck disable=SC2086 # one word per package
(cd "$kit" && apt-get -o APT::Sandbox::User=root download $debs >&2) || {
  echo "pack.sh: apt-get download failed (no Debian archive reachable?)" >&2
  exit 1
}
{
  echo "node $(node -v)"
  echo "webgpu $(cd packages/kernels-webgpu && node -p "require('webgpu/package.json').version")"
  echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- packages scripts || echo ' (with uncommitted changes)')"
} >"$kit/VERSIONS"
(cd "$kit" && sha256sum node.xz dawn.node.xz gpu-bench.mjs ./*.deb >SHA256SUMS)

bytes=$(du -cb "$kit" | tail -1 | cut -f1)
mib=$((bytes / 1048576))
ls -l "$kit" >&2
echo "$kit: $mib MiB ($bytes bytes)"
if [ "$mib" -ge "$limit_mib" ]; then
  echo "pack.sh: $kit is over the ${limit_mib} MiB budget" >&2
  exit 1
fi
