/// <reference lib="webworker" />
// The compute worker: owns the backend and the model, so prefill and decode never block the page.
import type { Backend } from '@kvsieve/core';
import { calibrate } from '@kvsieve/methods-surfacelogickv';
import { loadModel, type Model } from '@kvsieve/runtime';
import { pickBackend } from './backend.js';
import { describeMethods } from './methods.js';
import { niahPrompt } from './niah.js';
import type { FromWorker, ModelSource, ModelSummary, ToWorker } from './protocol.js';
import { runOne, tokenPieces } from './run.js';
import { readSource } from './sources.js';

const post = (m: FromWorker) => (self as unknown as Worker).postMessage(m);
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

let backend: Backend | null = null;
let backendKind = '';
let model: Model | null = null;
let modelIsDefault = false;
let keyWords: string[] | null = null;
const loads = new Map<number, AbortController>();
const stops = new Set<number>();
let busy: Promise<unknown> = Promise.resolve();

/** One job at a time: a load and a run must not share the backend concurrently. */
function serial<T>(job: () => Promise<T>): Promise<T> {
  const next = busy.then(job, job);
  busy = next.catch(() => {});
  return next;
}

function summary(m: Model, label: string, isDefault: boolean): ModelSummary {
  const c = m.config;
  return {
    label,
    architecture: c.architecture,
    layers: c.numLayers,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    vocab: c.vocabSize,
    weightBytes: m.weightBytes(),
    isDefault,
  };
}

function label(source: ModelSource): string {
  if (source.kind === 'default') return 'kvsieve-recall (default, shipped with this page)';
  if (source.kind === 'url') return source.url;
  const f = source.files[0];
  const root = f?.webkitRelativePath.split('/')[0];
  return source.files.length === 1 ? f!.name : `${root || 'folder'} (${source.files.length} files)`;
}

async function load(id: number, source: ModelSource): Promise<void> {
  const abort = new AbortController();
  loads.set(id, abort);
  try {
    const files = await readSource(
      source,
      (file, bytes, total) => post({ type: 'load-progress', id, file, bytes, total, stage: 'reading' }),
      abort.signal,
    );
    let words: string[] | null = null;
    if (source.kind === 'default') {
      const res = await fetch(new URL('key-words.txt', source.base), { signal: abort.signal });
      if (res.ok) words = [...new Set((await res.text()).split(/\s+/).filter((w) => w))];
    }
    post({ type: 'load-progress', id, file: 'weights', bytes: 0, total: null, stage: 'building' });
    // The signal makes the upload yield between tensors, so a 'cancel-load' message gets through.
    const next = await loadModel(files, {
      backend: backend!,
      signal: abort.signal,
      onProgress: (p) =>
        post({
          type: 'load-progress',
          id,
          file: p.name,
          bytes: p.bytes,
          total: null,
          stage: 'building',
          tensors: { done: p.tensors, total: p.totalTensors },
        }),
    });
    if (abort.signal.aborted) {
      next.dispose();
      throw new DOMException('cancelled', 'AbortError');
    }
    // Only now is the previous model let go: a bad file leaves it loaded and usable.
    model?.dispose();
    model = next;
    modelIsDefault = source.kind === 'default';
    keyWords = words;
    post({ type: 'loaded', id, model: summary(next, label(source), modelIsDefault) });
  } catch (e) {
    const cancelled = abort.signal.aborted;
    post({ type: 'load-error', id, cancelled, message: cancelled ? 'loading cancelled' : message(e) });
  } finally {
    loads.delete(id);
  }
}

async function run(id: number, request: Extract<ToWorker, { type: 'run' }>['request']): Promise<void> {
  try {
    if (!model) throw new Error('no model is loaded');
    const m = model;
    const ids = m.tokenizer.encode(request.prompt);
    post({ type: 'prompt', id, ids, pieces: tokenPieces(m, ids) });
    for (const [i, spec] of request.runs.entries()) {
      if (stops.has(id)) break;
      try {
        const result = await runOne(
          m,
          ids,
          spec,
          {
            maxTokens: request.maxTokens,
            ...(request.decodeBudget ? { decodeBudget: request.decodeBudget } : {}),
          },
          {
            onLayer: (layer, layers) => post({ type: 'prefill-layer', id, run: i, layer, layers }),
            onKept: (layers) => post({ type: 'kept', id, run: i, layers }),
            onToken: (token, text) => post({ type: 'token', id, run: i, token, text }),
            stopped: () => stops.has(id),
          },
        );
        post({ type: 'run-end', id, run: i, result });
      } catch (e) {
        post({ type: 'run-error', id, run: i, message: message(e) });
      }
    }
  } catch (e) {
    post({ type: 'run-error', id, run: -1, message: message(e) });
  } finally {
    stops.delete(id);
    post({ type: 'done', id });
  }
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case 'init':
      pickBackend(m.backend).then(
        (b) => {
          backend = b.backend;
          backendKind = b.info.kind;
          post({ type: 'ready', backend: b.info, methods: describeMethods() });
        },
        (e) => post({ type: 'fatal', message: `no backend could start: ${message(e)}` }),
      );
      break;
    case 'load':
      void serial(() => load(m.id, m.source));
      break;
    case 'cancel-load':
      loads.get(m.id)?.abort();
      break;
    case 'niah':
      void serial(async () => {
        try {
          if (!model) throw new Error('load a model first');
          const p = niahPrompt(model, {
            length: m.length,
            depth: m.depth,
            seed: m.seed,
            keyWords: modelIsDefault ? keyWords : null,
          });
          post({ type: 'niah-result', id: m.id, ...p });
        } catch (e) {
          post({ type: 'niah-error', id: m.id, message: message(e) });
        }
      });
      break;
    case 'run':
      void serial(() => run(m.id, m.request));
      break;
    case 'calibrate':
      // SurfaceLogicKV's per-head profile, measured on the loaded model as `kvsieve calibrate` does.
      void serial(async () => {
        try {
          if (!model) throw new Error('load a model first');
          const profile = await calibrate(model, {
            probes: m.probes,
            backend: backendKind,
            onProbe: (done, total) => post({ type: 'calibrate-progress', id: m.id, done, total }),
          });
          post({ type: 'calibrated', id: m.id, profile: JSON.stringify(profile) });
        } catch (e) {
          post({ type: 'calibrate-error', id: m.id, message: message(e) });
        }
      });
      break;
    case 'stop':
      stops.add(m.id);
      break;
  }
};
