import type { FromWorker, ToWorker } from './worker/protocol.js';

/** The page's side of the compute worker: requests get ids; replies go to their listener. */
export class WorkerClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly listeners = new Map<number, (m: FromWorker) => void>();
  onGlobal: (m: FromWorker) => void = () => {};

  constructor() {
    this.worker = new Worker(new URL('./worker/worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      const m = ev.data;
      const l = 'id' in m ? this.listeners.get(m.id) : undefined;
      if (l) l(m);
      else this.onGlobal(m);
    };
    this.worker.onerror = (ev) =>
      this.onGlobal({ type: 'fatal', message: `the compute worker failed: ${ev.message}` });
  }

  send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  /** Send a request with a fresh id; `on` gets its replies until it returns true (finished). */
  request(make: (id: number) => ToWorker, on: (m: FromWorker) => boolean | undefined): number {
    const id = this.nextId++;
    this.listeners.set(id, (m) => {
      if (on(m) === true) this.listeners.delete(id);
    });
    this.worker.postMessage(make(id));
    return id;
  }
}
