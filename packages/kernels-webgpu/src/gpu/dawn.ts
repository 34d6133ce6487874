// Dawn, WebGPU for Node (the `webgpu` package), reached through the package's `#dawn` import.
// Browsers resolve `#dawn` to dawn-browser.ts instead (the "browser" condition), so a browser
// bundle never meets this file or Dawn's Node-only module.

/** The part of Dawn's module kvsieve uses: `create(flags)` returns its `GPU` object. */
export interface DawnModule {
  create(flags: string[]): GPU;
}

export async function loadDawn(): Promise<DawnModule> {
  return (await import('webgpu')) as DawnModule;
}
