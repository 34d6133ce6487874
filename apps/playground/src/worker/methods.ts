import type { CompressionMethod } from '@kvsieve/core';
import type { MethodBody, MethodDefinition, Schema } from '@kvsieve/method-kit';
import { definition as adakv } from '@kvsieve/methods-adakv';
import { definition as chunkkv } from '@kvsieve/methods-chunkkv';
import { definition as h2o } from '@kvsieve/methods-h2o';
import { definition as pyramidkv } from '@kvsieve/methods-pyramidkv';
import { definition as snapkv } from '@kvsieve/methods-snapkv';
import { definition as streamingllm } from '@kvsieve/methods-streamingllm';
import { definition as structkv } from '@kvsieve/methods-structkv';
import { definition as surfacelogickv } from '@kvsieve/methods-surfacelogickv';
import type { MethodInfo, OptionField } from './protocol.js';

type AnyDefinition = MethodDefinition<Schema, MethodBody, unknown>;

/** Every published method, in the order the picker lists them. */
export const DEFINITIONS: readonly AnyDefinition[] = [
  snapkv,
  pyramidkv,
  h2o,
  streamingllm,
  adakv,
  chunkkv,
  structkv,
  surfacelogickv,
] as unknown as AnyDefinition[];

/** What the page needs to draw a method's form: its declared options, minus their readers. */
export function describeMethods(defs: readonly AnyDefinition[] = DEFINITIONS): MethodInfo[] {
  return defs.map((d) => ({
    name: d.name,
    summary: d.summary,
    fields: Object.entries(d.options).map(
      ([name, s]): OptionField => ({
        name,
        kind: s.kind,
        presence: s.presence,
        doc: s.doc,
        allowed: s.allowed,
        ...(s.defaultText !== undefined ? { defaultText: s.defaultText } : {}),
        ...(s.choices ? { choices: [...s.choices] } : {}),
      }),
    ),
  }));
}

/** Build a method from the form's options; the definition's own messages explain bad values. */
export function createMethod(name: string, options: Readonly<Record<string, unknown>>): CompressionMethod {
  const d = DEFINITIONS.find((x) => x.name === name);
  if (!d)
    throw new Error(`unknown method "${name}"; this page has ${DEFINITIONS.map((x) => x.name).join(', ')}`);
  return d.createMethod(options);
}
