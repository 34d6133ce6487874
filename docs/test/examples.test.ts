// Every code block marked `runnable` in the guides is executed here: TypeScript blocks are written
// to a module and imported (they run against the packages' sources on the CPU backend), shell
// blocks are kvsieve commands run through the CLI's own main(). A block fails its test by throwing
// (the examples assert what they show) or, for a command, by a non-zero exit code.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { main } from 'kvsieve';
import { afterAll, describe, expect, it } from 'vitest';
import { kvsieveCommands, runnableBlocks } from './extract.js';

const docs = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(docs);
const blocks = runnableBlocks(docs);
// Inside docs/ so the examples' imports resolve with this project's aliases; git-ignored.
const tmp = join(docs, '.generated', 'examples');

describe('runnable examples in the guides', () => {
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('finds the runnable blocks', () => {
    // The guides mark examples in getting-started, browser, method-contract and new-method at least.
    expect(new Set(blocks.map((b) => b.file)).size).toBeGreaterThanOrEqual(4);
  });

  for (const b of blocks) {
    it(`${b.file}:${b.line} (${b.lang})`, async () => {
      const cwd = process.cwd();
      process.chdir(root); // examples use paths from the repository root (models/kvsieve-recall)
      try {
        if (b.lang === 'ts') {
          mkdirSync(tmp, { recursive: true });
          const file = join(tmp, `${b.file.replace(/[/.]/g, '_')}_${b.line}.ts`);
          writeFileSync(file, `${b.code}\nexport {};\n`);
          await import(pathToFileURL(file).href);
        } else {
          for (const argv of kvsieveCommands(b.code)) {
            let err = '';
            const io = {
              out: () => {},
              err: (t: string) => {
                err += t;
              },
              interactive: false,
              readFile: (p: string) => readFileSync(p, 'utf8'),
              cwd: root,
            };
            const code = await main(argv, io);
            expect(code, `kvsieve ${argv.join(' ')}\n${err}`).toBe(0);
          }
        }
      } finally {
        process.chdir(cwd);
      }
    });
  }
});
