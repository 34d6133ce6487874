// The files of a new method package. A scorer-based method, working as generated (it keeps the
// tokens with the smallest keys, as kvpress's KnormPress): replace the scorer with your own.

/** `key-norm` → { camel: 'keyNorm', pascal: 'KeyNorm' }. */
export function identifiers(name) {
  const camel = name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
  return { camel, pascal: camel[0].toUpperCase() + camel.slice(1) };
}

export function packageJson(name) {
  return `${JSON.stringify(
    {
      name: `@kvsieve/methods-${name}`,
      version: '0.1.0',
      description: `The ${name} KV-cache compression method for kvsieve.`,
      license: 'MIT',
      author: 'kvsieve contributors',
      homepage: `https://github.com/kvsieve/kvsieve/tree/main/packages/methods-${name}#readme`,
      repository: {
        type: 'git',
        url: 'git+https://github.com/kvsieve/kvsieve.git',
        directory: `packages/methods-${name}`,
      },
      bugs: 'https://github.com/kvsieve/kvsieve/issues',
      keywords: ['kvsieve', 'llm', 'kv-cache', 'kv-cache-compression', name],
      type: 'module',
      engines: { node: '>=20.19' },
      sideEffects: false,
      exports: {
        '.': { '@kvsieve/source': './src/index.ts', types: './dist/index.d.ts', import: './dist/index.js' },
      },
      main: './dist/index.js',
      types: './dist/index.d.ts',
      files: ['dist', 'src', 'README.md', 'LICENSE', 'CHANGELOG.md'],
      publishConfig: { access: 'public' },
      scripts: { build: 'tsc -p tsconfig.build.json', typecheck: 'tsc -p tsconfig.json --noEmit' },
      // Caret ranges once published: a user may mix this method with newer compatible packages.
      dependencies: { '@kvsieve/core': 'workspace:^', '@kvsieve/method-kit': 'workspace:^' },
      devDependencies: { '@kvsieve/test-utils': 'workspace:*' },
    },
    null,
    2,
  )}\n`;
}

export const tsconfig = `{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": ".", "noEmit": true },
  "include": ["src", "test"]
}
`;

export const tsconfigBuild = `{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist", "noEmit": false, "customConditions": [] },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts"]
}
`;

export function vitestConfig(name) {
  return `import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@kvsieve/source'] },
  ssr: { resolve: { conditions: ['@kvsieve/source'] } },
  test: { name: 'methods-${name}', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
`;
}

export function indexTs(name) {
  return `export * from './${name}.js';\n`;
}

export function methodTs(name) {
  const { camel, pascal } = identifiers(name);
  return `import { type Scorer, scoreAllocateSelect } from '@kvsieve/core';
import { defineMethod, type OptionsInput, option } from '@kvsieve/method-kit';

/**
 * Token importance for ${name}: higher is kept. As generated, minus the squared L2 norm of each
 * prefix token's key (KV heads keep their smallest keys, as kvpress's KnormPress); replace it.
 * \`ctx\` is the layer's LayerContext: \`keys\` [kvHeads, n, d], \`windowQueries\`, \`prefixScores()\`, ...
 */
export const ${camel}Scorer: Scorer = {
  name: '${name}',
  score(ctx) {
    const b = ctx.backend;
    const [kvHeads, n, d] = ctx.keys.shape as [number, number, number];
    const squares = b.mul(ctx.keys, ctx.keys);
    const sums = b.reduceLast(squares.reshape([kvHeads * n, d]), 'sum');
    squares.dispose();
    const prefix = b.narrow(sums.reshape([kvHeads, n]), 0, n - ctx.window);
    sums.dispose();
    const scores = b.scale(prefix, -1);
    prefix.dispose();
    return scores; // [kvHeads, n − window]; the caller disposes it
  },
};

/** ${name}: each KV head keeps its best \`budget − window\` prefix tokens by the scorer, plus the window. */
export const definition = defineMethod({
  name: '${name}',
  summary: 'Each KV head keeps the prefix tokens with the smallest keys, plus the most recent window.',
  options: {
    budget: option.budget({ doc: 'Tokens kept per KV head, window included: a count, { tokens } or { ratio } of the prompt.' }),
    window: option.window({ default: 8, doc: 'The most recent tokens, always kept and not scored.' }),
  },
  build: (o) => scoreAllocateSelect({ name: '${name}', budget: o.budget, window: o.window, scorer: ${camel}Scorer }),
});

export type ${pascal}Options = OptionsInput<typeof definition.options>;
/** ${name} with typed options. */
export const ${camel} = definition.create;
/** For the command line (\`kvsieve run --method ${name}\`): options by name, unknown names rejected. */
export const createMethod = definition.createMethod;
`;
}

export function readmeExample(name) {
  const { camel } = identifiers(name);
  return `import { CpuBackend, createLayerContext } from '@kvsieve/core';
import { ${camel} } from '@kvsieve/methods-${name}';

const method = ${camel}({ budget: 6, window: 2 });
// One layer of a model with 2 query heads sharing 1 KV head, and a 12-token prompt.
const model = { numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 4 };
const L = 12;
const run = method.begin(model, { length: L });
const backend = new CpuBackend();
// What the runtime hands a method after a layer's prefill: post-RoPE keys and window queries.
const ctx = createLayerContext({
  backend,
  model,
  layer: 0,
  keys: backend.upload(Float32Array.from({ length: L * 4 }, (_, i) => Math.sin(i)), [1, L, 4], 'f32'),
  windowQueries: backend.upload(new Float32Array(2 * 2 * 4).fill(0.5), [2, 2, 4], 'f32'),
  positions: Int32Array.from({ length: L }, (_, i) => i),
});
const decision = await run.afterLayer(ctx);
console.log(method.name, method.options, decision.keep);
`;
}

export function readme(name, example = readmeExample(name)) {
  return `# @kvsieve/methods-${name}

The \`${name}\` KV-cache compression method for kvsieve. As generated by \`pnpm new-method ${name}\`,
each KV head keeps the prefix tokens with the smallest keys (L2 norm), plus the most recent
\`window\` tokens: a working starting point; replace \`${identifiers(name).camel}Scorer\` in
\`src/${name}.ts\` with the method's own scores.

\`\`\`sh
npm install @kvsieve/runtime @kvsieve/methods-${name}
kvsieve run model.gguf --prompt-file prompt.txt --method ${name} --budget 25%
\`\`\`

\`\`\`ts
${example.trim()}
\`\`\`

## Options

\`kvsieve methods ${name}\` prints them from the declaration in \`src/${name}.ts\`:

| option | allowed | default |
| --- | --- | --- |
| \`budget\` | tokens (n ≥ 1), \`{ tokens: n }\` or \`{ ratio: r }\` with 0 < r ≤ 1 | required |
| \`window\` | an integer ≥ 1, smaller than a budget in tokens | 8 (halved to fit a smaller budget) |
`;
}

