import { ModelFileError } from '../errors.js';

type NodeFs = typeof import('node:fs');
type NodePath = typeof import('node:path');

/**
 * Node's `fs` and `path`, fetched when a file is first read by path rather than imported: the
 * runtime's modules then name no Node built-in, so a browser bundle of `@kvsieve/runtime` needs no
 * shims, and only reading by path (which a browser cannot do) needs Node.
 * `process.getBuiltinModule` exists from Node 20.16 (the project requires 20.19).
 */
function builtin<T>(id: string, what: string): T {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.(id);
  if (mod === undefined) {
    throw new ModelFileError(
      `${what} uses the file system, which needs Node.js 20.19 or newer; in a browser, load a model from its files' bytes: loadModel({ 'config.json': bytes, 'model.safetensors': bytes, … }) or loadModel({ 'model.gguf': bytes })`,
    );
  }
  return mod as T;
}

export function nodeFs(what: string): NodeFs {
  return builtin<NodeFs>('node:fs', what);
}

export function nodePath(what: string): NodePath {
  return builtin<NodePath>('node:path', what);
}
