import fc from 'fast-check';

/**
 * Mutations of valid model files, as data (so fast-check can shrink them and a failing case can be
 * printed). Positions are plain naturals taken modulo the file or field count at apply time, so one
 * arbitrary serves every file.
 */

/** Values a corrupt or hostile header would put in a count, length, dimension or offset. */
export const SPECIAL_U64: readonly bigint[] = [
  0n,
  1n,
  2n,
  3n,
  31n,
  32n,
  33n,
  64n,
  255n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 32n,
  100_000_000n,
  1_000_000_000n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];
export const SPECIAL_U32: readonly number[] = [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  12,
  13,
  30,
  31,
  77,
  2 ** 31,
  2 ** 32 - 1,
];

export type ByteOp =
  | { op: 'flip'; header: boolean; at: number; bit: number }
  | { op: 'set'; header: boolean; at: number; value: number }
  | { op: 'truncate'; header: boolean; at: number }
  | { op: 'insert'; header: boolean; at: number; bytes: number[] }
  | { op: 'delete'; header: boolean; at: number; length: number }
  /** Write a value into the `field`-th known u64 / u32 field (GGUF counts, dimensions, offsets, types). */
  | { op: 'u64'; field: number; value: bigint }
  | { op: 'u32'; field: number; value: number }
  /** Move a known u64 field by a small amount (an offset onto its neighbour, a count off by one). */
  | { op: 'nudge'; field: number; delta: number }
  /** Swap two known u64 fields. */
  | { op: 'swap'; a: number; b: number };

const at = fc.nat({ max: 1 << 24 });
const header = fc.boolean();

export const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), header, at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), header, at, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), header, at }),
  fc.record({
    op: fc.constant('insert' as const),
    header,
    at,
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }),
  }),
  fc.record({ op: fc.constant('delete' as const), header, at, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('u64' as const), field: at, value: fc.constantFrom(...SPECIAL_U64) }),
  fc.record({ op: fc.constant('u32' as const), field: at, value: fc.constantFrom(...SPECIAL_U32) }),
  fc.record({ op: fc.constant('nudge' as const), field: at, delta: fc.integer({ min: -64, max: 64 }) }),
  fc.record({ op: fc.constant('swap' as const), a: at, b: at }),
);

/** One op most of the time (so some files stay loadable), up to four otherwise. */
export const byteOps: fc.Arbitrary<ByteOp[]> = fc.oneof(
  { weight: 3, arbitrary: byteOp.map((o) => [o]) },
  { weight: 2, arbitrary: fc.array(byteOp, { minLength: 2, maxLength: 4 }) },
);

/** Where byte ops land: the first `headerBytes` bytes when `header`, and the known fields. */
export interface Targets {
  readonly headerBytes: number;
  readonly u64At: readonly number[];
  readonly u32At: readonly number[];
}

/** `buf` with every op applied in turn (field positions refer to the unmutated layout). */
export function applyByteOps(buf: Buffer, ops: readonly ByteOp[], t: Targets): Buffer {
  let b = Buffer.from(buf);
  const pos = (o: { header: boolean; at: number }, extra = 0) =>
    b.length + extra === 0
      ? 0
      : o.at % (o.header ? Math.min(t.headerBytes, b.length + extra) : b.length + extra);
  const field = (list: readonly number[], i: number, width: number) => {
    const p = list.length ? list[i % list.length]! : -1;
    return p >= 0 && p + width <= b.length ? p : -1;
  };
  for (const o of ops) {
    switch (o.op) {
      case 'flip':
        if (b.length) b[pos(o)]! ^= 1 << o.bit;
        break;
      case 'set':
        if (b.length) b[pos(o)] = o.value;
        break;
      case 'truncate':
        b = b.subarray(0, pos(o));
        break;
      case 'insert': {
        const p = pos(o, 1);
        b = Buffer.concat([b.subarray(0, p), Buffer.from(o.bytes), b.subarray(p)]);
        break;
      }
      case 'delete': {
        const p = pos(o);
        b = Buffer.concat([b.subarray(0, p), b.subarray(p + o.length)]);
        break;
      }
      case 'u64': {
        const p = field(t.u64At, o.field, 8);
        if (p >= 0) b.writeBigUInt64LE(o.value, p);
        break;
      }
      case 'u32': {
        const p = field(t.u32At, o.field, 4);
        if (p >= 0) b.writeUInt32LE(o.value, p);
        break;
      }
      case 'nudge': {
        const p = field(t.u64At, o.field, 8);
        if (p >= 0) b.writeBigUInt64LE(BigInt.asUintN(64, b.readBigUInt64LE(p) + BigInt(o.delta)), p);
        break;
      }
      case 'swap': {
        const p = field(t.u64At, o.a, 8);
        const q = field(t.u64At, o.b, 8);
        if (p >= 0 && q >= 0) {
          const x = b.readBigUInt64LE(p);
          b.writeBigUInt64LE(b.readBigUInt64LE(q), p);
          b.writeBigUInt64LE(x, q);
        }
        break;
      }
    }
  }
  return b;
}

