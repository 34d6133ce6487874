import type { Backend, CompressionMethod, KVDType } from '@kvsieve/core';
import { loadModel, type Model, renderChat } from '@kvsieve/runtime';
import type { CommonArgs } from '../args.js';
import { type BackendChoice, type BackendName, chooseBackend, describeThreads } from '../backend.js';
import { progressBar } from '../format.js';
import type { CliIO } from '../io.js';
import { defaultImporter, type ModuleImporter, resolveMethod } from '../resolve.js';
import { paint } from '../style.js';

export interface Session {
  backend: Backend;
  /** Which backend, why, and on how many threads (the run summary prints it). */
  choice: BackendChoice;
  model: Model;
  method: CompressionMethod | undefined;
  ids: number[];
  /** How the cache stores keys and values (the flag, else f16 on WebGPU with shader-f16, else f32). */
  kvDtype: KVDType;
  onLayer: (layer: number, numLayers: number) => void;
}

export async function openSession(a: CommonArgs, io: CliIO, importer?: ModuleImporter): Promise<Session> {
  // Resolve the method first: a missing package should fail before a large model loads.
  const method =
    a.method === null ? undefined : await resolveMethod(a.method, a.methodOptions, importer, io.cwd);
  const choice = await openBackend(a.backend, a.threads, io, importer);
  const backend = choice.backend;
  const model = await loadModel(a.model, { backend });
  let text = a.prompt;
  if (a.chat) {
    // The model's own template; a model without one gets kvsieve's fallback, and the user is told.
    const chat = renderChat(
      model.tokenizer,
      [{ role: 'user', content: a.prompt }],
      a.chatTemplate === undefined ? {} : { template: a.chatTemplate },
    );
    if (chat.note) io.err(`${paint(io, 'note', 'kvsieve: note:')} ${chat.note}\n`);
    text = chat.text;
  }
  const ids = model.tokenizer.encode(text, { addSpecial: !a.chat });
  const onLayer = (layer: number, numLayers: number) => {
    if (!io.interactive) return;
    io.err(progressBar('prefill', layer + 1, numLayers));
    if (layer + 1 === numLayers) io.err('\n');
  };
  const kvDtype = a.kvDtype ?? (choice.name === 'webgpu' && backend.features.shaderF16 ? 'f16' : 'f32');
  return { backend, choice, model, method, ids, kvDtype, onLayer };
}

/** Create the backend `--backend`/`--threads` ask for; its notes (e.g. threads ignored) go to stderr. */
export async function openBackend(
  name: BackendName,
  threads: number | undefined,
  io: CliIO,
  importer: ModuleImporter = defaultImporter,
): Promise<BackendChoice> {
  const choice = await chooseBackend(name, { threads, importer });
  for (const n of choice.notes) io.err(`${paint(io, 'note', 'kvsieve: note:')} ${n}\n`);
  return choice;
}

/** "wasm (auto: no hardware GPU adapter: lavapipe is a CPU rasterizer), 2 threads" */
export function describeBackend(c: BackendChoice): string {
  const threads = describeThreads(c);
  return `${c.name} (${c.reason})${threads ? `, ${threads}` : ''}`;
}

/** The backend as the --json outputs give it. */
export function backendJson(c: BackendChoice) {
  return {
    name: c.name,
    requested: c.requested,
    reason: c.reason,
    threads: c.threads,
    requestedThreads: c.requestedThreads,
  };
}
