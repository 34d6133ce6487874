import type { Backend, RaggedKV } from '../backend/backend.js';
import { DTypeError, formatShape, IndexError, OptionError, ShapeError } from '../errors.js';
import { checkDType, checkShape, type Tensor } from '../tensor/tensor.js';

/** Per KV head, ascending indices into that head's current entries. */
export type Selection = readonly Int32Array[];

/** How a cache stores keys and values: f32, or f16 (half the bytes; attention reads it as stored). */
export type KVDType = 'f32' | 'f16';
/** Every {@link KVDType}, for option validation. */
export const KV_DTYPES: readonly KVDType[] = ['f32', 'f16'];

interface Store {
  keys: Tensor; // [rows, d]
  values: Tensor; // [rows, d]
  positions: Tensor; // i32 [rows]
}

/**
 * One layer's cache: for each KV head a contiguous segment of rows holding its kept keys (post-RoPE),
 * values and original positions. Heads may hold different numbers of entries (ragged). Compaction
 * copies the selected rows into new, tight tensors and disposes the old ones, so memory is released,
 * not masked.
 */
export class LayerCache {
  private store: Store | null = null;
  private offsets: Int32Array;
  private lens: Int32Array;
  private caps: Int32Array;
  private device: { offsets: Tensor; lengths: Tensor } | null = null;

  constructor(
    private readonly backend: Backend,
    /** Index of the layer this cache belongs to (for messages). */
    readonly layer: number,
    /** KV heads: one ragged segment each. */
    readonly kvHeads: number,
    /** Features per key and value (`d`). */
    readonly headDim: number,
    private readonly growBy: number,
    /** How keys and values are stored; anything but `f32`/`f16` throws a `DTypeError`. Appended f32 projections are rounded to it. */
    readonly dtype: KVDType = 'f32',
  ) {
    if (!KV_DTYPES.includes(dtype)) {
      throw new DTypeError(`cache layer ${layer}: keys and values are stored as f32 or f16, got ${dtype}`);
    }
    this.offsets = new Int32Array(kvHeads);
    this.lens = new Int32Array(kvHeads);
    this.caps = new Int32Array(kvHeads);
  }

  /** Entries kept per KV head (a copy). */
  lengths(): Int32Array {
    return Int32Array.from(this.lens);
  }

  /** Allocated bytes: keys, values and positions, including rows reserved for growth. */
  bytes(): number {
    const s = this.store;
    return s ? s.keys.storage.byteLength + s.values.storage.byteLength + s.positions.storage.byteLength : 0;
  }

  /** Bytes of the entries actually held (lengths × (2·d·element bytes + 4 for the position)). */
  usedBytes(): number {
    let rows = 0;
    for (const n of this.lens) rows += n;
    return rows * entryBytes(this.headDim, this.dtype);
  }

  /** Make room for `extra` more entries in every head without reallocating on the next appends. */
  reserve(extra: number): void {
    if (!Number.isInteger(extra) || extra < 0)
      throw new OptionError(`reserve: extra must be a non-negative integer, got ${extra}`);
    const need = this.lens.map((n) => n + extra);
    if (need.every((n, h) => n <= this.caps[h]!)) return;
    this.reallocate(need.map((n, h) => Math.max(n, this.caps[h]!)));
  }

  /**
   * Append `n` new tokens to every head: `k, v [n, kvHeads, d]` (token-major, as projections produce
   * them) at `positions [n]`.
   */
  append(k: Tensor, v: Tensor, positions: Int32Array): void {
    const op = `cache layer ${this.layer} append`;
    checkDType(k, ['f32', this.dtype], op);
    checkDType(v, ['f32', this.dtype], op);
    const dims = checkShape(k, ['n', this.kvHeads, this.headDim], op);
    checkShape(v, ['n', this.kvHeads, this.headDim], op, dims);
    const n = dims.n!;
    if (positions.length !== n) {
      throw new ShapeError(`${op}: ${positions.length} positions for ${n} tokens`);
    }
    if (n === 0) return;
    const need = this.lens.map((len) => len + n);
    if (need.some((x, h) => x > this.caps[h]!)) {
      this.reallocate(need.map((x, h) => (x > this.caps[h]! ? x + this.growBy : this.caps[h]!)));
    }
    const H = this.kvHeads;
    const dst = new Int32Array(n * H);
    const pos = new Int32Array(n * H);
    for (let t = 0; t < n; t++) {
      for (let h = 0; h < H; h++) {
        dst[t * H + h] = this.offsets[h]! + this.lens[h]! + t;
        pos[t * H + h] = positions[t]!;
      }
    }
    const s = this.store!;
    const b = this.backend;
    const rows = b.upload(dst, [n * H], 'i32', 'cache rows');
    const posT = b.upload(pos, [n * H], 'i32', 'cache positions');
    // Stored in the cache's dtype: scatterRows rounds f32 projections to an f16 cache as it writes
    // them (to nearest even, as cast does), with no cast dispatch of its own; keys, values and
    // positions go to the same rows, in one pass on a GPU backend.
    b.scatterRowsMany([s.keys, s.values, s.positions], rows, [
      k.reshape([n * H, this.headDim], 'keys'),
      v.reshape([n * H, this.headDim], 'values'),
      posT,
    ]);
    rows.dispose();
    posT.dispose();
    for (let h = 0; h < H; h++) this.lens[h]! += n;
    this.invalidateDevice();
  }

