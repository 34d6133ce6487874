import type { ModelFiles } from '@kvsieve/runtime';
import type { ModelSource } from './protocol.js';

/** Bytes read so far of one file (total when known), for the progress bar. */
export type Progress = (file: string, bytes: number, total: number | null) => void;

/** A source problem the page shows as is: names the file or address and what was wrong. */
export class SourceError extends Error {
  override name = 'SourceError';
}

/** Files of a Hugging Face folder the runtime reads; anything else in a picked folder is ignored. */
const HF_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];
const OPTIONAL = new Set(['tokenizer_config.json', 'generation_config.json']);
const INDEX = 'model.safetensors.index.json';

async function readStream(
  name: string,
  body: ReadableStream<Uint8Array>,
  total: number | null,
  progress: Progress,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let last = 0;
  const onAbort = () => reader.cancel().catch(() => {});
  signal.addEventListener('abort', onAbort);
  try {
    for (;;) {
      if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.length;
      // Progress at most every 50 ms: a message per chunk would flood the page on fast reads.
      if (Date.now() - last > 50) {
        last = Date.now();
        progress(name, bytes, total);
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
  progress(name, bytes, total);
  const out = new Uint8Array(bytes);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** One file over HTTP; null when it is optional and the server says 404. */
async function fetchFile(
  url: string,
  name: string,
  optional: boolean,
  progress: Progress,
  signal: AbortSignal,
): Promise<Uint8Array | null> {
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (e) {
    if (signal.aborted) throw e;
    throw new SourceError(
      `cannot fetch ${url}: ${(e as Error).message} (offline, or the server does not allow this page to read it: CORS)`,
    );
  }
  if (res.status === 404 && optional) return null;
  if (!res.ok || !res.body)
    throw new SourceError(`fetching ${url} gave HTTP ${res.status} ${res.statusText}`.trim());
  const len = Number(res.headers.get('content-length'));
  return readStream(name, res.body, Number.isFinite(len) && len > 0 ? len : null, progress, signal);
}

/** A Hugging Face folder at `base` (ending in '/'): the runtime's files, single or sharded weights. */
async function fetchFolder(
  base: string,
  progress: Progress,
  signal: AbortSignal,
): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const name of HF_FILES) {
    const bytes = await fetchFile(new URL(name, base).href, name, OPTIONAL.has(name), progress, signal);
    if (bytes) files[name] = bytes;
  }
  const single = await fetchFile(
    new URL('model.safetensors', base).href,
    'model.safetensors',
    true,
    progress,
    signal,
  );
  if (single) {
    files['model.safetensors'] = single;
    return files;
  }
  const index = await fetchFile(new URL(INDEX, base).href, INDEX, true, progress, signal);
  if (!index) throw new SourceError(`${base} has neither model.safetensors nor ${INDEX}`);
  files[INDEX] = index;
  let map: Record<string, unknown>;
  try {
    map =
      (JSON.parse(new TextDecoder().decode(index)) as { weight_map?: Record<string, unknown> }).weight_map ??
      {};
  } catch (e) {
    throw new SourceError(`${INDEX} at ${base} is not JSON: ${(e as Error).message}`);
  }
  for (const shard of new Set(Object.values(map).filter((v): v is string => typeof v === 'string'))) {
    // Shard names that leave the folder are refused by the runtime; fetch only plain names here.
    if (!/^[\w.-]+$/.test(shard))
      throw new SourceError(`${INDEX}: shard name ${JSON.stringify(shard)} is not a plain file name`);
    files[shard] = (await fetchFile(new URL(shard, base).href, shard, false, progress, signal))!;
  }
  return files;
}

/** The base name of a picked file (a directory pick gives "folder/sub/name"). */
const baseName = (f: File) => (f.webkitRelativePath || f.name).split('/').pop()!;

/** Picked or dropped files: one .gguf, or a Hugging Face folder's files. */
async function readPicked(
  files: readonly File[],
  progress: Progress,
  signal: AbortSignal,
): Promise<Record<string, Uint8Array>> {
  const ggufs = files.filter((f) => baseName(f).toLowerCase().endsWith('.gguf'));
  if (ggufs.length > 1)
    throw new SourceError(`pick one .gguf file, not ${ggufs.length} (${ggufs.map(baseName).join(', ')})`);
  const wanted =
    ggufs.length === 1
      ? ggufs
      : files.filter((f) => {
          const n = baseName(f);
          return HF_FILES.includes(n) || n === INDEX || n.endsWith('.safetensors');
        });
  if (wanted.length === 0) {
    const names = files.slice(0, 5).map(baseName).join(', ');
    throw new SourceError(
      `no model among the files given (${names}${files.length > 5 ? ', …' : ''}): pick a .gguf file or a Hugging Face folder with config.json, tokenizer.json and model.safetensors`,
    );
  }
  const out: Record<string, Uint8Array> = {};
  for (const f of wanted)
    out[baseName(f)] = await readStream(baseName(f), f.stream(), f.size, progress, signal);
  return out;
}

/** The model's files as bytes by name, ready for `loadModel(files)`. */
export async function readSource(
  source: ModelSource,
  progress: Progress,
  signal: AbortSignal,
): Promise<ModelFiles> {
  if (source.kind === 'default') return fetchFolder(source.base, progress, signal);
  if (source.kind === 'files') return readPicked(source.files, progress, signal);
  let url: URL;
  try {
    url = new URL(source.url);
  } catch {
    throw new SourceError(
      `${JSON.stringify(source.url)} is not a URL; give an http(s) address of a .gguf file or a model folder`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SourceError(`${url.href}: only http(s) addresses can be fetched`);
  const path = url.pathname;
  if (path.toLowerCase().endsWith('.gguf')) {
    const name = path.split('/').pop()!;
    return { [name]: (await fetchFile(url.href, name, false, progress, signal))! };
  }
  return fetchFolder(path.endsWith('/') ? url.href : `${url.href}/`, progress, signal);
}
