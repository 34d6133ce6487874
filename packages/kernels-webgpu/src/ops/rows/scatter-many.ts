import { bytesPerElement, type Tensor } from '@kvsieve/core';
import type { Binding } from '../../gpu/binding.js';
import { type BufferDecl, input, kernel, output, Params } from '../../gpu/program.js';
import type { OpEnv } from '../../gpu/storage.js';
import { BUILTINS, HALF_CODECS, WG_INDEX } from '../../gpu/wgsl.js';

// Up to three scatters with the same rows in one dispatch: a KV cache append writes keys, values
// and positions to the same rows, three dispatches per layer per token otherwise. Each pair is
// moved a word at a time, so no two threads share a word and no atomics are needed: 32-bit rows
// copy an element per thread, 16-bit rows of even width a word (two elements), and f32 rows into
// an f16/bf16 destination of even width two converted halves per word (as scatter_narrow does).
// Anything else (16-bit rows of odd width) is left to scatterRows, one pair at a time.

const MAX_PAIRS = 3;

const P = new Params([
  ['R0', 'u32'],
  ['w0', 'u32'],
  ['c0', 'u32'],
  ['R1', 'u32'],
  ['w1', 'u32'],
  ['c1', 'u32'],
  ['R2', 'u32'],
  ['w2', 'u32'],
  ['c2', 'u32'],
] as const);

/** How one pair moves a destination word: a copied word, or two f32 values rounded to f16/bf16. */
type Move = 'copy' | 'f16' | 'bf16';

const SCATTER_MANY = kernel({
  name: 'scatter_many',
  params: P,
  buffers: ({ moves }: { moves: string }): BufferDecl[] => [
    input('idx', 'i32'),
    ...moves
      .split(',')
      .flatMap((m, i) => [output(`dst${i}`, 'u32'), input(`src${i}`, m === 'copy' ? 'u32' : 'f32')]),
  ],
  body: ({ moves }) => {
    const list = moves.split(',') as Move[];
    const pair = (m: Move, i: number) => {
      const write =
        m === 'copy'
          ? `dst${i}[t] = src${i}[o];`
          : `dst${i}[t] = f32_to_${m}(src${i}[2u * o]) | (f32_to_${m}(src${i}[2u * o + 1u]) << 16u);`;
      return `if (o < u.c${i}) {
    let r = idx[o / u.w${i}];
    if (r >= 0 && u32(r) < u.R${i}) {
      let t = u32(r) * u.w${i} + o % u.w${i};
      ${write}
    }
  }`;
    };
    return `${list.some((m) => m !== 'copy') ? HALF_CODECS : ''}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  ${WG_INDEX}
  let o = wg * 256u + lid;
  ${list.map(pair).join('\n  ')}
}`;
  },
});

/**
 * All pairs in one dispatch, or false (then the caller scatters them one by one) when a pair is
 * 16-bit of odd width, or there are more than three. `dims` are validateScatter's, per pair.
 */
export function scatterRowsManyGpu(
  env: OpEnv,
  dsts: readonly Tensor[],
  rows: Tensor,
  srcs: readonly Tensor[],
  dims: readonly { R: number; width: number; n: number }[],
): boolean {
  if (dsts.length < 2 || dsts.length > MAX_PAIRS) return false;
  const moves: Move[] = [];
  const shapes: { R: number; w: number; c: number }[] = [];
  for (const [i, dst] of dsts.entries()) {
    const { R, width, n } = dims[i]!;
    const half = bytesPerElement(dst.dtype) === 2;
    if (half && width % 2 !== 0) return false;
    moves.push(srcs[i]!.dtype === dst.dtype ? 'copy' : (dst.dtype as 'f16' | 'bf16'));
    // Words per row: a 16-bit row of even width is width / 2 words.
    const w = half ? width / 2 : width;
    shapes.push({ R, w, c: n * w });
  }
  const buffers: Record<string, Binding> = { idx: env.bind(rows, 'scatterRowsMany') };
  dsts.forEach((dst, i) => {
    buffers[`dst${i}`] = env.bind(dst, 'scatterRowsMany');
    buffers[`src${i}`] = env.bind(srcs[i]!, 'scatterRowsMany');
  });
  const u = { R0: 0, w0: 1, c0: 0, R1: 0, w1: 1, c1: 0, R2: 0, w2: 1, c2: 0 };
  shapes.forEach((s, i) => Object.assign(u, { [`R${i}`]: s.R, [`w${i}`]: s.w, [`c${i}`]: s.c }));
  const threads = Math.max(...shapes.map((s) => s.c));
  const batch = env.ctx.batch();
  batch.dispatch(SCATTER_MANY({ moves: moves.join(',') }), buffers, u, batch.grid(Math.ceil(threads / 256)));
  batch.done();
  return true;
}