  /** First row of each head's segment in {@link view}'s tensors (a copy). */
  rowOffsets(): Int32Array {
    return Int32Array.from(this.offsets);
  }

  /** Rows reserved per head, live entries included (a copy). */
  capacities(): Int32Array {
    return Int32Array.from(this.caps);
  }

  /**
   * Give every head room for at least `rows` entries (reallocating once if any head has less), so
   * that appends up to that length never reallocate. Decode-time budgets reserve budget + slack.
   */
  reserveCapacity(rows: number): void {
    if (!Number.isInteger(rows) || rows < 0)
      throw new OptionError(`reserveCapacity: rows must be a non-negative integer, got ${rows}`);
    if (this.caps.every((c) => c >= rows)) return;
    this.reallocate(this.caps.map((c) => Math.max(c, rows)));
  }

  /**
   * Keep only `selection[h]` (ascending, unique indices into head h's entries) of every head. At
   * least one entry per head must stay. Invalid selections throw before anything changes.
   *
   * By default the kept rows are copied into new, tight tensors (memory is released). With
   * `keepCapacity` they move to the front of their head's segment in place (gathered to a temporary,
   * scattered back): offsets, capacities and {@link bytes} stay the same, which is what a
   * decode-time budget needs. Either way entry `selection[h][j]` becomes entry j of head h.
   */
  compact(selection: Selection, opts: { readonly keepCapacity?: boolean } = {}): void {
    this.checkSelection(selection);
    if (opts.keepCapacity) {
      this.compactInPlace(selection);
      return;
    }
    const H = this.kvHeads;
    const total = selection.reduce((a, s) => a + s.length, 0);
    const src = new Int32Array(total);
    const newOffsets = new Int32Array(H);
    let at = 0;
    selection.forEach((sel, h) => {
      newOffsets[h] = at;
      for (const i of sel) src[at++] = this.offsets[h]! + i;
    });
    const s = this.store!;
    const b = this.backend;
    const idx = b.upload(src, [total], 'i32', 'kept rows');
    const next: Store = {
      keys: b.gatherRows(s.keys, idx),
      values: b.gatherRows(s.values, idx),
      positions: b.gatherRows(s.positions, idx),
    };
    idx.dispose();
    this.disposeStore();
    this.store = next;
    this.offsets = newOffsets;
    this.lens = Int32Array.from(selection, (sel) => sel.length);
    this.caps = Int32Array.from(this.lens);
    this.invalidateDevice();
  }

  private compactInPlace(selection: Selection): void {
    const total = selection.reduce((a, sel) => a + sel.length, 0);
    const from = new Int32Array(total);
    const to = new Int32Array(total);
    let at = 0;
    selection.forEach((sel, h) => {
      sel.forEach((i, j) => {
        from[at] = this.offsets[h]! + i;
        to[at++] = this.offsets[h]! + j;
      });
    });
    const s = this.store!;
    const b = this.backend;
    const fromT = b.upload(from, [total], 'i32', 'kept rows');
    const toT = b.upload(to, [total], 'i32', 'kept rows');
    for (const key of ['keys', 'values', 'positions'] as const) {
      // Through a temporary: a row may move onto a row that is itself still to be read.
      const moved = b.gatherRows(s[key], fromT);
      b.scatterRows(s[key], toT, moved);
      moved.dispose();
    }
    fromT.dispose();
    toT.dispose();
    this.lens = Int32Array.from(selection, (sel) => sel.length);
    this.invalidateDevice();
  }

  /** The cache as ragged attention reads it. Valid until the next append or compaction. */
  view(): RaggedKV {
    const s = this.requireStore('view');
    if (!this.device) {
      this.device = {
        offsets: this.backend.upload(this.offsets, [this.kvHeads], 'i32', `layer ${this.layer} offsets`),
        lengths: this.backend.upload(this.lens, [this.kvHeads], 'i32', `layer ${this.layer} lengths`),
      };
    }
    return { keys: s.keys, values: s.values, positions: s.positions, ...this.device };
  }

