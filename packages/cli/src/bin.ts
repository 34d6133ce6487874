#!/usr/bin/env node
import { main } from './main.js';

const argv = process.argv.slice(2);

/**
 * Dawn prints two notices about clamped limits from native code whenever a WebGPU adapter is
 * opened; nothing in the process can silence them, so a run that will use WebGPU re-runs itself as
 * a child whose stderr drops exactly those lines (`--verbose` keeps them).
 */
async function withoutDriverNotices(): Promise<number | undefined> {
  const webgpu = argv.some(
    (a, i) => a === '--backend=webgpu' || (a === '--backend' && argv[i + 1] === 'webgpu'),
  );
  if (!webgpu || argv.includes('--verbose')) return undefined;
  const specifier = '@kvsieve/kernels-webgpu/node';
  const node = (await import(specifier).catch(() => null)) as {
    relaunchWithoutDawnWarnings(): Promise<number | undefined>;
  } | null;
  return node?.relaunchWithoutDawnWarnings();
}

const relaunched = await withoutDriverNotices();
if (relaunched !== undefined) process.exit(relaunched);
// Exit explicitly (a WebGPU device keeps the event loop alive), but only once stdout has taken
// everything: exiting at once truncates output going to a pipe.
main(argv).then((code) => process.stdout.write('', () => process.exit(code)));
