import type { Backend } from '@kvsieve/core';
import { formatBytes, table } from '../format.js';

/** The WebGPU backend's counters, as `--profile` reads them (kernels-webgpu's GpuCounters). */
interface Counters {
  readonly submissions: number;
  readonly dispatches: number;
  readonly bytesWritten: number;
  readonly bytesRead: number;
  readonly readbacks: number;
  readonly buffersCreated: number;
  readonly bindGroupsCreated: number;
  readonly pipelinesCreated: number;
}

interface KernelTime {
  readonly kernel: string;
  readonly dispatches: number;
  readonly ms: number;
}

/** What a backend must offer to be profiled (the WebGPU backend does; CLI depends on it optionally). */
interface Profilable {
  counters(): Counters;
  timeKernels(on: boolean): boolean;
  kernelTimes(): Promise<KernelTime[]>;
}

function profilable(b: Backend): b is Backend & Profilable {
  const p = b as Partial<Profilable>;
  return typeof p.counters === 'function' && typeof p.timeKernels === 'function';
}

/**
 * `--profile`: counters taken when decoding begins and when it ends, divided by the decode steps,
 * and per-kernel GPU time over the same stretch where the device can time kernels.
 */
export class DecodeProfile {
  private start: Counters | null = null;
  private timing = false;
  readonly note: string | null;

  constructor(private readonly backend: Backend) {
    this.note = profilable(backend)
      ? null
      : `--profile: the ${backend.name} backend keeps no device counters; they are the WebGPU backend's (--backend webgpu)`;
  }

  /** Call once the prompt is prefilled, before the first decode step. */
  begin(): void {
    if (!profilable(this.backend)) return;
    this.timing = this.backend.timeKernels(true);
    this.start = this.backend.counters();
  }

  /** The profile of `steps` decode steps since {@link begin}, as lines for stderr. */
  async end(steps: number): Promise<string> {
    const b = this.backend;
    if (!profilable(b) || !this.start) return this.note ?? '';
    const now = b.counters();
    const times = this.timing ? await b.kernelTimes() : [];
    b.timeKernels(false);
    if (steps === 0) return 'profile: no decode step ran (generate more than one token)';
    const d = (k: keyof Counters) => (now[k] - this.start![k]) / steps;
    const rows: string[][] = [
      ['queue submissions', d('submissions').toFixed(2)],
      ['dispatches', d('dispatches').toFixed(1)],
      ['bytes written', `${formatBytes(d('bytesWritten'))} (uploads and uniform blocks)`],
      ['bytes read back', `${formatBytes(d('bytesRead'))} in ${d('readbacks').toFixed(2)} reads`],
      ['buffers created', d('buffersCreated').toFixed(2)],
      ['bind groups created', d('bindGroupsCreated').toFixed(2)],
      ['pipelines compiled', d('pipelinesCreated').toFixed(2)],
    ];
    const lines = [`\nprofile: per decode token, mean of ${steps} steps`, table(rows)];
    if (!this.timing) {
      lines.push('GPU time per kernel: this adapter has no timestamp-query');
    } else if (times.length > 0) {
      const total = times.reduce((s, t) => s + t.ms, 0);
      lines.push(`GPU time per kernel (timestamp-query): ${(total / steps).toFixed(3)} ms per token`);
      lines.push(
        table(
          times.map((t) => [
            t.kernel,
            `${(t.ms / steps).toFixed(3)} ms`,
            `${total > 0 ? ((100 * t.ms) / total).toFixed(1) : '0.0'}%`,
            `${(t.dispatches / steps).toFixed(1)} dispatches`,
          ]),
        ),
      );
    }
    return lines.join('\n');
  }
}
