// Throughput of the stored-weight row kernels per ggml type: a [rows, k] GEMV (k = 576, SmolLM2's
// width, or 768 for 256-element blocks, which 576 does not divide; and 2048) through kv_row_dot per row, kv_row_dot4 per four rows, and kv_row_decode alone
// (what a dequantized copy would cost before any multiply). One thread, timed inside wasm.
//
//   node bench/quant-kernels.mjs [seconds per timed run, default 0.02] [type names...]
import { fileURLToPath } from 'node:url';
import { buildQuantWasm, instantiateQuantWasm } from '../test/build-test-wasm.mjs';

// ggml type id, name, elements per block, bytes per block, offsets of the f16 scale fields.
const TYPES = [
  [0, 'F32', 1, 4, []],
  [1, 'F16', 1, 2, []],
  [30, 'BF16', 1, 2, []],
  [2, 'Q4_0', 32, 18, [0]],
  [3, 'Q4_1', 32, 20, [0, 2]],
  [6, 'Q5_0', 32, 22, [0]],
  [7, 'Q5_1', 32, 24, [0, 2]],
  [8, 'Q8_0', 32, 34, [0]],
  [20, 'IQ4_NL', 32, 18, [0]],
  [10, 'Q2_K', 256, 84, [80, 82]],
  [11, 'Q3_K', 256, 110, [108]],
  [12, 'Q4_K', 256, 144, [0, 2]],
  [13, 'Q5_K', 256, 176, [0, 2]],
  [14, 'Q6_K', 256, 210, [208]],
  [23, 'IQ4_XS', 256, 136, [0]],
];
const ROWS = 1024;
const seconds = Number(process.argv[2] ?? 0.02);
const ROUNDS = 15;
const only = new Set(process.argv.slice(3).map((t) => t.toUpperCase()));

const wasm = await instantiateQuantWasm(
  buildQuantWasm(undefined, [fileURLToPath(new URL('./quant-gemv.c', import.meta.url))]),
);
const { bench_gemv: gemv } = wasm.exports;

let seed = 12345;
const nextByte = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed >>> 24;
};

/**
 * Row bytes for a type: random quants, normal f16 scales (subnormal operands can take slow paths
 * in x86 multiplies, which would time something no real weight does), random normal dense values.
 */
function weights(type, k) {
  const [id, , block, blockBytes, halves] = type;
  const rowBytes = (k / block) * blockBytes;
  const bytes = new Uint8Array(ROWS * rowBytes);
  for (let i = 0; i < bytes.length; i++) bytes[i] = nextByte();
  if (id === 0) {
    const f = new Float32Array(bytes.buffer);
    for (let i = 0; i < f.length; i++) f[i] = (nextByte() - 128) / 128;
  } else if (id === 1 || id === 30) {
    // f16: sign, exponent 11-16 (0.004-2); bf16: sign, exponent 120-127.
    for (let i = 1; i < bytes.length; i += 2) {
      bytes[i] = (bytes[i] & 0x80) | (id === 1 ? 0x2c + (bytes[i] % 0x14) : 0x3c + (bytes[i] % 4));
    }
  } else {
    for (let b = 0; b < bytes.length; b += blockBytes) {
      for (const o of halves) {
        bytes[b + o] = nextByte();
        bytes[b + o + 1] = 0x18 + (nextByte() % 8); // 2^-9 .. 2^-8: a normal half
      }
    }
  }
  return { bytes, rowBytes };
}

/** This process's CPU seconds: time it spends descheduled on a shared machine is not counted. */
function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Weight elements (times x vectors) per CPU second of modes 0 (dot), 1 (dot4), 2 (decode) and
 * 3 (dot_x4, four products per element). Runs are ~`seconds` long and
 * the modes take turns, ROUNDS times, each keeping its fastest run: on a shared machine the
 * fastest run is the one least disturbed, and taking turns gives every mode the same chances. A
 * first untimed round lets V8 swap its baseline wasm code for optimised code.
 */
function rates(type, k, wAt, rowBytes, xAt, outAt, rowsAt) {
  const run = (mode, reps) => {
    const t0 = cpuSeconds();
    gemv(type[0], wAt, ROWS, rowBytes, xAt, k, outAt, mode, reps, rowsAt);
    return cpuSeconds() - t0;
  };
  const modes = [0, 1, 2, 3];
  const reps = modes.map((mode) => {
    let n = 1;
    for (let s = run(mode, n); s < seconds; s = run(mode, n))
      n = Math.ceil((n * 1.2 * seconds) / Math.max(s, 1e-4));
    return n;
  });
  const best = [0, 0, 0, 0];
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of modes) {
      const products = reps[mode] * ROWS * k * (mode === 3 ? 4 : 1);
      best[mode] = Math.max(best[mode], products / run(mode, reps[mode]));
    }
  }
  return best;
}

const fmt = (v) => (v / 1e9).toFixed(2).padStart(6);
console.log(
  `rows=${ROWS}, one thread, G elements per CPU second (weight GB/s for dot4); load ${(await loadavg()).trim()}`,
);
console.log('type      k     dot   dot4  dot4/dot  dot_x4  x4/dot  decode  dot4 GB/s');
for (const type of TYPES) {
  if (only.size > 0 && !only.has(type[1])) continue;
  for (const k of [type[2] === 256 ? 768 : 576, 2048]) {
    wasm.reset();
    const { bytes, rowBytes } = weights(type, k);
    const wAt = wasm.alloc(bytes.length);
    new Uint8Array(wasm.memory.buffer, wAt, bytes.length).set(bytes);
    const xAt = wasm.alloc(4 * 4 * k);
    const x = new Float32Array(wasm.memory.buffer, xAt, 4 * k);
    for (let i = 0; i < x.length; i++) x[i] = (nextByte() - 128) / 128;
    const outAt = wasm.alloc(4 * 4 * ROWS);
    const rowsAt = wasm.alloc(4 * k);
    const [dot, dot4, decode, x4] = rates(type, k, wAt, rowBytes, xAt, outAt, rowsAt);
    const gbs = (dot4 * rowBytes) / k / 1e9;
    console.log(
      `${type[1].padEnd(7)} ${String(k).padStart(4)}  ${fmt(dot)} ${fmt(dot4)}  ${(dot4 / dot).toFixed(2).padStart(7)}  ${fmt(x4)}  ${(x4 / dot).toFixed(2).padStart(6)}  ${fmt(decode)}  ${gbs.toFixed(2).padStart(8)}`,
    );
  }
}

async function loadavg() {
  const { readFile } = await import('node:fs/promises');
  return readFile('/proc/loadavg', 'utf8').catch(() => 'n/a');
}
