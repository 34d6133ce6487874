import { WasmWorkerError } from '../errors.js';

/** A started pool worker (src/wasm/worker.js) in Node or a browser. */
export interface WorkerHandle {
  /** Sends the worker its setup; resolves when it has instantiated the module and is waiting for jobs. */
  start(init: object): Promise<void>;
  terminate(): void;
}

/** How long a worker may take to load and instantiate the module before the pool gives up. */
const START_TIMEOUT_MS = 60_000;

interface NodeWorker {
  postMessage(m: unknown): void;
  on(event: string, f: (x: unknown) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}

interface BrowserWorker {
  postMessage(m: unknown): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string }) => void) | null;
  terminate(): void;
}

// Declared here rather than taken from the DOM library, which this package's build does not load.
declare const Worker: new (url: URL, options: { type: 'module' }) => BrowserWorker;

type Builtin = (id: 'node:worker_threads') => {
  Worker: new (url: URL, options: { execArgv: string[] }) => NodeWorker;
};

function nodeBuiltin(): Builtin | undefined {
  const proc = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: Builtin } })
    .process;
  return proc?.versions?.node ? proc.getBuiltinModule : undefined;
}

/**
 * Starts one worker running src/wasm/worker.js: a `worker_threads` Worker in Node (unref'd, so
 * an idle pool never keeps the process alive), a module Web Worker in a browser. `onDeath` is
 * called if the worker fails or exits on its own later: the pool stops taking jobs.
 */
export function spawnWorker(onDeath: (why: string) => void): WorkerHandle {
  let settle: ((error?: string) => void) | undefined;
  const message = (m: unknown) => {
    const msg = m as { type?: string; message?: string };
    settle?.(msg.type === 'ready' ? undefined : `failed to start: ${msg.message ?? 'unknown error'}`);
  };
  const died = (why: string) => {
    if (settle) settle(why);
    else onDeath(why);
  };
  let post: (m: unknown) => void;
  let terminate: () => void;
  const builtin = nodeBuiltin();
  if (builtin) {
    if (typeof builtin !== 'function') {
      throw new WasmWorkerError('kernels-wasm: threads need Node 20.16 or later (process.getBuiltinModule)');
    }
    // execArgv []: the entry is plain JavaScript with no imports, so it needs none of the parent's
    // flags, and some break it (under `node --input-type=module -e`, a worker inheriting them dies).
    const worker = new (builtin('node:worker_threads').Worker)(new URL('./worker.js', import.meta.url), {
      execArgv: [],
    });
    worker.on('message', message);
    worker.on('error', (e) => died(`failed: ${(e as Error).message ?? e}`));
    worker.on('exit', (code) => died(`exited (code ${code})`));
    // After the listeners: adding a 'message' listener refs the worker's port again, and a ref'd
    // port keeps the process alive forever (the worker never returns to its event loop).
    worker.unref();
    post = (m) => worker.postMessage(m);
    terminate = () => void worker.terminate();
  } else {
    if (typeof (globalThis as { Worker?: unknown }).Worker !== 'function')
      throw new WasmWorkerError('kernels-wasm: threads need Web Workers, which this context lacks');
    // Written as `new Worker(new URL(…, import.meta.url))` so that bundlers find and copy the entry.
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (e) => message(e.data);
    worker.onerror = (e) => died(`failed: ${e.message ?? 'error event'}`);
    post = (m) => worker.postMessage(m);
    terminate = () => worker.terminate();
  }
  let terminated = false;
  return {
    start(init) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => settle?.(`did not start within ${START_TIMEOUT_MS / 1000} s`),
          START_TIMEOUT_MS,
        );
        settle = (error) => {
          settle = undefined;
          clearTimeout(timer);
          if (error === undefined) resolve();
          else reject(new WasmWorkerError(`kernels-wasm: a pool worker ${error}`));
        };
        post(init);
      });
    },
    terminate() {
      if (terminated) return;
      terminated = true;
      settle = undefined;
      terminate();
    },
  };
}
