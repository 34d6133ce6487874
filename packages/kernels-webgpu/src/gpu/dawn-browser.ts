// `#dawn` in a browser bundle: there is no Dawn to load, only navigator.gpu (device.ts asks it
// first), so reaching this means the browser offers no WebGPU.
import type { DawnModule } from './dawn.js';

export async function loadDawn(): Promise<DawnModule> {
  throw new Error('this browser has no navigator.gpu');
}
