import { expect, it } from 'vitest';
import { quickstart } from '../examples/quickstart.js';

it('the README example runs and WebGPU picks the same keys as the CPU reference', async () => {
  const { gpu, cpu } = await quickstart();
  expect(gpu).toHaveLength(2 * 16); // 2 KV heads × 16 kept keys
  expect(gpu).toEqual(cpu);
});
