import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { colorAllowed } from '../src/style.js';
import { capture } from './capture.js';
import { tinyModelDir } from './tiny-model.js';

// What shells and scripts rely on: --version, exit statuses, results on stdout and everything else
// on stderr, colors only on a terminal and never with NO_COLOR.

const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
const dir = tinyModelDir(11);

describe('kvsieve --version', () => {
  it.each(['--version', '-V'])('%s prints the package version alone on stdout', async (flag) => {
    const io = capture();
    expect(await main([flag], io)).toBe(0);
    expect(io.stdout).toBe(`${version}\n`);
    expect(io.stderr).toBe('');
  });
});

describe('exit statuses', () => {
  it('0: run with --json puts only the JSON summary on stdout', async () => {
    const io = capture();
    expect(await main(['run', dir, '--prompt', 'hello there', '--max-tokens', '2', '--json'], io)).toBe(0);
    expect(JSON.parse(io.stdout).generatedTokens).toBeGreaterThan(0);
    expect(io.stderr).toBe('');
  });

  it('0: run prints the text on stdout and its summary on stderr', async () => {
    const io = capture();
    expect(await main(['run', dir, '--prompt', 'hello there', '--max-tokens', '2'], io)).toBe(0);
    expect(io.stderr).toMatch(/prefill .* tokens\/s/);
    expect(io.stdout).not.toMatch(/tokens\/s/);
  });

  it.each([
    ['an unknown command', ['frobnicate']],
    ['a missing model', ['run', join(dir, 'missing'), '--prompt', 'x']],
    ['an unknown option', ['run', dir, '--prompt', 'x', '--frobnicate']],
    ['a bad budget', ['run', dir, '--prompt', 'x', '--method', 'snapkv', '--budget', '-3']],
  ])('2: %s is one kvsieve: line on stderr', async (_, argv) => {
    const io = capture();
    expect(await main(argv, io)).toBe(2);
    expect(io.stdout).toBe('');
    expect(io.stderr).toMatch(/^kvsieve: [^\n]+\n$/);
  });

  it('1: a failure kvsieve did not expect (a method module that throws a TypeError)', async () => {
    const io = capture();
    const broken = async () => ({
      createMethod: () => {
        throw new TypeError('cannot read properties of undefined');
      },
    });
    const code = await main(['run', dir, '--prompt', 'x', '--method', '@me/broken'], io, broken);
    expect(code).toBe(1);
    expect(io.stderr).toMatch(/^kvsieve: unexpected failure: .*report it\)\n$/);
  });
});

describe('colors', () => {
  it('paint the kvsieve: prefix of an error when io.color is on, and only then', async () => {
    const plain = capture();
    await main(['frobnicate'], plain);
    expect(plain.stderr).not.toContain('\x1b[');
    const tty = { ...capture(), color: true };
    let stderr = '';
    tty.err = (t: string) => {
      stderr += t;
    };
    expect(await main(['frobnicate'], tty)).toBe(2);
    expect(stderr.startsWith('\x1b[1;31mkvsieve:\x1b[0m OptionError: unknown command')).toBe(true);
  });

  it.each([
    [{}, true, true],
    [{}, false, false],
    [{ NO_COLOR: '1' }, true, false],
    [{ NO_COLOR: '' }, true, true],
    [{ NO_COLOR: '1', FORCE_COLOR: '1' }, true, false],
    [{ TERM: 'dumb' }, true, false],
    [{ FORCE_COLOR: '1' }, false, true],
    [{ FORCE_COLOR: '0' }, false, false],
  ])('env %j on a terminal=%s: colors %s', (env, interactive, expected) => {
    expect(colorAllowed(env, interactive)).toBe(expected);
  });
});
