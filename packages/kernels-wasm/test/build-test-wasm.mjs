// Compiles the stored-weight row kernels (csrc/quant*.c) alone into a small wasm module for their
// tests and benchmark, so they can be checked without the package's full build. The package build
// links the same sources into its own module; this one only needs clang and wasm-ld.
//
//   node test/build-test-wasm.mjs [out.wasm] [extra.c ...]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const csrc = resolve(here, '../csrc');
export const QUANT_SOURCES = ['quant.c', 'quant-32.c', 'quant-k.c'].map((f) => join(csrc, f));

/** The clang to use: $KVSIEVE_CLANG, else Debian's clang-16, else `clang`. */
export function findClang() {
  const candidates = [process.env.KVSIEVE_CLANG, 'clang-16', 'clang'].filter(Boolean);
  for (const c of candidates) {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return c;
    } catch {}
  }
  throw new Error(
    `no clang found (tried ${candidates.join(', ')}): install clang-16 and lld-16 (scripts/setup.sh)`,
  );
}

/**
 * Builds the kernels (plus `extra` C files) into `out` (a fresh temporary file by default) and
 * returns its path. Freestanding, SIMD128, -O3, warnings as errors; exports the kernels, the
 * memory and __heap_base (where a test may start placing its data).
 */
export function buildQuantWasm(out, extra = []) {
  const target = out ?? join(mkdtempSync(join(tmpdir(), 'kvsieve-quant-')), 'quant.wasm');
  const args = [
    '--target=wasm32',
    '-msimd128',
    '-O3',
    '-nostdlib',
    '-ffreestanding',
    '-Wall',
    '-Wextra',
    '-Werror',
    `-I${csrc}`,
    '-Wl,--no-entry',
    '-Wl,--export=__heap_base',
    ...QUANT_SOURCES,
    ...extra,
    '-o',
    target,
  ];
  execFileSync(findClang(), args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return target;
}

/**
 * Instantiates a module built by buildQuantWasm. `alloc(bytes)` hands out 16-byte-aligned space
 * after __heap_base, growing the memory as needed; `reset()` frees it all.
 */
export async function instantiateQuantWasm(path) {
  const { instance } = await WebAssembly.instantiate(readFileSync(path), {});
  const exports = instance.exports;
  const memory = exports.memory;
  const base = exports.__heap_base.value;
  let top = base;
  return {
    exports,
    memory,
    alloc(bytes) {
      const at = (top + 15) & ~15;
      top = at + bytes;
      const need = top - memory.buffer.byteLength;
      if (need > 0) memory.grow(Math.ceil(need / 65536));
      return at;
    },
    reset() {
      top = base;
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [out, ...extra] = process.argv.slice(2);
  console.log(buildQuantWasm(out, extra));
}
