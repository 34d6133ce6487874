import type { WorkerClient } from '../client.js';
import { formatBytes } from '../lib/shading.js';
import type { BackendInfo, ModelSource, ModelSummary } from '../worker/protocol.js';
import { fill, h } from './dom.js';

/** Every file under a dropped folder (drag-and-drop gives entries, not a flat file list). */
async function droppedFiles(items: DataTransferItemList): Promise<File[]> {
  const out: File[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      out.push(await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej)));
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries returns batches until an empty one.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e);
      }
    }
  };
  const entries = [...items].map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  for (const e of entries) await walk(e);
  return out;
}

/** Backend line, model status, the ways to open a model, progress and cancel. */
export class ModelPanel {
  readonly el: HTMLElement;
  private readonly backendEl = h('p', { class: 'backend' }, 'Starting the compute worker…');
  private readonly status = h(
    'p',
    { 'data-testid': 'model-status', role: 'status', 'aria-live': 'polite' },
    'No model yet.',
  );
  private readonly error = h('p', { class: 'error', role: 'alert', hidden: true });
  private readonly progress = h('progress', { max: 1, hidden: true, 'aria-label': 'loading progress' });
  private readonly cancel = h('button', { type: 'button', hidden: true }, 'Cancel');
  private loadId = 0;
  model: ModelSummary | null = null;
  onModel: (m: ModelSummary) => void = () => {};

  constructor(private readonly client: WorkerClient) {
    const file = h('input', {
      type: 'file',
      accept: '.gguf,.json,.safetensors',
      multiple: true,
      id: 'pick-file',
    });
    const dir = h('input', { type: 'file', id: 'pick-dir' });
    dir.setAttribute('webkitdirectory', '');
    const url = h('input', {
      type: 'url',
      id: 'model-url',
      placeholder: 'https://…/model.gguf or a model folder URL',
    });
    file.addEventListener('change', () => file.files && this.load({ kind: 'files', files: [...file.files] }));
    dir.addEventListener('change', () => dir.files && this.load({ kind: 'files', files: [...dir.files] }));
    this.cancel.addEventListener('click', () => this.client.send({ type: 'cancel-load', id: this.loadId }));
    const drop = h(
      'div',
      { class: 'drop', tabindex: 0 },
      'Drop a .gguf file or a Hugging Face model folder here',
    );
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    // Keyboard users: Enter or Space on the drop zone opens the file picker.
    drop.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        file.click();
      }
    });
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      if (e.dataTransfer)
        void droppedFiles(e.dataTransfer.items).then((files) => this.load({ kind: 'files', files }));
    });
    this.el = h(
      'section',
      { class: 'panel model', 'aria-labelledby': 'model-h' },
      h('h2', { id: 'model-h' }, 'Model'),
      this.backendEl,
      this.status,
      h('div', { class: 'row' }, this.progress, this.cancel),
      this.error,
      h(
        'details',
        {},
        h('summary', {}, 'Open another model'),
        h('div', { class: 'row' }, h('label', { for: 'pick-file' }, '.gguf or model files '), file),
        h('div', { class: 'row' }, h('label', { for: 'pick-dir' }, 'Hugging Face folder '), dir),
        h(
          'form',
          {
            class: 'row',
            onsubmit: ((e: Event) => {
              e.preventDefault();
              this.load({ kind: 'url', url: url.value.trim() });
            }) as EventListener,
          },
          h('label', { for: 'model-url' }, 'URL '),
          url,
          h('button', { type: 'submit' }, 'Open'),
        ),
        drop,
        h('button', { type: 'button', onclick: () => this.loadDefault() }, 'Back to the default model'),
      ),
    );
  }

  showBackend(b: BackendInfo): void {
    const what =
      b.kind === 'webgpu' ? 'WebGPU' : b.kind === 'wasm' ? 'WebAssembly (no WebGPU)' : 'CPU (no WebGPU)';
    fill(
      this.backendEl,
      h('strong', {}, `${what}: `),
      b.name,
      b.features.length ? h('small', {}, ` — features: ${b.features.join(', ')}`) : null,
      b.reason ? h('small', { class: 'reason' }, ` — why: ${b.reason}`) : null,
    );
  }

  showFatal(message: string): void {
    this.error.hidden = false;
    this.error.textContent = message;
  }

  loadDefault(): void {
    this.load({ kind: 'default', base: new URL('models/kvsieve-recall/', document.baseURI).href });
  }

  load(source: ModelSource): void {
    this.error.hidden = true;
    this.progress.hidden = false;
    this.progress.removeAttribute('value');
    this.cancel.hidden = false;
    const previous = this.model;
    this.status.textContent = 'Loading…';
    this.status.dataset.state = 'loading';
    this.loadId = this.client.request(
      (id) => ({ type: 'load', id, source }),
      (m) => {
        if (m.type === 'load-progress') {
          if (m.stage === 'building' && m.tensors) {
            const { done, total } = m.tensors;
            this.status.textContent = `Uploading weights: tensor ${done} of ${total} (${formatBytes(m.bytes)}), ${m.file}`;
            this.progress.value = done / total;
          } else if (m.stage === 'building') {
            this.status.textContent = 'Checking the files and uploading the weights…';
            this.progress.removeAttribute('value');
          } else {
            this.status.textContent = `Reading ${m.file}: ${formatBytes(m.bytes)}${m.total ? ` of ${formatBytes(m.total)}` : ''}`;
            if (m.total) this.progress.value = m.bytes / m.total;
          }
          return false;
        }
        this.progress.hidden = true;
        this.cancel.hidden = true;
        if (m.type === 'loaded') {
          this.model = m.model;
          this.showModel(m.model);
          this.onModel(m.model);
          return true;
        }
        if (m.type === 'load-error') {
          this.error.hidden = m.cancelled;
          this.error.textContent = `Could not load the model: ${m.message}`;
          // The worker keeps the previous model on a failed load; say so.
          if (previous)
            this.showModel(previous, m.cancelled ? 'Loading cancelled; still using' : 'Still using');
          else {
            this.status.textContent = m.cancelled
              ? 'Loading cancelled; no model loaded.'
              : 'No model loaded.';
            this.status.dataset.state = 'none';
          }
          return true;
        }
        return false;
      },
    );
  }

  private showModel(m: ModelSummary, prefix = 'Loaded'): void {
    this.status.dataset.state = 'ready';
    this.status.textContent = `${prefix} ${m.label}: ${m.architecture}, ${m.layers} layers, ${m.heads} heads / ${m.kvHeads} KV heads × ${m.headDim}, vocabulary ${m.vocab}, weights ${formatBytes(m.weightBytes)}`;
  }
}
