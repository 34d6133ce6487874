import { join } from 'node:path';
import { describeShared } from '@kvsieve/test-utils';
import { expect, it } from 'vitest';
import { formatReport, runConformance } from '../src/index.js';

describeShared('conformance on ../shared/golden', ['golden'], (shared) => {
  it('passes every reference check', async () => {
    const report = await runConformance([join(shared, 'golden')]);
    console.log(formatReport(report));
    expect(report.failed, formatReport(report)).toBe(0);
    expect(report.passed).toBe(40);
  }, 120_000);
});