/** JSON values a hostile or corrupt file would hold where something else belongs. */
function deep(n: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}
export const SPECIAL_JSON: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1,
  2,
  0.5,
  -0.5,
  32,
  260,
  1e8,
  2 ** 53,
  2 ** 64,
  1e308,
  -1e308,
  '',
  'x',
  'F32',
  'F16',
  'BF16',
  'I32',
  'llama',
  'qwen3',
  '../outside.safetensors',
  '../../x.safetensors',
  '/etc/hostname',
  'C:\\x.safetensors',
  'a\u0000b',
  'model.safetensors',
  'model-00001-of-00002.safetensors',
  'line\nbreak',
  'x'.repeat(10_000),
  [],
  {},
  [1, 2],
  [-1, 5],
  [0.5, 1.5],
  [0, 2 ** 53],
  [1e8, 1e8],
  { a: null },
  { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
  deep(64),
];

export type JsonOp =
  | { op: 'replace'; path: number; value: number }
  | { op: 'delete'; path: number }
  | { op: 'swap'; a: number; b: number }
  | { op: 'rename'; path: number; key: string };

export const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('replace' as const),
      path: at,
      value: fc.nat({ max: SPECIAL_JSON.length - 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), path: at }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('swap' as const), a: at, b: at }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('rename' as const),
      path: at,
      key: fc.constantFrom('__metadata__', '__proto__', 'constructor', '', 'weight_map', 'model.norm.weight'),
    }),
  },
);

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number };

function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        walk(x);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        walk(x);
      }
    }
  };
  walk(root);
  return out;
}

function get(s: Slot): unknown {
  return (s.parent as Record<string | number, unknown>)[s.key];
}
function set(s: Slot, v: unknown): void {
  (s.parent as Record<string | number, unknown>)[s.key] = v;
}

/** A deep copy of `value` with the ops applied; the root itself may be replaced (path beyond slots). */
export function applyJsonOps(value: unknown, ops: readonly JsonOp[]): unknown {
  let root = structuredClone(value);
  for (const o of ops) {
    const all = slots(root);
    // One extra index stands for the root, so "config.json is null" is reachable too.
    const pick = (i: number): Slot | 'root' =>
      i % (all.length + 1) === all.length ? 'root' : all[i % (all.length + 1)]!;
    if (o.op === 'replace') {
      const s = pick(o.path);
      const v = structuredClone(SPECIAL_JSON[o.value]);
      if (s === 'root') root = v;
      else set(s, v);
    } else if (o.op === 'delete') {
      const s = pick(o.path);
      if (s === 'root') continue;
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete s.parent[s.key as string];
    } else if (o.op === 'swap') {
      const a = pick(o.a);
      const b = pick(o.b);
      if (a === 'root' || b === 'root' || a === b) continue;
      const x = get(a);
      const y = get(b);
      // Swapping a value into its own descendant would make a cycle: skip those.
      if (slots(x).some((s) => s.parent === b.parent) || slots(y).some((s) => s.parent === a.parent))
        continue;
      set(a, y);
      set(b, x);
    } else {
      const s = pick(o.path);
      if (s === 'root' || Array.isArray(s.parent)) continue;
      const v = get(s);
      delete s.parent[s.key as string];
      Object.defineProperty(s.parent, o.key, {
        value: v,
        enumerable: true,
        configurable: true,
        writable: true,
      });
    }
  }
  return root;
}

/** A mutated JSON file: structural ops on the parsed value, or byte ops on its text. */
export type JsonMutation = { kind: 'json'; ops: JsonOp[] } | { kind: 'bytes'; ops: ByteOp[] };

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('json' as const),
      ops: fc.array(jsonOp, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      ops: byteOps,
    }),
  },
);

export function applyJsonMutation(text: string, m: JsonMutation): Buffer {
  if (m.kind === 'bytes') {
    const b = Buffer.from(text);
    return applyByteOps(b, m.ops, { headerBytes: b.length, u64At: [], u32At: [] });
  }
  return Buffer.from(JSON.stringify(applyJsonOps(JSON.parse(text), m.ops)) ?? 'undefined');
}
