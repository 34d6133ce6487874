/**
 * The long fuzz run of the model-file loaders: mutated GGUF files, safetensors files, sharded
 * indexes and JSON files, each loaded through the readers and through loadModel. Prints per format
 * the cases, typed errors, successful loads, other outcomes (must be 0) and the slowest case; exits
 * non-zero if any case was neither a verified load nor a typed error.
 *
 *   pnpm --filter @kvsieve/runtime fuzz [--cases 100000] [--seed N] [--formats gguf,safetensors,index,json]
 */
import { parseArgs } from 'node:util';
import { ggufFormat, safetensorsFormat } from '../test/fuzz/formats-binary.js';
import { indexFormat, jsonFormat } from '../test/fuzz/formats-folder.js';
import { type FuzzFormat, type FuzzStats, runFormat } from '../test/fuzz/harness.js';

const { values: o } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    formats: { type: 'string', default: 'gguf,safetensors,index,json' },
  },
});
const cases = Number(o.cases);
const seed = Number(o.seed);
const makers: Record<string, () => FuzzFormat<unknown>> = {
  gguf: ggufFormat as () => FuzzFormat<unknown>,
  safetensors: safetensorsFormat as () => FuzzFormat<unknown>,
  index: indexFormat as () => FuzzFormat<unknown>,
  json: jsonFormat as () => FuzzFormat<unknown>,
};

const results: (FuzzStats & { seconds: number })[] = [];
console.log(`fuzz: ${cases} cases per format, seed ${seed}`);
for (const name of o.formats!.split(',')) {
  const make = makers[name];
  if (!make) throw new Error(`unknown format ${name}; formats: ${Object.keys(makers).join(', ')}`);
  const format = make();
  const t0 = performance.now();
  try {
    const s = await runFormat(format, cases, seed, (p) => {
      process.stdout.write(`\r  ${name}: ${p.cases} cases, ${p.other} other   `);
    });
    const seconds = (performance.now() - t0) / 1000;
    results.push({ ...s, seconds });
    process.stdout.write('\r');
    console.log(
      `${name.padEnd(12)} ${s.cases} cases: ${s.typed} typed errors, ${s.loaded} loaded, ${s.other} other; slowest ${s.slowestMs.toFixed(1)} ms (${seconds.toFixed(0)} s in all)`,
    );
    console.log(`             slowest case: ${s.slowestCase}`);
    for (const x of s.others) console.log(`  OTHER: ${x.detail}\n    case: ${x.case}`);
  } finally {
    format.dispose();
  }
}
console.log('\n| format | cases | typed errors | loaded | other | slowest case |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const s of results) {
  console.log(
    `| ${s.format} | ${s.cases} | ${s.typed} | ${s.loaded} | ${s.other} | ${s.slowestMs.toFixed(1)} ms |`,
  );
}
process.exitCode = results.some((s) => s.other > 0) ? 1 : 0;
