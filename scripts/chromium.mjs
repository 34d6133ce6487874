// Debian's Chromium as the project's browser checks launch it through Playwright (the playground
// e2e, the docs screenshots, the consumer page, kernels-webgpu's browser conformance run). One
// place for the binary and the flags, so a flag that a Chromium update needs is changed once.

/** Where scripts/setup.sh installs Chromium (`apt-get install chromium`). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for `launchPersistentContext` with `headless: false` (so that `--headless=new` is the only
 * headless flag): no sandbox (CI runs as root), none of the background traffic a first run starts
 * (updates, sync, QUIC probes), and with `webgpu`, WebGPU enabled (SwiftShader where there is no GPU).
 */
export function chromiumArgs({ webgpu = false } = {}) {
  return [
    ...(webgpu ? ['--enable-unsafe-webgpu'] : []),
    '--headless=new',
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ];
}
