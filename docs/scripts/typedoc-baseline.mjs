// A typedoc plugin: the notDocumented check as a ratchet. Exports that were undocumented when the
// check was introduced are listed per package in docs/undocumented.json; a warning for one of
// them is dropped, any other undocumented export stays a validation warning (an error under
// treatValidationWarningsAsErrors), so no new gap gets in. A listed name that is now documented
// (or gone) is reported so the list can be trimmed; it does not fail the build, because packages
// are documented by several people at once and a comment added must not break the docs. typedoc's own intentionallyNotDocumented cannot do this in
// "packages" mode: it validates each package alone and calls every other package's names unused.
import { readFileSync } from 'node:fs';
import { RendererEvent } from 'typedoc';

const NOT_DOCUMENTED = /^(.*) \((\w+)\), defined in (.*?)\/src\/.*, does not have any documentation$/;

/** @param {import('typedoc').Application} app */
export function load(app) {
  const file = new URL('../undocumented.json', import.meta.url);
  /** @type {Record<string, string[]>} */
  const baseline = JSON.parse(readFileSync(file, 'utf8'));
  const listed = new Set(
    Object.entries(baseline).flatMap(([pkg, names]) => names.map((n) => `${pkg}: ${n}`)),
  );
  const seen = new Set();
  const warn = app.logger.validationWarning.bind(app.logger);
  app.logger.validationWarning = (message, ...rest) => {
    const m = String(message).match(NOT_DOCUMENTED);
    if (m) {
      const key = `${m[3]}: ${m[1]}`;
      if (listed.has(key)) {
        seen.add(key);
        return;
      }
    }
    warn(message, ...rest);
  };
  app.renderer.on(RendererEvent.END, () => {
    const stale = [...listed].filter((k) => !seen.has(k));
    if (stale.length) {
      console.log(
        `typedoc: docs/undocumented.json lists ${stale.length} export(s) now documented or gone; remove them:\n\t${stale.join('\n\t')}`,
      );
    }
    console.log(`typedoc: ${seen.size} undocumented exports still listed in docs/undocumented.json`);
  });
}
