import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Tests run on the TypeScript sources, but the kernels are C: rebuild wasm/ when a C file is newer
 * than the modules (a no-op otherwise), so `vitest run` after editing csrc/ tests the edit.
 */
export default function setup(): void {
  const script = fileURLToPath(new URL('../scripts/build-wasm.mjs', import.meta.url));
  execFileSync(process.execPath, [script, '--if-stale'], { stdio: 'inherit' });
}
