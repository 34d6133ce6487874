// @kvsieve/eval's file readers (text haystacks, RULER JSONL) import node:fs and node:path; the
// playground never calls them. The bundle points those modules here so that a call, if one ever
// happens, fails with a message saying why instead of an opaque "undefined is not a function".
const unavailable = (name: string) => () => {
  throw new Error(`${name} is not available in the browser playground (it reads files from disk)`);
};
export const appendFileSync = unavailable('appendFileSync');
export const rmSync = unavailable('rmSync');
export const readFileSync = unavailable('readFileSync');
export const writeFileSync = unavailable('writeFileSync');
export const readdirSync = unavailable('readdirSync');
export const statSync = unavailable('statSync');
export const existsSync = unavailable('existsSync');
export const mkdirSync = unavailable('mkdirSync');
export const join = unavailable('path.join');
export const basename = unavailable('path.basename');
export const dirname = unavailable('path.dirname');
export const resolve = unavailable('path.resolve');
export default {};
