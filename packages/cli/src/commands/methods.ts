import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OptionError } from '@kvsieve/core';
import { table } from '../format.js';
import type { CliIO } from '../io.js';
import { defaultImporter, MissingPackageError, type ModuleImporter } from '../resolve.js';

/** `kvsieve methods --help`: listing the installed methods, or one method's options. */
export const METHODS_USAGE = `Usage:
  kvsieve methods          the installed methods (@kvsieve/methods-* packages) with what each keeps
  kvsieve methods NAME     one method's options: allowed values, defaults and what they do

Methods are installed one package each (npm install @kvsieve/methods-snapkv); --method also takes a
package name or a module file exporting createMethod (see CONTRIBUTING.md, "Writing a method").`;

/** What `kvsieve methods` reads of a method module: its declaration, when it has one. */
interface Declared {
  readonly name?: string;
  readonly summary?: string;
  readonly options?: Readonly<
    Record<
      string,
      {
        readonly allowed?: string;
        readonly defaultText?: string;
        readonly doc?: string;
        readonly presence?: string;
      }
    >
  >;
}

/** `@kvsieve/methods-*` packages the CLI (and the working directory's project) can load. */
export function installedMethodNames(cwd: string): string[] {
  const names = new Set<string>();
  const starts = [dirname(fileURLToPath(import.meta.url)), resolve(cwd)];
  for (const start of starts) {
    for (let dir = start; ; dir = dirname(dir)) {
      const scope = join(dir, 'node_modules', '@kvsieve');
      if (existsSync(scope)) {
        for (const entry of readdirSync(scope)) if (entry.startsWith('methods-')) names.add(entry.slice(8));
      }
      if (dirname(dir) === dir) break;
    }
  }
  return [...names].sort();
}

async function definitionOf(name: string, importer: ModuleImporter): Promise<Declared | null> {
  const specifier = `@kvsieve/methods-${name}`;
  try {
    const mod = await importer(specifier);
    return (mod.definition as Declared | undefined) ?? null;
  } catch (e) {
    const err = e as { code?: string };
    if (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') return null;
    throw e;
  }
}

/** `kvsieve methods [NAME]`: what is installed, or one method's declared options. */
export async function methodsCommand(
  argv: readonly string[],
  io: CliIO,
  importer: ModuleImporter = defaultImporter,
): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(`${METHODS_USAGE}\n`);
    return;
  }
  const unknown = argv.filter((a) => a.startsWith('-'));
  if (unknown.length > 0)
    throw new OptionError(`methods: unknown option ${unknown[0]} (kvsieve methods --help)`);
  if (argv.length > 1)
    throw new OptionError(`methods takes at most one method name, got ${argv.length}: ${argv.join(' ')}`);
  const cwd = io.cwd ?? process.cwd();
  if (argv.length === 0) {
    const rows = [['method', 'what it keeps']];
    for (const name of installedMethodNames(cwd)) {
      const d = await definitionOf(name, importer);
      rows.push([name, d?.summary ?? '(no declaration: see its README)']);
    }
    io.out(`${table(rows)}\n\nkvsieve methods NAME shows a method's options.\n`);
    return;
  }
  const name = argv[0]!;
  const d = await definitionOf(name, importer);
  if (!d) {
    throw new MissingPackageError(
      `methods ${name}: the package @kvsieve/methods-${name} is not installed (or declares no options); installed: ${installedMethodNames(cwd).join(', ') || 'none'}`,
    );
  }
  const rows = [['option', 'allowed', 'default', 'what it does']];
  for (const [option, spec] of Object.entries(d.options ?? {})) {
    const dflt = spec.presence === 'required' ? '(required)' : (spec.defaultText ?? '—');
    rows.push([option, spec.allowed ?? '', dflt, spec.doc ?? '']);
  }
  io.out(
    `${d.name ?? name}: ${d.summary ?? ''}\n\n${table(rows)}\n\nGive them as --budget, --window and --option KEY=VALUE (kvsieve run --help).\n`,
  );
}