export function readmeTest() {
  return `import { runReadmeExample } from '@kvsieve/test-utils';
import { expect, it } from 'vitest';

it('the README example is this package test/readme-example.ts, and it runs', async () => {
  const calls = await runReadmeExample(import.meta.url);
  expect(calls).toHaveLength(1);
  const keep = calls[0]![2] as Int32Array[];
  expect(keep.map((k) => k.length)).toEqual([6]);
});
`;
}

export function methodTest(name) {
  const { camel } = identifiers(name);
  return `import { CpuBackend, createLayerContext, METHOD_SPEC, OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { createMethod, ${camel} } from '../src/index.js';

const model = { numLayers: 1, numHeads: 2, numKvHeads: 2, headDim: 2 };
const backend = new CpuBackend();

/** A layer whose head h has small keys exactly at the positions \`small[h]\`. */
function layer(L: number, small: number[][]) {
  const keys = new Float32Array(2 * L * 2);
  for (let h = 0; h < 2; h++)
    for (let j = 0; j < L; j++) {
      const v = small[h]!.includes(j) ? 0.1 : 1 + j / L;
      keys.set([v, -v], (h * L + j) * 2);
    }
  return createLayerContext({
    backend,
    model,
    layer: 0,
    keys: backend.upload(keys, [2, L, 2], 'f32'),
    windowQueries: backend.upload(new Float32Array(2 * 2 * 2).fill(1), [2, 2, 2], 'f32'),
    positions: Int32Array.from({ length: L }, (_, i) => i),
  });
}

describe('${name}', () => {
  it('states the contract and its options, and rebuilds from them', () => {
    const m = ${camel}({ budget: 5, window: 2 });
    expect(m.spec).toBe(METHOD_SPEC);
    expect(m.name).toBe('${name}');
    expect(createMethod({ ...m.options }).options).toEqual(m.options);
  });

  it('keeps, per KV head, the scored tokens plus the window, within the budget', async () => {
    const run = ${camel}({ budget: 5, window: 2 }).begin(model, { length: 12 });
    const ctx = layer(12, [
      [1, 4, 6],
      [0, 2, 9],
    ]);
    const d = await run.afterLayer(ctx);
    ctx.release();
    expect((d.keep as Int32Array[]).map((k) => [...k])).toEqual([
      [1, 4, 6, 10, 11],
      [0, 2, 9, 10, 11],
    ]);
  });

  it('keeps a prompt within the budget whole, and says so', async () => {
    const d = await ${camel}({ budget: 16 }).begin(model, { length: 12 }).afterLayer(layer(12, [[], []]));
    expect(d.keep).toBe('all');
    expect(d.note).toMatch(/nothing evicted/);
  });

  it('rejects bad options, naming them', () => {
    expect(() => ${camel}({ budget: 0 })).toThrow(OptionError);
    expect(() => createMethod({ budget: 8, windw: 2 })).toThrow(/${name}: unknown option "windw"/);
    expect(() => ${camel}({ budget: 8, window: 8 })).toThrow(/option "window" must be an integer ≥ 1 and ≤ 7/);
  });
});
`;
}

/** The conformance matrix's entry for the method (packages/conformance/test/methods.ts). */
export function matrixEntry(name) {
  const { camel, pascal } = identifiers(name);
  return {
    importLine: `import { createMethod as create${pascal}, ${camel} } from '@kvsieve/methods-${name}';`,
    entry: `  {
    label: '${name}',
    make: () => ${camel}({ budget: 16, window: 4 }),
    fromOptions: create${pascal},
    capacity: tokens(16),
    window: 4,
    sinks: 0,
    shape: 'uniform',
  },`,
  };
}
