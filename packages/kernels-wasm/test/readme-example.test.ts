import { runReadmeExample } from '@kvsieve/test-utils';
import { expect, it } from 'vitest';

it('the README example runs and the wasm backend keeps the same keys as the CPU reference', async () => {
  const [[wasm, cpu]] = (await runReadmeExample(import.meta.url)) as [[number[], number[]]];
  expect(wasm).toHaveLength(2 * 16); // 2 KV heads × 16 kept keys
  expect(wasm).toEqual(cpu);
});
