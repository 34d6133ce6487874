// Messages between the page and the compute worker. Everything crossing is structured-cloneable.

/** One option of a method, as its definition declares it (method-kit's OptionSpec without `read`). */
export interface OptionField {
  readonly name: string;
  readonly kind: 'budget' | 'integer' | 'number' | 'choice' | 'boolean' | 'custom';
  readonly presence: 'required' | 'default' | 'optional';
  readonly doc: string;
  readonly allowed: string;
  readonly defaultText?: string;
  readonly choices?: readonly string[];
}

export interface MethodInfo {
  readonly name: string;
  readonly summary: string;
  readonly fields: readonly OptionField[];
}

export interface BackendInfo {
  readonly kind: 'webgpu' | 'wasm' | 'cpu';
  /** Adapter or engine name as people read it. */
  readonly name: string;
  readonly features: readonly string[];
  /** Why a faster backend was not used (absent on WebGPU). */
  readonly reason?: string;
}

export interface ModelSummary {
  readonly label: string;
  readonly architecture: string;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocab: number;
  readonly weightBytes: number;
  /** Whether it is the shipped default (the needle generator then uses its key words). */
  readonly isDefault: boolean;
}

export type ModelSource =
  | { readonly kind: 'default'; readonly base: string }
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'files'; readonly files: readonly File[] };

/** One cache configuration of a run: the full cache (method null) or a method with its options. */
export interface RunSpec {
  readonly label: string;
  readonly method: string | null;
  readonly options: Readonly<Record<string, unknown>>;
}

export interface RunRequest {
  readonly prompt: string;
  readonly runs: readonly RunSpec[];
  readonly maxTokens: number;
  readonly decodeBudget?: number;
}

export interface LayerKept {
  readonly layer: number;
  readonly tokens: number;
  readonly note?: string;
  readonly propagated?: number;
  /** Per KV head, the original prompt positions kept after prefill. */
  readonly heads: readonly Int32Array[];
  /** Per KV head, each prompt position's observation-window score (NaN: not scored); window methods only. */
  readonly scores?: readonly Float32Array[];
}

export interface RunResult {
  readonly tokens: readonly number[];
  readonly text: string;
  readonly stopReason: 'eos' | 'max-tokens' | 'stopped';
  readonly prefillSeconds: number;
  readonly prefillTokensPerSecond: number;
  readonly decodeSeconds: number;
  readonly decodeTokensPerSecond: number;
  readonly fullBytes: number;
  readonly keptBytes: number;
  /** The method's resolved options (what rebuilt it), for display. */
  readonly resolvedOptions?: Readonly<Record<string, unknown>>;
}

export type ToWorker =
  | { readonly type: 'init'; readonly backend?: BackendInfo['kind'] }
  | { readonly type: 'load'; readonly id: number; readonly source: ModelSource }
  | { readonly type: 'cancel-load'; readonly id: number }
  | {
      readonly type: 'niah';
      readonly id: number;
      readonly length: number;
      readonly depth: number;
      readonly seed: number;
    }
  | { readonly type: 'run'; readonly id: number; readonly request: RunRequest }
  | { readonly type: 'stop'; readonly id: number }
  | { readonly type: 'calibrate'; readonly id: number; readonly probes: number };

export type FromWorker =
  | { readonly type: 'ready'; readonly backend: BackendInfo; readonly methods: readonly MethodInfo[] }
  | { readonly type: 'fatal'; readonly message: string }
  | {
      readonly type: 'load-progress';
      readonly id: number;
      readonly file: string;
      readonly bytes: number;
      readonly total: number | null;
      readonly stage: 'reading' | 'building';
      /** While building: weight tensors uploaded so far and in all. */
      readonly tensors?: { readonly done: number; readonly total: number };
    }
  | { readonly type: 'loaded'; readonly id: number; readonly model: ModelSummary }
  | {
      readonly type: 'load-error';
      readonly id: number;
      readonly message: string;
      readonly cancelled: boolean;
    }
  | {
      readonly type: 'niah-result';
      readonly id: number;
      readonly prompt: string;
      readonly expected: readonly string[];
      readonly promptTokens: number;
    }
  | { readonly type: 'niah-error'; readonly id: number; readonly message: string }
  | {
      readonly type: 'prompt';
      readonly id: number;
      readonly pieces: readonly string[];
      readonly ids: readonly number[];
    }
  | {
      readonly type: 'prefill-layer';
      readonly id: number;
      readonly run: number;
      readonly layer: number;
      readonly layers: number;
    }
  | {
      readonly type: 'kept';
      readonly id: number;
      readonly run: number;
      readonly layers: readonly LayerKept[];
    }
  | {
      readonly type: 'token';
      readonly id: number;
      readonly run: number;
      readonly token: number;
      readonly text: string;
    }
  | { readonly type: 'run-end'; readonly id: number; readonly run: number; readonly result: RunResult }
  | { readonly type: 'run-error'; readonly id: number; readonly run: number; readonly message: string }
  | { readonly type: 'done'; readonly id: number }
  | {
      readonly type: 'calibrate-progress';
      readonly id: number;
      readonly done: number;
      readonly total: number;
    }
  /** A SurfaceLogicKV profile (kvsieve.slkv-profile/v1) as JSON text, for the method's form. */
  | { readonly type: 'calibrated'; readonly id: number; readonly profile: string }
  | { readonly type: 'calibrate-error'; readonly id: number; readonly message: string };
