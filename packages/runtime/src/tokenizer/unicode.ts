/**
 * Code point classes as llama.cpp's pre-tokenizers see them (`src/unicode.cpp`): one general
 * category per code point (Unicode 15.1, from llama.cpp's generated tables), plus White_Space.
 *
 * The categories come from the engine's own `\p{…}` support, which follows whatever Unicode version
 * the JavaScript engine ships (Node 20.19+ ships 16 or 17). Code points assigned after 15.1 are
 * unassigned to llama.cpp, so they are masked back to "undefined" here; `unicode.test.ts` checks
 * the per-category totals against llama.cpp's tables, which catches an engine on a newer Unicode.
 */

export const CPT_UNDEFINED = 0x1;
export const CPT_NUMBER = 0x2;
export const CPT_LETTER = 0x4;
export const CPT_SEPARATOR = 0x8;
export const CPT_MARK = 0x10;
export const CPT_PUNCTUATION = 0x20;
export const CPT_SYMBOL = 0x40;
export const CPT_CONTROL = 0x80;
/** Categories occupy the low byte; whitespace is a separate bit, as in llama.cpp's flags. */
export const CPT_WHITESPACE = 0x100;

/**
 * Ranges (inclusive) first assigned in Unicode 16.0 and 17.0. llama.cpp's tables predate them.
 * Derived by comparing an engine on Unicode 17 with llama.cpp's `unicode-data.cpp`.
 */
const AFTER_15_1: readonly (readonly [number, number])[] = [
  [0x88f, 0x88f],
  [0x897, 0x897],
  [0xc5c, 0xc5c],
  [0xcdc, 0xcdc],
  [0x1acf, 0x1add],
  [0x1ae0, 0x1aeb],
  [0x1b4e, 0x1b4f],
  [0x1b7f, 0x1b7f],
  [0x1c89, 0x1c8a],
  [0x20c1, 0x20c1],
  [0x2427, 0x2429],
  [0x2b96, 0x2b96],
  [0x31e4, 0x31e5],
  [0xa7cb, 0xa7cf],
  [0xa7d2, 0xa7d2],
  [0xa7d4, 0xa7d4],
  [0xa7da, 0xa7dc],
  [0xa7f1, 0xa7f1],
  [0xfbc3, 0xfbd2],
  [0xfd90, 0xfd91],
  [0xfdc8, 0xfdce],
  [0x105c0, 0x105f3],
  [0x10940, 0x10959],
  [0x10d40, 0x10d65],
  [0x10d69, 0x10d85],
  [0x10d8e, 0x10d8f],
  [0x10ec2, 0x10ec7],
  [0x10ed0, 0x10ed8],
  [0x10efa, 0x10efc],
  [0x11380, 0x11389],
  [0x1138b, 0x1138b],
  [0x1138e, 0x1138e],
  [0x11390, 0x113b5],
  [0x113b7, 0x113c0],
  [0x113c2, 0x113c2],
  [0x113c5, 0x113c5],
  [0x113c7, 0x113ca],
  [0x113cc, 0x113d5],
  [0x113d7, 0x113d8],
  [0x113e1, 0x113e2],
  [0x116d0, 0x116e3],
  [0x11b60, 0x11b67],
  [0x11bc0, 0x11be1],
  [0x11bf0, 0x11bf9],
  [0x11db0, 0x11ddb],
  [0x11de0, 0x11de9],
  [0x11f5a, 0x11f5a],
  [0x13460, 0x143fa],
  [0x16100, 0x16139],
  [0x16d40, 0x16d79],
  [0x16ea0, 0x16eb8],
  [0x16ebb, 0x16ed3],
  [0x16ff2, 0x16ff6],
  [0x187f8, 0x187ff],
  [0x18cff, 0x18cff],
  [0x18d09, 0x18d1e],
  [0x18d80, 0x18df2],
  [0x1cc00, 0x1ccfc],
  [0x1cd00, 0x1ceb3],
  [0x1ceba, 0x1ced0],
  [0x1cee0, 0x1cef0],
  [0x1e5d0, 0x1e5fa],
  [0x1e5ff, 0x1e5ff],
  [0x1e6c0, 0x1e6de],
  [0x1e6e0, 0x1e6f5],
  [0x1e6fe, 0x1e6ff],
  [0x1f6d8, 0x1f6d8],
  [0x1f777, 0x1f77a],
  [0x1f8b2, 0x1f8bb],
  [0x1f8c0, 0x1f8c1],
  [0x1f8d0, 0x1f8d8],
  [0x1fa54, 0x1fa57],
  [0x1fa89, 0x1fa8a],
  [0x1fa8e, 0x1fa8f],
  [0x1fabe, 0x1fabe],
  [0x1fac6, 0x1fac6],
  [0x1fac8, 0x1fac8],
  [0x1facd, 0x1facd],
  [0x1fadc, 0x1fadc],
  [0x1fadf, 0x1fadf],
  [0x1fae9, 0x1faea],
  [0x1faef, 0x1faef],
  [0x1fbcb, 0x1fbef],
  [0x1fbfa, 0x1fbfa],
  [0x2b73a, 0x2b73f],
  [0x2cea2, 0x2cead],
  [0x323b0, 0x33479],
];

