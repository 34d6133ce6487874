// Types of build-test-wasm.mjs (a plain script, so the benchmark runs without a TypeScript build).
export declare const csrc: string;
export declare const QUANT_SOURCES: readonly string[];
export declare function findClang(): string;
export declare function buildQuantWasm(out?: string, extra?: readonly string[]): string;

/** The exports of csrc/quant.h, with pointers as byte offsets into `memory`. */
export interface QuantExports {
  readonly memory: WebAssembly.Memory;
  kv_type_block(type: number): number;
  kv_row_bytes(type: number, k: number): number;
  kv_row_dot(type: number, row: number, x: number, k: number): number;
  kv_row_dot4(type: number, row: number, rowStrideBytes: number, x: number, k: number, out4: number): void;
  kv_row_dot_x4(type: number, row: number, x: number, xStride: number, k: number, out4: number): void;
  kv_row_decode(type: number, row: number, out: number, k: number): void;
}

export interface QuantWasm {
  readonly exports: QuantExports & Record<string, unknown>;
  readonly memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  reset(): void;
}

export declare function instantiateQuantWasm(path: string): Promise<QuantWasm>;
