import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The child script both llama.cpp baselines run (one process per measurement: ENVIRONMENT.md). */
export const LLAMA_CPP_SCRIPT = fileURLToPath(new URL('./llama-cpp-speed.mjs', import.meta.url));

/** What llama-cpp-speed.mjs prints as its last line. */
export interface LlamaCppRun {
  /** Set when the build or a device for it is missing: nothing was measured. */
  readonly skip?: string;
  readonly prefillSeconds: number;
  readonly decodeSeconds: number;
  readonly decodeTokens: number;
  readonly devices?: readonly string[];
}

/**
 * Prefill `ids` and decode `decode` tokens from the GGUF at `path` in a child process, on `threads`
 * CPU threads or, with `gpu`, on that backend's GPU. Rejects with the child's first stderr line.
 */
export async function runLlamaCpp(
  path: string,
  ids: readonly number[],
  decode: number,
  threads: number,
  dir: string,
  gpu?: 'vulkan',
): Promise<LlamaCppRun> {
  const idsFile = join(dir, 'llama-cpp-ids.json');
  writeFileSync(idsFile, JSON.stringify(ids));
  const args = [LLAMA_CPP_SCRIPT, path, idsFile, String(decode), String(threads), ...(gpu ? [gpu] : [])];
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      args,
      { encoding: 'utf8', timeout: 1_800_000, maxBuffer: 1 << 24 },
      (err, out, errOut) => {
        if (!err) return resolve(out);
        const text = (errOut || err.message).trim();
        reject(new Error(text.split('\n').find((l) => l.trim()) ?? err.message));
      },
    ),
  );
  try {
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as LlamaCppRun;
  } catch {
    throw new Error(`its child printed no result line (${stdout.trim().slice(-200)})`);
  }
}