function after15_1(cp: number): boolean {
  let lo = 0;
  let hi = AFTER_15_1.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = AFTER_15_1[mid]!;
    if (cp < a) hi = mid - 1;
    else if (cp > b) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Unicode's White_Space property, which is what llama.cpp's whitespace table holds. */
function isWhiteSpace(cp: number): boolean {
  return (
    (cp >= 0x9 && cp <= 0xd) ||
    cp === 0x20 ||
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

const CATEGORY_RE = /(\p{N})|(\p{L})|(\p{Z})|(\p{M})|(\p{P})|(\p{S})|(\p{Cn})/u;
const GROUP_FLAG = [
  0,
  CPT_NUMBER,
  CPT_LETTER,
  CPT_SEPARATOR,
  CPT_MARK,
  CPT_PUNCTUATION,
  CPT_SYMBOL,
  CPT_UNDEFINED,
];

function classify(cp: number): number {
  let cat = CPT_CONTROL;
  if (!after15_1(cp)) {
    const m = CATEGORY_RE.exec(String.fromCodePoint(cp));
    if (m) {
      for (let g = 1; g < GROUP_FLAG.length; g++) {
        if (m[g] !== undefined) {
          cat = GROUP_FLAG[g]!;
          break;
        }
      }
    }
  } else {
    cat = CPT_UNDEFINED;
  }
  return isWhiteSpace(cp) ? cat | CPT_WHITESPACE : cat;
}

let ascii: Uint16Array | null = null;
const cache = new Map<number, number>();

/** llama.cpp's flags for one code point: a category bit, plus {@link CPT_WHITESPACE}. */
export function cptFlags(cp: number): number {
  if (cp < 128) {
    if (ascii === null) {
      ascii = new Uint16Array(128);
      for (let c = 0; c < 128; c++) ascii[c] = classify(c);
    }
    return ascii[cp]!;
  }
  let f = cache.get(cp);
  if (f === undefined) {
    f = classify(cp);
    // Text rarely uses more than a few thousand distinct code points; the bound keeps a
    // pathological input from growing the cache without limit.
    if (cache.size > 65536) cache.clear();
    cache.set(cp, f);
  }
  return f;
}

/**
 * GPT-2's byte-to-character table: printable Latin-1 bytes map to themselves, the other 68 bytes
 * to U+0100 onwards in byte order, so every byte has a visible, non-space character.
 */
function buildByteTables(): { toChar: string[]; toByte: Map<string, number> } {
  const toChar: string[] = new Array(256);
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) toChar[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  const toByte = new Map<string, number>();
  toChar.forEach((c, b) => toByte.set(c, b));
  return { toChar, toByte };
}

let byteTables: ReturnType<typeof buildByteTables> | null = null;

/** Byte → its byte-level BPE character, and back. */
export function byteLevelTables(): { toChar: readonly string[]; toByte: ReadonlyMap<string, number> } {
  byteTables ??= buildByteTables();
  return byteTables;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The text as llama.cpp receives it through node-llama-cpp: UTF-8, so a lone surrogate arrives
 * as U+FFFD.
 */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}
