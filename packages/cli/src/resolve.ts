import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type CompressionMethod, KvsieveError, METHOD_SPEC, OptionError } from '@kvsieve/core';

/** Thrown when an optional package the command needs is not installed. */
export class MissingPackageError extends KvsieveError {
  /** `'MissingPackageError'`: the class's name, for messages and `err.name` checks. */
  override name = 'MissingPackageError';
}

/** How the CLI loads optional packages and method modules; tests replace it. */
export type ModuleImporter = (specifier: string) => Promise<Record<string, unknown>>;

export const defaultImporter: ModuleImporter = (specifier) => import(specifier);

function isMissing(e: unknown, specifier: string): boolean {
  const err = e as { code?: string; message?: string };
  return (
    (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') &&
    typeof err.message === 'string' &&
    err.message.includes(specifier)
  );
}

/** The module, or null when it (not one of its own imports) is not installed. */
export async function importOptional(
  importer: ModuleImporter,
  specifier: string,
): Promise<Record<string, unknown> | null> {
  try {
    return await importer(specifier);
  } catch (e) {
    if (isMissing(e, specifier)) return null;
    throw e;
  }
}

/** A method name the CLI maps to `@kvsieve/methods-NAME`. */
const SHORT_NAME = /^[a-z0-9][a-z0-9-]*$/;
/** An npm package name, scoped or not. */
const PACKAGE_NAME = /^(@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;

/** Does `spec` name a module file (a path or a file: URL) rather than a package? */
function isFileSpec(spec: string): boolean {
  return (
    spec.startsWith('file:') ||
    spec.startsWith('./') ||
    spec.startsWith('../') ||
    spec.startsWith('.\\') ||
    spec.startsWith('..\\') ||
    isAbsolute(spec) ||
    /\.(m?js|cjs)$/.test(spec)
  );
}

/** The entry file of an installed package's main export, read from its package.json. */
function packageEntry(dir: string): string {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    exports?: unknown;
    main?: string;
  };
  const pick = (e: unknown): string | undefined => {
    if (typeof e === 'string') return e;
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return undefined;
    const o = e as Record<string, unknown>;
    if ('.' in o) return pick(o['.']);
    for (const cond of ['import', 'node', 'default']) if (cond in o) return pick(o[cond]);
    return undefined;
  };
  return join(dir, pick(pkg.exports) ?? pkg.main ?? 'index.js');
}

/**
 * A package as the user's project resolves it: `node_modules/NAME` in the working directory or a
 * folder above it (the CLI's own dependencies are tried first, by the importer).
 */
function findInProject(name: string, cwd: string): string | null {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return pathToFileURL(packageEntry(candidate)).href;
    if (dirname(dir) === dir) return null;
  }
}

/** Where a method spec's module is, and how to say it. */
interface MethodModule {
  readonly specifier: string;
  readonly label: string;
}

/** The module specifiers to try for a `--method` value, in order. */
function candidates(spec: string, cwd: string): MethodModule[] {
  if (isFileSpec(spec)) {
    const url = spec.startsWith('file:') ? spec : pathToFileURL(resolve(cwd, spec)).href;
    return [{ specifier: url, label: spec }];
  }
  const names = SHORT_NAME.test(spec) ? [`@kvsieve/methods-${spec}`, spec] : [spec];
  const out: MethodModule[] = [];
  for (const name of names) {
    out.push({ specifier: name, label: name });
    const local = findInProject(name, cwd);
    if (local) out.push({ specifier: local, label: name });
  }
  return out;
}

/** The method factory a module exports: `createMethod(options)`, or a `definition` from defineMethod. */
function factoryOf(mod: Record<string, unknown>): ((o: Record<string, unknown>) => unknown) | null {
  const from = (x: unknown): ((o: Record<string, unknown>) => unknown) | null => {
    if (typeof x === 'function') return x as (o: Record<string, unknown>) => unknown;
    const d = x as { createMethod?: unknown } | null;
    return d && typeof d === 'object' && typeof d.createMethod === 'function'
      ? (d.createMethod as (o: Record<string, unknown>) => unknown)
      : null;
  };
  const fallback = mod.default;
  return (
    from(mod.createMethod) ?? from(mod.definition) ?? (typeof fallback === 'object' ? from(fallback) : null)
  );
}

