import './style.css';
import { WorkerClient } from './client.js';
import { decodeState, encodeState, type PageState } from './lib/url-state.js';
import { h } from './views/dom.js';
import { KeptView } from './views/kept-view.js';
import { ModelPanel } from './views/model-panel.js';
import { ResultsView, type RunView } from './views/results.js';
import { RunPanel } from './views/run-panel.js';
import type { LayerKept, MethodInfo } from './worker/protocol.js';

// ?backend=wasm or ?backend=cpu skips WebGPU (to compare backends, or on a broken GPU driver).
const wanted = new URLSearchParams(location.search).get('backend');
const app = document.getElementById('app')!;
const client = new WorkerClient();
const modelPanel = new ModelPanel(client);
const results = new ResultsView();
const kept = new KeptView();
app.append(
  h(
    'header',
    {},
    h('h1', {}, 'kvsieve playground'),
    h('p', {}, 'See which tokens each KV-cache compression method keeps, layer by layer and head by head.'),
  ),
  modelPanel.el,
);

function start(methods: readonly MethodInfo[]): void {
  const state: PageState = decodeState(
    location.search,
    methods.map((m) => m.name),
  );
  const panel = new RunPanel(
    methods,
    state,
    (probes, progress) =>
      new Promise<string>((resolve, reject) =>
        client.request(
          (id) => ({ type: 'calibrate', id, probes }),
          (m) => {
            if (m.type === 'calibrate-progress') progress(m.done, m.total);
            else if (m.type === 'calibrated') resolve(m.profile);
            else if (m.type === 'calibrate-error') reject(new Error(m.message));
            return m.type !== 'calibrate-progress';
          },
        ),
      ),
  );
  app.append(h('main', {}, panel.el, results.el, kept.el));
  // The URL follows the form, so a link reproduces this configuration.
  panel.onChange = () =>
    history.replaceState(
      null,
      '',
      `?${encodeState(panel.state())}${wanted ? `&backend=${encodeURIComponent(wanted)}` : ''}`,
    );
  panel.onNiah = (length, depth, seed) =>
    client.request(
      (id) => ({ type: 'niah', id, length, depth, seed }),
      (m) => {
        if (m.type === 'niah-result') panel.setNiah(m.prompt, m.expected, m.promptTokens);
        else if (m.type === 'niah-error') panel.showNiahError(m.message);
        return true;
      },
    );
  let runId = 0;
  panel.stop.addEventListener('click', () => client.send({ type: 'stop', id: runId }));
  panel.generate.addEventListener('click', () => {
    if (!modelPanel.model) return;
    const specs = panel.runs();
    const views: RunView[] = specs.map((s) => ({
      label: s.label,
      isFull: s.method === null,
      tokens: [],
      pieces: [],
      result: null,
      error: null,
      progress: 'waiting',
    }));
    const keptRuns: { label: string; layers: readonly LayerKept[] }[] = [];
    let promptPieces: readonly string[] = [];
    const s = panel.state();
    panel.setRunning(true);
    results.render(views);
    runId = client.request(
      (id) => ({
        type: 'run',
        id,
        request: {
          prompt: panel.prompt.value,
          runs: specs,
          maxTokens: s.maxTokens,
          ...(s.decodeBudget ? { decodeBudget: s.decodeBudget } : {}),
        },
      }),
      (m) => {
        const v = 'run' in m ? views[m.run] : undefined;
        switch (m.type) {
          case 'prompt':
            promptPieces = m.pieces;
            break;
          case 'prefill-layer':
            v!.progress = `prefill: layer ${m.layer + 1} of ${m.layers}`;
            break;
          case 'kept':
            if (!v!.isFull) {
              keptRuns.push({ label: v!.label, layers: m.layers });
              kept.set(promptPieces, keptRuns);
            }
            v!.progress = 'decoding…';
            break;
          case 'token':
            v!.tokens.push(m.token);
            v!.pieces.push(m.text);
            break;
          case 'run-end':
            v!.result = m.result;
            break;
          case 'run-error':
            if (v) v.error = m.message;
            else views.forEach((x) => (x.error ??= m.message));
            break;
          case 'done':
            // Runs a stop skipped say so, instead of waiting forever.
            for (const x of views) if (!x.result && !x.error) x.progress = 'not run (stopped)';
            panel.setRunning(false);
            results.render(views);
            document.body.dataset.run = 'done';
            return true;
        }
        results.render(views);
        return false;
      },
    );
    document.body.dataset.run = 'running';
  });
  modelPanel.onModel = () => {
    panel.generate.disabled = false;
    if (state.prompt.kind === 'niah' && panel.prompt.value === '') panel.requestNiah();
  };
  panel.generate.disabled = modelPanel.model === null;
}

client.onGlobal = (m) => {
  if (m.type === 'ready') {
    modelPanel.showBackend(m.backend);
    start(m.methods);
    modelPanel.loadDefault();
  } else if (m.type === 'fatal') {
    modelPanel.showFatal(m.message);
  }
};
client.send({ type: 'init', ...(wanted === 'wasm' || wanted === 'cpu' ? { backend: wanted } : {}) });
