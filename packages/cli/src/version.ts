import { readFileSync } from 'node:fs';

/** This package's version, read from its package.json (one folder up from src/ and dist/ alike). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
