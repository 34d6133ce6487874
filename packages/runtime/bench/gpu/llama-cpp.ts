import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { LLAMA_CPP_SCRIPT, type LlamaCppRun, runLlamaCpp } from '../llama-cpp-child.js';

export interface BaselineSpeed {
  readonly prefillTokensPerSecond: number;
  readonly decodeTokensPerSecond: number;
  readonly devices: readonly string[];
}

/**
 * llama.cpp's Vulkan build through node-llama-cpp, one child process per measurement (reusing one
 * process for several contexts hung here: ENVIRONMENT.md). The first measurement finds out whether
 * the build and a GPU for it exist; if not, `skipped` says why and no more children are started.
 */
export class LlamaCppBaseline {
  skipped: string | null;
  private readonly script = LLAMA_CPP_SCRIPT;

  constructor(disabled?: string) {
    // Beside the bench sources; absent beside the offline kit's bundle, which carries no llama.cpp.
    this.skipped =
      disabled ??
      (existsSync(this.script)
        ? null
        : `node-llama-cpp is not installed beside this script (${this.script} is absent; the offline kit carries only kvsieve's WebGPU path)`);
  }

  /** Prefill `ids` and decode `decode` tokens from the GGUF at `path`; an Error for this row only. */
  async measure(
    path: string,
    ids: readonly number[],
    decode: number,
    dir: string,
  ): Promise<BaselineSpeed | Error | null> {
    if (this.skipped) return null;
    let r: LlamaCppRun;
    try {
      r = await runLlamaCpp(path, ids, decode, availableParallelism(), dir, 'vulkan');
    } catch (e) {
      const why = (e as Error).message;
      if (/Cannot find (package|module) 'node-llama-cpp'/.test(why)) {
        this.skipped = `node-llama-cpp is not installed (${why})`;
        return null;
      }
      return new Error(`llama.cpp: ${why}`);
    }
    if (r.skip) {
      this.skipped = r.skip;
      return null;
    }
    return {
      prefillTokensPerSecond: ids.length / r.prefillSeconds,
      decodeTokensPerSecond: r.decodeTokens / r.decodeSeconds,
      devices: r.devices ?? [],
    };
  }
}
