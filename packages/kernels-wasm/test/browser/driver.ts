// Bundled by scripts/browser-check.mjs and run in Chromium twice: imported by a cross-origin-
// isolated page (main thread: the pool must fall back to 1 thread and say why) and started as a
// module Web Worker (the pool must run, with results bit-identical to 1 thread).
import { createWasmBackend } from '../../src/index.js';

export interface CheckResult {
  readonly where: string;
  readonly threads: number;
  readonly note: string | undefined;
  readonly same: boolean;
}

export async function check(threads: number): Promise<CheckResult> {
  const backends = [
    await createWasmBackend({ threads: 1 }),
    await createWasmBackend({ threads, minThreadWork: 0 }),
  ];
  const outs: Float32Array[][] = [];
  for (const be of backends) {
    const [K, N] = [576, 300];
    const a = be.upload(
      Float32Array.from({ length: K }, (_, i) => Math.sin(i)),
      [1, K],
      'f32',
    );
    const w = be.upload(
      Float32Array.from({ length: N * K }, (_, i) => Math.cos(i * 0.37)),
      [N, K],
      'f16',
    );
    const m = be.upload(
      Float32Array.from({ length: 20 * K }, (_, i) => Math.sin(i * 0.11)),
      [20, K],
      'f32',
    );
    outs.push([
      (await be.read(be.matmul(a, w, { transposeB: true }))) as Float32Array,
      (await be.read(be.matmul(m, w, { transposeB: true }))) as Float32Array,
    ]);
  }
  const same = outs[0]!.every(
    (x, i) => x.length === outs[1]![i]!.length && x.every((v, j) => Object.is(v, outs[1]![i]![j])),
  );
  const result = {
    where: typeof document === 'undefined' ? 'worker' : 'page',
    threads: backends[1]!.threads,
    note: backends[1]!.threadsNote,
    same,
  };
  for (const b of backends) b.destroy();
  return result;
}

declare const document: unknown;
declare function postMessage(m: unknown): void;

if (typeof document === 'undefined') {
  check(3).then(postMessage, (e: Error) => postMessage({ error: `${e.name}: ${e.message}` }));
}
