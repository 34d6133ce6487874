#!/usr/bin/env bash
# What a contributor does first, end to end, on this checkout: scaffold a method, run its tests,
# run it from the CLI on the shared tiny model, then put the tree back as it was.
# (CI runs it last, on its own clone; ../shared must be beside the checkout.)
set -euo pipefail
cd "$(dirname "$0")/.."
name=ci-probe
shared=${KVSIEVE_SHARED:-../shared}
restore() {
  git checkout -q -- README.md packages/cli/package.json packages/conformance/package.json \
    packages/conformance/test/methods.ts pnpm-lock.yaml
  rm -rf "packages/methods-$name"
  pnpm install --prefer-offline --frozen-lockfile >/dev/null
}
trap restore EXIT
pnpm new-method "$name"
pnpm vitest run "packages/methods-$name" packages/conformance/test/matrix.test.ts
head -c 1500 "$shared/data/paul-graham-essays/avg.txt" > "${TMPDIR:-/tmp}/kvsieve-new-method-prompt.txt"
pnpm kvsieve run "$shared/models/stories260K/stories260K.gguf" \
  --prompt-file "${TMPDIR:-/tmp}/kvsieve-new-method-prompt.txt" --method "$name" --budget 50% --max-tokens 16
echo "==> pnpm new-method $name: generated, tested and run"
