import { CpuBackend } from '@kvsieve/core';
import { agreementSuite } from './agreement-suite.js';

agreementSuite('cpu', async () => new CpuBackend());
