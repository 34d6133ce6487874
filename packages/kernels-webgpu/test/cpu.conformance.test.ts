import { conformanceSuite } from '@kvsieve/backend-conformance';
import { CpuBackend } from '@kvsieve/core';

// The CPU reference runs the same suite: it checks the definitions and the reference against each other.
conformanceSuite('cpu', () => new CpuBackend());
