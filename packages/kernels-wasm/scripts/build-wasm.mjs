#!/usr/bin/env node
// Compiles every csrc/*.c into the package's two WebAssembly modules with Debian 12's clang-16 and
// lld-16 (installed by scripts/setup.sh):
//   wasm/kernels-mt.wasm  atomics + a shared imported memory (up to 4 GiB), for worker threads
//   wasm/kernels-st.wasm  a plain imported memory, for pages without cross-origin isolation
// Both import their memory (`env.memory`), so the TypeScript side owns it and its allocator; both
// use SIMD128 and bulk memory (memcpy/memset become memory.copy/memory.fill: no libc is linked).
//
//   node scripts/build-wasm.mjs              build
//   node scripts/build-wasm.mjs --if-stale   build only when a source is newer than an output
//
// Outputs are written to a temporary name and renamed, so a reader never sees half a module.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..');
const CSRC = join(PACKAGE, 'csrc');
const OUT = join(PACKAGE, 'wasm');
const CLANG = process.env.KVSIEVE_CLANG ?? 'clang-16';

// Keep in step with src/wasm/instance.ts: the memory the TypeScript side creates must have at
// least the initial size the modules declare, and the same maximum (4 GiB, all of wasm32).
const INITIAL_MEMORY = 2 * 1024 * 1024;
const MAX_MEMORY = 4 * 1024 * 1024 * 1024;
// Kernels take their working space from the caller (scratch); the stack only holds spills and
// small arrays, so 1 MiB is plenty.
const STACK_SIZE = 1024 * 1024;

const COMMON = [
  '--target=wasm32',
  '-O3',
  '-msimd128',
  '-mbulk-memory',
  '-ffreestanding',
  '-nostdlib',
  '-Wall',
  '-Wextra',
  `-Wl,--no-entry,--import-memory,--export-dynamic,--max-memory=${MAX_MEMORY},--initial-memory=${INITIAL_MEMORY}`,
  `-Wl,-z,stack-size=${STACK_SIZE}`,
  // The allocator starts above __heap_base; a worker pool gives each thread its own stack
  // through __stack_pointer.
  '-Wl,--export=__heap_base,--export=__stack_pointer',
];

const VARIANTS = [
  { file: 'kernels-mt.wasm', flags: ['-matomics', '-Wl,--shared-memory'] },
  { file: 'kernels-st.wasm', flags: [] },
];

function sources() {
  return readdirSync(CSRC)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => join(CSRC, f));
}

/** True when an output is missing or older than a C source, header or this script. */
export function wasmIsStale() {
  const inputs = [
    fileURLToPath(import.meta.url),
    ...readdirSync(CSRC)
      .filter((f) => /\.[ch]$/.test(f))
      .map((f) => join(CSRC, f)),
  ];
  const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
  return VARIANTS.some((v) => {
    const out = join(OUT, v.file);
    return !existsSync(out) || statSync(out).mtimeMs < newest;
  });
}

export function buildWasm() {
  try {
    execFileSync(CLANG, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      `build-wasm: ${CLANG} was not found. The kernels are C compiled to WebAssembly with Debian 12's ` +
        'clang-16 and lld-16: run `sudo apt-get install -y clang-16 lld-16` (or `bash scripts/setup.sh`), ' +
        'or point KVSIEVE_CLANG at another clang with the wasm32 target and wasm-ld.',
    );
  }
  mkdirSync(OUT, { recursive: true });
  const files = sources();
  for (const v of VARIANTS) {
    const out = join(OUT, v.file);
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync(CLANG, [...COMMON, ...v.flags, ...files, '-o', tmp], { stdio: 'inherit' });
    renameSync(tmp, out);
  }
  return VARIANTS.map((v) => join(OUT, v.file));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  if (!ifStale || wasmIsStale()) {
    try {
      const built = buildWasm();
      console.log(`build-wasm: ${built.map((f) => f.slice(PACKAGE.length + 1)).join(', ')}`);
    } catch (e) {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(1);
    }
  }
}
