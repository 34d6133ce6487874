import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

/** The repository root (the folder holding pnpm-workspace.yaml). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('test-utils: no pnpm-workspace.yaml above this file');
    dir = up;
  }
  return dir;
}

/**
 * `../shared` beside the checkout (or `$KVSIEVE_SHARED`), holding reference vectors, models and
 * data that a user's fresh clone does not have.
 */
export function sharedDir(): string {
  return process.env.KVSIEVE_SHARED
    ? resolve(process.env.KVSIEVE_SHARED)
    : resolve(repoRoot(), '..', 'shared');
}

/** True when CI demands that tests needing ../shared run rather than skip. */
export function sharedRequired(): boolean {
  return process.env.KVSIEVE_REQUIRE_SHARED === '1';
}

/**
 * A describe block that needs files under ../shared. When they are missing it skips with a message
 * naming them, or, under KVSIEVE_REQUIRE_SHARED=1, fails with that message.
 */
export function describeShared(name: string, paths: readonly string[], body: (shared: string) => void): void {
  const root = sharedDir();
  const missing = paths.filter((p) => !existsSync(join(root, p)));
  if (missing.length === 0) {
    describe(name, () => body(root));
    return;
  }
  const reason = `needs ${missing.map((p) => join(root, p)).join(', ')} (the project's ../shared folder), which is absent`;
  if (sharedRequired()) {
    describe(name, () => {
      it('has its shared inputs', () => {
        throw new Error(`${reason}; KVSIEVE_REQUIRE_SHARED=1 turns this skip into a failure`);
      });
    });
  } else {
    console.warn(`[skip] ${name}: ${reason}`);
    // The body is not run at all: collecting it may already read the missing files.
    describe.skip(`${name} (skipped: ${reason})`, () => {
      it.skip('runs when ../shared is present', () => {});
    });
  }
}
