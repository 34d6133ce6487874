import { CpuBackend } from '@kvsieve/core';
import { conformanceSuite } from './conformance/index.js';

// The CPU reference runs the same suite: it checks the definitions and the reference against each other.
conformanceSuite('cpu', () => new CpuBackend());