  /**
   * Keys (or values) as `[kvHeads, n, d]` when every head holds the same n entries. A view when the
   * storage is already tight; otherwise a gathered copy the caller must dispose (`copied: true`).
   */
  headMajor(which: 'keys' | 'values'): {
    /** `[kvHeads, n, headDim]` in the cache's dtype. */
    tensor: Tensor;
    /** True when `tensor` is a new copy the caller must dispose; false for a view of the cache's storage (do not dispose). */
    copied: boolean;
  } {
    const s = this.requireStore('headMajor');
    const n = this.lens[0]!;
    if (this.lens.some((x) => x !== n)) {
      throw new ShapeError(
        `cache layer ${this.layer}: heads hold different lengths [${this.lens.join(', ')}], no [kvHeads, n, d] view`,
      );
    }
    const tight = this.offsets.every((o, h) => o === h * n) && s.keys.shape[0] === n * this.kvHeads;
    const src = s[which];
    if (tight) return { tensor: src.reshape([this.kvHeads, n, this.headDim], which), copied: false };
    const rows = Int32Array.from(
      { length: n * this.kvHeads },
      (_, i) => this.offsets[Math.floor(i / n)]! + (i % n),
    );
    const idx = this.backend.upload(rows, [rows.length], 'i32', 'rows');
    const out = this.backend.gatherRows(src, idx).reshape([this.kvHeads, n, this.headDim], which);
    idx.dispose();
    return { tensor: out, copied: true };
  }

  /** Original positions per head, read back (small: one int per entry). */
  async positions(): Promise<Int32Array[]> {
    if (!this.store) return Array.from({ length: this.kvHeads }, () => new Int32Array(0));
    const all = await this.store.positions.readI32();
    return Array.from(this.offsets, (o, h) => all.slice(o, o + this.lens[h]!));
  }

  /**
   * Free the layer's tensors and reset every head to 0 entries and 0 capacity. Tensors from
   * {@link LayerCache.view} and uncopied {@link LayerCache.headMajor} views die with it; appending
   * afterwards starts afresh.
   */
  dispose(): void {
    this.disposeStore();
    this.invalidateDevice();
    this.lens.fill(0);
    this.caps.fill(0);
    this.offsets.fill(0);
  }

  private checkSelection(selection: Selection): void {
    const where = `cache layer ${this.layer} compact`;
    this.requireStore('compact');
    if (selection.length !== this.kvHeads) {
      throw new ShapeError(
        `${where}: selection has ${selection.length} heads, the cache has ${this.kvHeads} KV heads`,
      );
    }
    selection.forEach((sel, h) => {
      if (sel.length < 1)
        throw new IndexError(`${where}: head ${h} would keep no entries; keep at least one`);
      for (let i = 0; i < sel.length; i++) {
        const x = sel[i]!;
        if (x < 0 || x >= this.lens[h]!) {
          throw new IndexError(`${where}: head ${h} index ${x} is outside its ${this.lens[h]} entries`);
        }
        if (i > 0 && x <= sel[i - 1]!) {
          throw new IndexError(
            `${where}: head ${h} indices must be strictly ascending (${sel[i - 1]} then ${x} at ${i})`,
          );
        }
      }
    });
  }

  private requireStore(op: string): Store {
    if (!this.store) throw new ShapeError(`cache layer ${this.layer} ${op}: the layer holds no entries yet`);
    return this.store;
  }

  private reallocate(caps: Int32Array): void {
    const H = this.kvHeads;
    const d = this.headDim;
    const offsets = new Int32Array(H);
    let rows = 0;
    for (let h = 0; h < H; h++) {
      offsets[h] = rows;
      rows += caps[h]!;
    }
    const b = this.backend;
    const next: Store = {
      keys: b.zeros([rows, d], this.dtype, `layer ${this.layer} keys`),
      values: b.zeros([rows, d], this.dtype, `layer ${this.layer} values`),
      positions: b.zeros([rows], 'i32', `layer ${this.layer} positions`),
    };
    const live = this.lens.reduce((a, n) => a + n, 0);
    if (this.store && live > 0) {
      const from = new Int32Array(live);
      const to = new Int32Array(live);
      let at = 0;
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < this.lens[h]!; i++, at++) {
          from[at] = this.offsets[h]! + i;
          to[at] = offsets[h]! + i;
        }
      }
      const fromT = b.upload(from, [live], 'i32', 'rows');
      const toT = b.upload(to, [live], 'i32', 'rows');
      for (const key of ['keys', 'values', 'positions'] as const) {
        const moved = b.gatherRows(this.store[key], fromT);
        b.scatterRows(next[key], toT, moved);
        moved.dispose();
      }
      fromT.dispose();
      toT.dispose();
    }
    this.disposeStore();
    this.store = next;
    this.offsets = offsets;
    this.caps = caps;
    this.invalidateDevice();
  }

  private disposeStore(): void {
    if (!this.store) return;
    this.store.keys.dispose();
    this.store.values.dispose();
    this.store.positions.dispose();
    this.store = null;
  }

  private invalidateDevice(): void {
    if (!this.device) return;
    this.device.offsets.dispose();
    this.device.lengths.dispose();
    this.device = null;
  }

  /** `LayerCache(layer, dtype, lengths [...])`, for logs and messages. */
  toString(): string {
    return `LayerCache(${this.layer}, ${this.dtype}, lengths ${formatShape([...this.lens])})`;
  }
}

/** Bytes one cache entry takes: its key and value (`d` elements each) and its position. */
export function entryBytes(headDim: number, dtype: KVDType): number {
  return 2 * headDim * (dtype === 'f16' ? 2 : 4) + 4;
}
