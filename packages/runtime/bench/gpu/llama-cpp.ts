import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  private readonly script: string;

  constructor(disabled?: string) {
    // Beside the bench sources; absent beside the offline kit's bundle, which carries no llama.cpp.
    this.script = fileURLToPath(new URL('../llama-cpp-speed.mjs', import.meta.url));
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
    const idsFile = join(dir, 'llama-cpp-ids.json');
    writeFileSync(idsFile, JSON.stringify(ids));
    const args = [this.script, path, idsFile, String(decode), String(availableParallelism()), 'vulkan'];
    let stdout: string;
    try {
      stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          args,
          { encoding: 'utf8', timeout: 1_800_000, maxBuffer: 1 << 24 },
          (err, out, errOut) => (err ? reject(Object.assign(err, { stderr: errOut })) : resolve(out)),
        ),
      );
    } catch (e) {
      const err = e as Error & { stderr?: string };
      const why =
        (err.stderr || err.message)
          .trim()
          .split('\n')
          .find((l) => l.trim()) ?? err.message;
      if (/Cannot find (package|module) 'node-llama-cpp'/.test(why)) {
        this.skipped = `node-llama-cpp is not installed (${why})`;
        return null;
      }
      return new Error(`llama.cpp: ${why}`);
    }
    let r: {
      skip?: string;
      prefillSeconds: number;
      decodeSeconds: number;
      decodeTokens: number;
      devices: string[];
    };
    try {
      r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    } catch {
      return new Error(`llama.cpp: its child printed no result line (${stdout.trim().slice(-200)})`);
    }
    if (r.skip) {
      this.skipped = r.skip;
      return null;
    }
    return {
      prefillTokensPerSecond: ids.length / r.prefillSeconds,
      decodeTokensPerSecond: r.decodeTokens / r.decodeSeconds,
      devices: r.devices,
    };
  }
}
