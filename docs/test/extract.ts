import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A fenced code block marked `runnable` in a guide: ```ts runnable or ```sh runnable. */
export interface RunnableBlock {
  readonly file: string;
  readonly line: number;
  readonly lang: 'ts' | 'sh';
  readonly code: string;
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'reference') return [];
    const p = join(dir, e.name);
    return e.isDirectory() ? markdownFiles(p) : e.name.endsWith('.md') ? [p] : [];
  });
}

/** Every runnable block under `docsDir`, in file and line order. */
export function runnableBlocks(docsDir: string): RunnableBlock[] {
  const blocks: RunnableBlock[] = [];
  for (const path of markdownFiles(docsDir).sort()) {
    const lines = readFileSync(path, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = lines[i]!.match(/^```(\w+)\s+(.*)$/);
      if (!open || !/(^|\s)runnable(\s|$)/.test(open[2]!)) continue;
      const lang = open[1];
      if (lang !== 'ts' && lang !== 'sh')
        throw new Error(`${path}:${i + 1}: runnable blocks are ts or sh, got ${lang}`);
      const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
      if (end < 0) throw new Error(`${path}:${i + 1}: unclosed code block`);
      blocks.push({
        file: relative(docsDir, path),
        line: i + 1,
        lang,
        code: lines.slice(i + 1, end).join('\n'),
      });
      i = end;
    }
  }
  return blocks;
}

/** The commands of a `sh runnable` block: one `kvsieve …` per line, words split as a shell would (quotes, no expansion). */
export function kvsieveCommands(code: string): string[][] {
  return code
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const words = [...l.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
      if (words[0] !== 'kvsieve') throw new Error(`runnable shell lines must be kvsieve commands, got: ${l}`);
      return words.slice(1);
    });
}
