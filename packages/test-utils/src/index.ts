import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

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

/**
 * A package's README example check: the README (`../README.md` from the test) contains
 * `exampleFile` (beside the test, default `readme-example.ts`) verbatim, and the example runs. Returns what it logged,
 * one array of arguments per `console.log` call, for the test's own expectations.
 */
export async function runReadmeExample(
  testFileUrl: string,
  exampleFile = 'readme-example.ts',
): Promise<unknown[][]> {
  const examplePath = fileURLToPath(new URL(`./${exampleFile}`, testFileUrl));
  const example = readFileSync(examplePath, 'utf8');
  const readme = readFileSync(new URL('../README.md', testFileUrl), 'utf8');
  expect(readme).toContain(example.trim());
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await import(examplePath);
    return log.mock.calls.map((c) => [...c]);
  } finally {
    log.mockRestore();
  }
}
