#!/usr/bin/env node
import { main } from './main.js';

const argv = process.argv.slice(2);

/** The commands that compute on a backend (and take --backend). */
const COMPUTING = new Set(['run', 'inspect', 'eval', 'calibrate']);

/** Will this command line open a WebGPU adapter: --backend webgpu, or auto (the default), which probes one? */
function opensAdapter(): boolean {
  if (!COMPUTING.has(argv[0] ?? '') || argv.includes('--help') || argv.includes('-h')) return false;
  let backend = 'auto';
  argv.forEach((a, i) => {
    if (a.startsWith('--backend=')) backend = a.slice('--backend='.length);
    else if (a === '--backend' && argv[i + 1] !== undefined) backend = argv[i + 1]!;
  });
  return backend === 'auto' || backend === 'webgpu';
}

/**
 * Dawn prints two notices about clamped limits from native code whenever a WebGPU adapter is
 * opened; nothing in the process can silence them, so a run that will open one (to use it, or for
 * --backend auto to look at it) re-runs itself as a child whose stderr drops exactly those lines
 * (`--verbose` keeps them).
 */
async function withoutDriverNotices(): Promise<number | undefined> {
  if (!opensAdapter() || argv.includes('--verbose')) return undefined;
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
