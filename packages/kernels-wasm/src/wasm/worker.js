// @ts-check
// The entry of a worker of the pool (src/wasm/pool.ts): Node worker_threads and browser Web Workers
// both start it. Plain JavaScript with no imports, so the same file runs from src/ (tests, where
// no TypeScript loader reaches a worker) and dist/ (published), and bundlers can copy it as it is.
//
// It receives one message: the compiled module, the shared memory, its index, the top of its own
// stack and the control block's layout (pool.ts owns it; nothing here repeats its numbers). It
// instantiates the module on that memory (the module's start function initializes data only once
// per memory, guarded by an atomic flag), points `__stack_pointer` at its own stack, answers
// `ready`, and then blocks in a loop, never returning to its event loop: jobs arrive through the
// control block (Atomics.wait on the generation word), not as messages.

/**
 * @typedef {{ GEN: number, PENDING: number, KERNEL: number, NARGS: number, ROWS: number, SCRATCH: number, STRIDE: number, STOP: number, ARGS: number, SLOTS: number,
 *   SLOT_INTS: number, ACK: number, FAILED: number, ERR_BYTES: number, ERR_LEN: number }} Layout
 * @typedef {{ module: object, memory: { buffer: SharedArrayBuffer }, ctl: number, index: number,
 *   stackTop: number, kernels: string[], layout: Layout }} Init
 * @typedef {{ postMessage(m: unknown): void, onMessage(f: (m: Init) => void): void }} Port
 */

// Synchronous, and no top-level await below: bundlers' default worker format (Vite's is iife)
// cannot hold a top-level await, and a package must not ask its users to change that.
/** @returns {Port} */
function parentPort() {
  const proc = /** @type {any} */ (globalThis).process;
  if (proc?.versions?.node) {
    const { parentPort: port } = proc.getBuiltinModule('node:worker_threads');
    return { postMessage: (m) => port.postMessage(m), onMessage: (f) => port.once('message', f) };
  }
  const self = /** @type {any} */ (globalThis);
  return {
    postMessage: (m) => self.postMessage(m),
    onMessage: (f) => {
      self.onmessage = (/** @type {{ data: Init }} */ e) => f(e.data);
    },
  };
}

/**
 * Runs jobs until the pool sets STOP. Each job: sleep until the generation moves (Atomics.wait:
 * no spinning, which measured several times slower on a machine with more runnable threads than
 * cores), acknowledge it, compute this worker's share of units with its own scratch, record any
 * error as text in the control block, and count itself done.
 * @param {Init} init
 * @param {Record<string, (...a: number[]) => void>} exports
 * @param {number} seen the generation of the last job this worker need not run
 */
function serve(init, exports, seen) {
  const { layout: L, index } = init;
  const buffer = init.memory.buffer;
  const ctl = new Int32Array(buffer, init.ctl, L.SLOTS + L.SLOT_INTS * (index + 1));
  const args = new Float64Array(buffer, init.ctl + L.ARGS * 4, 32);
  const slot = L.SLOTS + L.SLOT_INTS * index;
  const errBytes = new Uint8Array(
    buffer,
    init.ctl + (slot + L.ERR_BYTES) * 4,
    (L.SLOT_INTS - L.ERR_BYTES) * 4,
  );
  const kernels = init.kernels.map((k) => exports[k]);
  for (;;) {
    while (Atomics.load(ctl, L.GEN) === seen) Atomics.wait(ctl, L.GEN, seen);
    seen = Atomics.load(ctl, L.GEN);
    if (Atomics.load(ctl, L.STOP) !== 0) return;
    // The generation word carries the job's thread count in its low byte, so a worker outside
    // the split skips it without reading any other word: the pool does not wait for it and may
    // already be writing the next job's arguments.
    const parts = seen & 0xff;
    // Workers are numbered from 1 in a split: part 0 is the calling thread's.
    const part = index + 1;
    if (part >= parts) continue;
    Atomics.store(ctl, slot + L.ACK, seen);
    const rows = ctl[L.ROWS] ?? 0;
    const r0 = Math.floor((rows * part) / parts);
    const r1 = Math.floor((rows * (part + 1)) / parts);
    try {
      const kernel = kernels[ctl[L.KERNEL] ?? -1];
      if (!kernel) throw new Error(`no kernel number ${ctl[L.KERNEL]}`);
      const n = ctl[L.NARGS] ?? 0;
      const a = new Array(n + 3);
      for (let i = 0; i < n; i++) a[i] = args[i];
      a[n] = r0;
      a[n + 1] = r1;
      a[n + 2] = (ctl[L.SCRATCH] ?? 0) + part * (ctl[L.STRIDE] ?? 0);
      kernel(...a);
    } catch (e) {
      const text = new TextEncoder().encode(String(e instanceof Error ? `${e.name}: ${e.message}` : e));
      const len = Math.min(text.length, errBytes.length);
      // A shared view: TextEncoder.encodeInto refuses SharedArrayBuffer-backed arrays.
      for (let i = 0; i < len; i++) errBytes[i] = text[i] ?? 0;
      ctl[slot + L.ERR_LEN] = len;
      Atomics.store(ctl, slot + L.FAILED, 1);
    }
    if (Atomics.sub(ctl, L.PENDING, 1) === 1) Atomics.notify(ctl, L.PENDING);
  }
}

const port = parentPort();
port.onMessage(async (init) => {
  try {
    // Reached through globalThis: the package's build does not load the DOM library's declarations.
    const wasm = /** @type {any} */ (globalThis).WebAssembly;
    const instance = await wasm.instantiate(init.module, { env: { memory: init.memory } });
    // Globals are per instance: this one's stack is its own region of the shared memory.
    instance.exports.__stack_pointer.value = init.stackTop;
    // The generation now, read before saying ready: the pool posts its first job only after every
    // worker is ready, so a job can never be taken for one already seen.
    const seen = Atomics.load(new Int32Array(init.memory.buffer, init.ctl, 1), init.layout.GEN);
    port.postMessage({ type: 'ready' });
    serve(init, instance.exports, seen);
  } catch (e) {
    port.postMessage({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
});
