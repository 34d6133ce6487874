import type { Backend } from '@kvsieve/core';
import { afterAll, beforeAll, describe } from 'vitest';
import { attentionTests } from './attention.js';
import { linearTests } from './linear.js';
import { quantTests } from './quant.js';
import { rowsTests } from './rows.js';
import { selectionTests } from './selection.js';
import type { BackendFactory } from './util.js';

export * from './reference.js';
export * from './util.js';

/**
 * The conformance suite, written once: every backend runs it, checking each op against direct f64
 * definitions (./reference.ts) on random and edge-case inputs, and the shared error paths.
 */
export function conformanceSuite(name: string, factory: BackendFactory, teardown?: (b: Backend) => void) {
  describe(`conformance: ${name}`, () => {
    let backend: Backend | undefined;
    beforeAll(async () => {
      backend = await factory();
    });
    afterAll(() => {
      if (backend && teardown) teardown(backend);
    });
    const get = () => {
      if (!backend) throw new Error(`conformance: backend ${name} was not created`);
      return backend;
    };
    describe('data movement and errors', () => rowsTests(get));
    describe('linear and pointwise', () => linearTests(get));
    describe('quantized weights', () => quantTests(get));
    describe('attention', () => attentionTests(get));
    describe('selection', () => selectionTests(get));
  });
}
