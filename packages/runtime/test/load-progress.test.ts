import { CpuBackend } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { type LoadProgress, loadModel } from '../src/index.js';
import { TINY, writeHfFolder } from './fixtures/tiny-model.js';

// A page's loading bar and its Cancel button: onProgress after every tensor, and an AbortSignal
// that stops the upload between tensors with nothing left on the backend.

describe('loadModel progress and cancellation', () => {
  const dir = writeHfFolder(TINY, { seed: 5 });

  it('reports every tensor once, in order, ending at the bytes the weights take', async () => {
    const seen: LoadProgress[] = [];
    const model = await loadModel(dir, { onProgress: (p) => seen.push(p) });
    try {
      const total = seen[0]!.totalTensors;
      expect(seen.length).toBe(total);
      expect(new Set(seen.map((p) => p.name)).size).toBe(total);
      expect(seen.map((p) => p.tensors)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.bytes).toBeGreaterThan(seen[i - 1]!.bytes);
      expect(seen.at(-1)!.bytes).toBe(model.weightBytes());
    } finally {
      model.dispose();
    }
  });

  it('an abort between tensors rejects with the signal reason and frees what was uploaded', async () => {
    const backend = new CpuBackend();
    const abort = new AbortController();
    let uploaded = 0;
    const err = await loadModel(dir, {
      backend,
      signal: abort.signal,
      onProgress: (p) => {
        uploaded = p.tensors;
        if (p.tensors === 3) abort.abort();
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(uploaded).toBe(3);
    expect((err as Error).name).toBe('AbortError');
    expect(backend.liveBytes()).toBe(0);
  });

  it('a signal aborted before the call rejects with its reason before reading anything', async () => {
    const backend = new CpuBackend();
    const reason = new Error('user closed the tab');
    const progress: LoadProgress[] = [];
    await expect(
      loadModel('/no/such/model', {
        backend,
        signal: AbortSignal.abort(reason),
        onProgress: (p) => progress.push(p),
      }),
    ).rejects.toBe(reason);
    expect(progress).toEqual([]);
    expect(backend.liveBytes()).toBe(0);
  });

  it('with a signal the load yields to the event loop, so a message can abort it mid-way', async () => {
    const backend = new CpuBackend();
    const abort = new AbortController();
    // The abort comes from a timer, as a worker's 'cancel' message would: it can only run if
    // the load gives the event loop a turn between tensors.
    setTimeout(() => abort.abort(), 0);
    const slow = new Proxy(backend, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop !== 'upload') return typeof v === 'function' ? v.bind(target) : v;
        return (...a: Parameters<CpuBackend['upload']>) => {
          const until = performance.now() + 25;
          while (performance.now() < until) {}
          return target.upload(...a);
        };
      },
    });
    const err = await loadModel(dir, { backend: slow, signal: abort.signal }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as Error).name).toBe('AbortError');
    expect(backend.liveBytes()).toBe(0);
  });
});
