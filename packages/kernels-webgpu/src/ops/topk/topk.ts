import type { Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../gpu/storage.js';
import { COMPACT, SELECT } from './select.js';
import { EXTRACT, encodeSort, LOCAL } from './sort.js';

// Per-row top-k. Small k (its padded size at most a quarter of the row's): radix select to exactly
// k candidates, then sort those. Otherwise: sort the whole row. Both end by copying the first k
// indices. Everything is encoded into one command buffer; nothing is read back.

const pow2 = (v: number) => 2 ** Math.ceil(Math.log2(Math.max(2, v)));

export function topkGpu(env: OpEnv, x: Tensor, R: number, n: number, k: number): Tensor {
  const out = env.out([R, k], 'i32', 'topk');
  if (R === 0) return out;
  const rowP = pow2(n);
  const candP = pow2(k);
  const viaSelect = candP * 4 <= rowP;
  const Pn = viaSelect ? candP : rowP;
  const wgBytes = env.ctx.device.limits.maxComputeWorkgroupStorageSize;
  const maxBlock = Math.min(2048, 2 ** Math.floor(Math.log2(wgBytes / 8)));
  const BS = Math.min(Pn, maxBlock);
  // Scratch pairs are [R, P] tensors so that they face the same binding-limit check as any tensor.
  const keys = env.out([R, Pn], 'u32', 'topk keys (scratch)');
  const ids = env.out([R, Pn], 'u32', 'topk indices (scratch)');
  const sel = viaSelect ? env.out([R], 'u32', 'topk thresholds (scratch)') : null;
  const [xb, kb, ib, sb] = [
    env.bind(x, 'topk'),
    keys.storage.binding,
    ids.storage.binding,
    sel?.storage.binding,
  ];
  const batch = env.ctx.batch();
  const base = { n, P: Pn, BS, k: 0, j: 0, rows: R, topk: k };
  encodeSort(batch, kb, ib, base, maxBlock, () => {
    if (sb) {
      batch.dispatch(SELECT({}), { x: xb, sel: sb }, base, [1, R]);
      batch.dispatch(COMPACT({}), { x: xb, sel: sb, keys: kb, ids: ib }, base, [1, R]);
      batch.dispatch(LOCAL({ from: 'pairs', block: maxBlock }), { keys: kb, ids: ib }, base, [Pn / BS, R]);
    } else {
      batch.dispatch(LOCAL({ from: 'scores', block: maxBlock }), { x: xb, keys: kb, ids: ib }, base, [
        Pn / BS,
        R,
      ]);
    }
  });
  batch.dispatch(
    EXTRACT({}),
    { ids: ib, out: out.storage.binding },
    base,
    batch.grid(Math.ceil((R * k) / 256)),
  );
  batch.done();
  keys.dispose();
  ids.dispose();
  sel?.dispose();
  return out;
}
