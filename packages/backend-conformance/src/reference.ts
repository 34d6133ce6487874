// Direct definitions of the ops, written independently of any backend and computed in f64: the
// conformance suite checks every backend (the CPU reference included) against these.

export function matmulRef(
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
  transposeB: boolean,
) {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k]! * b[transposeB ? j * K + k : k * N + j]!;
      out[i * N + j] = s;
    }
  return out;
}

function softmax(xs: number[]): number[] {
  const m = Math.max(...xs);
  if (m === Number.NEGATIVE_INFINITY) return xs.map(() => 0);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((p, c) => p + c, 0);
  return e.map((x) => x / s);
}

export function softmaxRef(x: Float32Array, n: number) {
  const out = new Float64Array(x.length);
  for (let r = 0; r * n < x.length; r++) out.set(softmax(Array.from(x.subarray(r * n, r * n + n))), r * n);
  return out;
}

function dot(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, d: number) {
  let s = 0;
  for (let c = 0; c < d; c++) s += a[ao + c]! * b[bo + c]!;
  return s;
}

/** Attention of one query (offset qo) over keys/values at the given element offsets. */
function attend(
  q: Float32Array,
  qo: number,
  k: Float32Array,
  v: Float32Array,
  keyOffs: number[],
  d: number,
  scale: number,
) {
  const out = new Float64Array(d);
  if (keyOffs.length === 0) return out;
  const p = softmax(keyOffs.map((o) => dot(q, qo, k, o, d) * scale));
  keyOffs.forEach((o, j) => {
    for (let c = 0; c < d; c++) out[c]! += p[j]! * v[o + c]!;
  });
  return out;
}

export function causalRef(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  n: number,
  m: number,
  H: number,
  Hkv: number,
  d: number,
  scale: number,
) {
  const out = new Float64Array(n * H * d);
  for (let i = 0; i < n; i++)
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor((h * Hkv) / H);
      const offs = Array.from({ length: m - n + i + 1 }, (_, j) => (j * Hkv + kvh) * d);
      out.set(attend(q, (i * H + h) * d, k, v, offs, d, scale), (i * H + h) * d);
    }
  return out;
}

/** Causal, and inside a sliding window of `window` positions when it is not 0. */
function sees(keyPos: number, queryPos: number, window: number): boolean {
  return keyPos <= queryPos && (window === 0 || queryPos - keyPos < window);
}

export function raggedRef(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  pos: Int32Array,
  off: Int32Array,
  len: Int32Array,
  qpos: Int32Array,
  H: number,
  d: number,
  scale: number,
  window = 0,
) {
  const n = qpos.length;
  const Hkv = off.length;
  const out = new Float64Array(n * H * d);
  for (let i = 0; i < n; i++)
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor((h * Hkv) / H);
      const offs: number[] = [];
      for (let r = off[kvh]!; r < off[kvh]! + len[kvh]!; r++)
        if (sees(pos[r]!, qpos[i]!, window)) offs.push(r * d);
      out.set(attend(q, (i * H + h) * d, k, v, offs, d, scale), (i * H + h) * d);
    }
  return out;
}

/** attentionMass: per cache row, the softmax probability each (query, head) reading it puts on it, summed. */
export function attentionMassRef(
  q: Float32Array,
  k: Float32Array,
  pos: Int32Array,
  off: Int32Array,
  len: Int32Array,
  qpos: Int32Array,
  H: number,
  d: number,
  rows: number,
  scale: number,
  window = 0,
) {
  const Hkv = off.length;
  const out = new Float64Array(rows);
  for (let i = 0; i < qpos.length; i++)
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor((h * Hkv) / H);
      const seen: number[] = [];
      for (let r = off[kvh]!; r < off[kvh]! + len[kvh]!; r++)
        if (sees(pos[r]!, qpos[i]!, window)) seen.push(r);
      const p = softmax(seen.map((r) => dot(q, (i * H + h) * d, k, r * d, d) * scale));
      seen.forEach((r, j) => {
        out[r]! += p[j]!;
      });
    }
  return out;
}

export function windowRef(
  q: Float32Array,
  k: Float32Array,
  H: number,
  w: number,
  Hkv: number,
  L: number,
  d: number,
  scale: number,
  window = 0,
) {
  const out = new Float64Array(H * L);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor((h * Hkv) / H);
    for (let t = 0; t < w; t++) {
      const cols = Array.from({ length: L - w + t + 1 }, (_, j) => j).filter((j) =>
        sees(j, L - w + t, window),
      );
      const p = softmax(cols.map((j) => dot(q, (h * w + t) * d, k, (kvh * L + j) * d, d) * scale));
      p.forEach((x, i) => {
        out[h * L + cols[i]!]! += x;
      });
    }
  }
  return out;
}

/** Top-k by the documented order: larger first, NaN last, ties to the lower index. */
export function topkRef(x: Float32Array, n: number, k: number) {
  const out: number[] = [];
  for (let r = 0; r * n < x.length; r++) {
    const row = x.subarray(r * n, r * n + n);
    const key = (i: number) => (Number.isNaN(row[i]!) ? Number.NEGATIVE_INFINITY : row[i]!);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
      const na = Number.isNaN(row[a]!);
      const nb = Number.isNaN(row[b]!);
      if (na !== nb) return na ? 1 : -1;
      return key(b) - key(a) || a - b;
    });
    out.push(...order.slice(0, k));
  }
  return out;
}