/** A method factory from a module, with how to name the module in messages. */
export interface MethodFactory {
  /** How messages name the module: the method's package name or the path given. */
  readonly label: string;
  /**
   * Builds the method from options by name (the module checks them); throws a `MissingPackageError` when the
   * method states another contract version.
   */
  create(options: Record<string, unknown>): CompressionMethod;
}

/**
 * The factory behind `--method SPEC`: a name (`snapkv` loads `@kvsieve/methods-snapkv`), a package
 * name (`@me/my-method`, `kvsieve-method-foo`), or a module file (`./my-method.js`, an absolute
 * path or a `file:` URL). Packages are looked up among the CLI's own dependencies, then in the
 * working directory's `node_modules` (and those above it). The module exports `createMethod(options)`
 * or a `definition` made with `defineMethod`; the methods it makes must state the contract version
 * this CLI runs.
 */
export async function resolveMethodFactory(
  spec: string,
  importer: ModuleImporter = defaultImporter,
  cwd: string = process.cwd(),
): Promise<MethodFactory> {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new OptionError(
      '--method needs a method name (snapkv), a package name or a module path (./my-method.js)',
    );
  }
  if (!isFileSpec(spec) && !PACKAGE_NAME.test(spec)) {
    throw new OptionError(
      `--method must be a method name such as snapkv, a package name (@me/my-method) or a module path (./my-method.js), got ${JSON.stringify(spec)}`,
    );
  }
  const tried = candidates(spec, cwd);
  let mod: Record<string, unknown> | null = null;
  let found: MethodModule | null = null;
  if (isFileSpec(spec)) {
    const c = tried[0]!;
    const path = fileURLToPath(c.specifier);
    if (!existsSync(path))
      throw new MissingPackageError(`--method ${spec}: there is no file ${path}; check the path`);
    try {
      mod = await importer(c.specifier);
    } catch (e) {
      throw new MissingPackageError(
        `--method ${spec}: the module ${path} failed to load (${String((e as Error)?.message ?? e).split('\n')[0]}); fix it and run again`,
      );
    }
    found = c;
  }
  for (const c of found ? [] : tried) {
    mod = await importOptional(importer, c.specifier);
    if (mod) {
      found = c;
      break;
    }
  }
  if (!mod || !found) {
    const pkg = tried[0]!.label;
    throw new MissingPackageError(
      `--method ${spec} needs the package ${pkg}, which is not installed; install it (pnpm add ${pkg}, or npm install ${pkg}) and run again, or give a module path such as ./my-method.js`,
    );
  }
  const create = factoryOf(mod);
  if (!create) {
    throw new MissingPackageError(
      `${found.label} exports neither createMethod(options) nor a definition made with defineMethod; it is not a kvsieve method module`,
    );
  }
  const label = found.label;
  return {
    label,
    create(options) {
      const method = create(options) as CompressionMethod | undefined;
      if (method?.spec !== METHOD_SPEC || typeof method.begin !== 'function') {
        throw new MissingPackageError(
          `${label} implements ${String(method?.spec)}, this CLI runs ${METHOD_SPEC}; install matching versions`,
        );
      }
      return method;
    },
  };
}

/** A method from `--method SPEC` and its options (see {@link resolveMethodFactory}). */
export async function resolveMethod(
  spec: string,
  options: Record<string, unknown>,
  importer: ModuleImporter = defaultImporter,
  cwd: string = process.cwd(),
): Promise<CompressionMethod> {
  return (await resolveMethodFactory(spec, importer, cwd)).create(options);
}
