import {
  type CompressionMethod,
  METHOD_SPEC,
  type MethodRun,
  type MethodSpec,
  type ModelInfo,
  OptionError,
  type PromptInfo,
  rejectUnknownOptions,
  showValue,
} from '@kvsieve/core';
import type { FactoryArgs, ResolvedOptions, Schema } from './schema.js';

/** What a method's `build` returns: how a run begins, plus anything the method exposes (its parts). */
export interface MethodBody {
  /** Start a run for one prompt, as {@link CompressionMethod.begin}: the defined method forwards its calls here. */
  begin(model: ModelInfo, prompt: PromptInfo): MethodRun;
  /** Used only by a method that passes options through: a wrapper names itself after what it wraps ("adakv(snapkv)"). */
  readonly name?: string;
  /** Used only by a method that passes options through: its options include the wrapped method's. */
  readonly options?: Readonly<Record<string, unknown>>;
}

/**
 * What a method package hands to {@link defineMethod}: its name, summary, options (`S`), how it is
 * built (`B`, the body) and how its options are reported (`R`).
 */
export interface MethodDeclaration<S extends Schema, B extends MethodBody, R> {
  /** The name `--method` finds it by: lowercase letters, digits and dashes. */
  readonly name: string;
  /** One sentence for people: what the method keeps. */
  readonly summary: string;
  /** Every option, once: how it is read, checked, defaulted and described. */
  readonly options: S;
  /**
   * A wrapper: options this method does not declare are handed to `build` (which passes them to
   * the method it wraps, and that method checks them) instead of being refused, and the built
   * body's own `name` and `options` are reported.
   */
  readonly passThrough?: boolean;
  /** Rules between options that no single option states; throw an OptionError. */
  readonly check?: (o: ResolvedOptions<S>) => void;
  /** How the resolved options are reported (default: as resolved). They must rebuild the method. */
  readonly report?: (o: ResolvedOptions<S>) => R;
  /**
   * Build the method's body from checked options (defaults filled in). `rest` holds the options the
   * method does not declare: always empty unless `passThrough`. Called once per method instance.
   */
  readonly build: (o: ResolvedOptions<S>, rest: Readonly<Record<string, unknown>>) => B;
}

/** A method instance: its body's parts, with the contract's spec, name and reported options (typed `R`). */
export type DefinedMethod<B extends MethodBody, R = Readonly<Record<string, unknown>>> = Omit<
  B,
  'name' | 'options' | 'spec'
> &
  CompressionMethod & {
    /** The resolved options as the declaration reports them (frozen); passing them to `create` rebuilds the method. */
    readonly options: Readonly<R>;
  };

/** Everything `defineMethod` derives from one declaration. */
export interface MethodDefinition<S extends Schema, B extends MethodBody, R = ResolvedOptions<S>> {
  /** The contract version, `'kvsieve.method/v1'`: marks the value as a definition (see {@link isMethodDefinition}). */
  readonly spec: MethodSpec;
  /** The method's name, as declared. */
  readonly name: string;
  /** The declared one-sentence summary (CLI help, docs). */
  readonly summary: string;
  /** The declared options (for help, docs and generated forms). */
  readonly options: S;
  /** The declared option names, in declaration order (the order options are read in). */
  readonly optionNames: readonly string[];
  /** Validate options and fill in defaults (unknown names refused unless the method passes them through). */
  read(options: unknown): ResolvedOptions<S>;
  /** The typed factory. */
  create(...args: FactoryArgs<S>): DefinedMethod<B, R>;
  /** The same from untyped input (command line, JSON): what `--method` calls. */
  createMethod(options: Readonly<Record<string, unknown>>): DefinedMethod<B, R>;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Declare a method once: its options (see `option`) and how it is built from them. The typed
 * factory, `createMethod(raw)` for the command line, the option names and every validation message
 * come from the declaration, and the method it builds states the contract version, its name and
 * its resolved options (which rebuild it).
 */
export function defineMethod<S extends Schema, B extends MethodBody, R = ResolvedOptions<S>>(
  decl: MethodDeclaration<S, B, R>,
): MethodDefinition<S, B, R> {
  if (!NAME.test(decl.name)) {
    throw new OptionError(
      `defineMethod: name must be lowercase letters, digits and dashes (e.g. "snapkv"), got ${showValue(decl.name)}`,
    );
  }
  const where = decl.name;
  const optionNames = Object.keys(decl.options);
  const split = (raw: unknown) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new OptionError(`${where}: options must be an object, got ${showValue(raw)}`);
    }
    const given = raw as Readonly<Record<string, unknown>>;
    if (!decl.passThrough) rejectUnknownOptions(where, given, optionNames);
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(given)) if (!optionNames.includes(k)) rest[k] = v;
    return { given, rest };
  };
  const resolve = (given: Readonly<Record<string, unknown>>): ResolvedOptions<S> => {
    const values: Record<string, unknown> = {};
    const names = new Set(Object.keys(given).filter((k) => given[k] !== undefined));
    for (const name of optionNames) {
      const value = decl.options[name]!.read(given[name], { where, name, values, given: names, raw: given });
      if (value !== undefined) values[name] = value;
    }
    const o = values as ResolvedOptions<S>;
    decl.check?.(o);
    return o;
  };
  const make = (raw: unknown): DefinedMethod<B, R> => {
    const { given, rest } = split(raw);
    const o = resolve(given);
    const body = decl.build(o, rest);
    const wrapper = decl.passThrough === true;
    const reported = (wrapper ? body.options : undefined) ?? decl.report?.(o) ?? o;
    return {
      ...body,
      spec: METHOD_SPEC,
      name: (wrapper ? body.name : undefined) ?? decl.name,
      options: Object.freeze({ ...reported }),
      begin: (model: ModelInfo, prompt: PromptInfo) => body.begin(model, prompt),
    } as unknown as DefinedMethod<B, R>;
  };
  return {
    spec: METHOD_SPEC,
    name: decl.name,
    summary: decl.summary,
    options: decl.options,
    optionNames,
    read: (raw) => resolve(split(raw).given),
    create: (...args) => make(args[0] ?? {}),
    createMethod: (options) => make(options),
  };
}

/** Is this value a method definition made by {@link defineMethod}? */
export function isMethodDefinition(x: unknown): x is MethodDefinition<Schema, MethodBody, unknown> {
  const d = x as Partial<MethodDefinition<Schema, MethodBody, unknown>> | null;
  return (
    d !== null &&
    typeof d === 'object' &&
    d.spec === METHOD_SPEC &&
    typeof d.createMethod === 'function' &&
    Array.isArray(d.optionNames)
  );
}

/** A method instance check: what a runtime requires of a value passed as a method. */
export function isCompressionMethod(x: unknown): x is CompressionMethod {
  const m = x as Partial<CompressionMethod> | null;
  return m !== null && typeof m === 'object' && typeof m.begin === 'function' && typeof m.name === 'string';
}
