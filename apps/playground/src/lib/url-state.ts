// The page's configuration in the URL's query string, so a link reproduces a view: the prompt
// sample, the methods with their option texts, and the generation settings. Reading is lenient:
// anything missing or malformed falls back to the default, so an old or hand-edited link still opens.

export interface MethodChoice {
  readonly name: string;
  /** Option texts as typed in the form (parsed by forms.ts when a run starts). */
  readonly options: Readonly<Record<string, string>>;
}

export type PromptChoice =
  | { readonly kind: 'niah'; readonly length: number; readonly depth: number; readonly seed: number }
  | { readonly kind: 'text'; readonly text: string };

export interface PageState {
  readonly prompt: PromptChoice;
  /** One or two methods; each runs beside the full cache when `full` is set. */
  readonly methods: readonly MethodChoice[];
  readonly full: boolean;
  readonly maxTokens: number;
  /** 0: no decode budget. */
  readonly decodeBudget: number;
}

export const DEFAULT_STATE: PageState = {
  prompt: { kind: 'niah', length: 512, depth: 50, seed: 1 },
  methods: [{ name: 'snapkv', options: { budget: '25%' } }],
  full: true,
  maxTokens: 16,
  decodeBudget: 0,
};

/** Prompts longer than this are not put in links (URLs over ~8 KB are cut by some servers). */
export const MAX_URL_TEXT = 2000;

const int = (v: string | null, min: number, max: number, fallback: number): number => {
  if (v === null || !/^\d+$/.test(v)) return fallback;
  const n = Number(v);
  return n >= min && n <= max ? n : fallback;
};

export function encodeState(s: PageState): string {
  const p = new URLSearchParams();
  if (s.prompt.kind === 'niah') {
    p.set('niah', `${s.prompt.length},${s.prompt.depth},${s.prompt.seed}`);
  } else if (s.prompt.text.length <= MAX_URL_TEXT) {
    p.set('prompt', s.prompt.text);
  }
  s.methods.forEach((m, i) => {
    p.set(`m${i + 1}`, m.name);
    // A long value (a SurfaceLogicKV profile of a big model) stays out of the link, as long prompts do.
    for (const [k, v] of Object.entries(m.options))
      if (v !== '' && v.length <= MAX_URL_TEXT) p.set(`m${i + 1}.${k}`, v);
  });
  if (!s.full) p.set('full', '0');
  p.set('max', String(s.maxTokens));
  if (s.decodeBudget > 0) p.set('db', String(s.decodeBudget));
  return p.toString();
}

/** The state a query string describes; `known` lists the method names the page has. */
export function decodeState(query: string, known: readonly string[]): PageState {
  const p = new URLSearchParams(query);
  let prompt: PromptChoice = DEFAULT_STATE.prompt;
  const niah = p.get('niah');
  if (niah !== null) {
    const [l, d, s] = niah.split(',');
    prompt = {
      kind: 'niah',
      length: int(l ?? null, 32, 32768, 512),
      depth: int(d ?? null, 0, 100, 50),
      seed: int(s ?? null, 0, 1_000_000_000, 1),
    };
  } else if (p.get('prompt') !== null) {
    prompt = { kind: 'text', text: p.get('prompt')! };
  }
  const methods: MethodChoice[] = [];
  for (const i of [1, 2]) {
    const name = p.get(`m${i}`);
    if (name === null || !known.includes(name)) continue;
    const options: Record<string, string> = {};
    for (const [k, v] of p) if (k.startsWith(`m${i}.`)) options[k.slice(3)] = v;
    methods.push({ name, options });
  }
  return {
    prompt,
    methods: methods.length > 0 ? methods : DEFAULT_STATE.methods,
    full: p.get('full') !== '0',
    maxTokens: int(p.get('max'), 1, 1024, DEFAULT_STATE.maxTokens),
    decodeBudget: int(p.get('db'), 0, 1_000_000, 0),
  };
}
