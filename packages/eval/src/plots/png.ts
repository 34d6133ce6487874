import { existsSync } from 'node:fs';

/** Where Debian and most Linux distributions keep DejaVu Sans (fonts-dejavu-core). */
export const FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
];

/** The first of `candidates` that exists on disk, or null when none does (PNG rendering then skips with a warning). */
export function findFont(candidates: readonly string[] = FONT_CANDIDATES): string | null {
  return candidates.find((f) => existsSync(f)) ?? null;
}

type ResvgModule = typeof import('@resvg/resvg-js');

let resvg: Promise<ResvgModule | Error> | undefined;

/**
 * resvg's native module, loaded on first use so that a platform without its prebuilt binary loses
 * the PNGs (with the reason) rather than the whole package.
 */
export function loadResvg(): Promise<ResvgModule | Error> {
  resvg ??= import('@resvg/resvg-js').catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  return resvg;
}

/**
 * Render an SVG to PNG with resvg, given the font file explicitly (system fonts are not searched,
 * so the image is the same on every machine with that font). Scale 2 for sharp text.
 */
export function svgToPng(mod: ResvgModule, svg: string, fontFile: string, scale = 2): Buffer {
  const r = new mod.Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { fontFiles: [fontFile], loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' },
  });
  return r.render().asPng();
}
