#!/usr/bin/env bash
# Runs the GPU bench from the kit pack.sh wrote, on a machine without Node: from the repository
# root (or anywhere: it finds .gpu/ beside scripts/). Arguments go to the bench, e.g. --quick or
# --shapes Llama-3.2-1B --contexts 8192,32768 --out results.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
kit="$root/.gpu"
[ -f "$kit/gpu-bench.mjs" ] || { echo "run.sh: no kit in $kit; run scripts/gpu-kit/pack.sh on a machine with Node first" >&2; exit 2; }
(cd "$kit" && sha256sum -c --quiet SHA256SUMS) || { echo "run.sh: the kit in $kit is damaged (checksums differ)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unxz_to() {
  if command -v xz >/dev/null; then
    xz -dc "$1" >"$2"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}
unxz_to "$kit/node.xz" "$tmp/node"
chmod +x "$tmp/node"
# The bundle loads dawn.node from its own folder (scripts/gpu-kit/bundle.mjs).
unxz_to "$kit/dawn.node.xz" "$tmp/dawn.node"
cp "$kit/gpu-bench.mjs" "$tmp/"
# The bench's GGUF files (GBs) go here too, so nothing outlives this script.
export TMPDIR="$tmp"

# Each .deb (the Vulkan loader, and the libraries NVIDIA's Vulkan driver loads) goes into / only
# where this machine lacks a library it ships: a present one is never replaced.
have=$(ldconfig -p | awk '{ print $1 }')
unpacked=
for f in "$kit"/*.deb; do
  # Sonames: the `libX.so.N -> libX.so.N.M` links, as ldconfig -p lists them.
  for lib in $(dpkg-deb -c "$f" | grep -oE '[^/ ]+\.so\.[0-9]+ ->' | cut -d' ' -f1 | sort -u); do
    if ! grep -qx "$lib" <<<"$have"; then
      dpkg -x "$f" /
      unpacked="$unpacked $(basename "$f" | cut -d_ -f1)"
      break
    fi
  done
done
if [ -n "$unpacked" ]; then
  ldconfig
  echo "run.sh: unpacked what this machine lacked:$unpacked" >&2
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then export VK_DRIVER_FILES="$nvidia_icd"; fi
if command -v nvidia-smi >/dev/null; then nvidia-smi -L >&2 || true; fi
echo "run.sh: kit of $(tr '\n' ' ' <"$kit/VERSIONS")" >&2

# In the background so that a TERM to this script (timeout, a job runner) reaches the bench too;
# rows finished so far are already in --out.
KVSIEVE_BENCH_COMMAND="scripts/gpu-kit/run.sh" "$tmp/node" "$tmp/gpu-bench.mjs" "$@" &
bench=$!
trap 'kill -TERM "$bench" 2>/dev/null' INT TERM HUP
status=0
wait "$bench" || status=$?
# A trapped signal ends the first wait early; this one waits for the bench itself.
if kill -0 "$bench" 2>/dev/null; then wait "$bench" || status=$?; fi
exit "$status"
