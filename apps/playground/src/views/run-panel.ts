import { formField, optionsFromTexts } from '../lib/forms.js';
import type { MethodChoice, PageState, PromptChoice } from '../lib/url-state.js';
import type { MethodInfo } from '../worker/protocol.js';
import { fill, h } from './dom.js';

/** Text samples beside the needle generator. */
const SAMPLES: Readonly<Record<string, string>> = {
  story:
    'Once upon a time, there was a little dog named Max. Max liked to run in the park with his friend Tim. One day, Max found a big red ball under a tree. He wanted to show it to Tim.',
  recall:
    'The secret code for amber-anchor: 4417302. Some warm garden carried every gentle plan. Our large voice took his red bridge with our careful story. What is the secret code for amber-anchor? The secret code for amber-anchor:',
};

/** Measures a SurfaceLogicKV profile on the loaded model; resolves to its JSON text. */
export type Calibrate = (probes: number, progress: (done: number, total: number) => void) => Promise<string>;

/** One method's picker and its generated option form. */
class MethodForm {
  readonly el: HTMLElement;
  private readonly select: HTMLSelectElement;
  private readonly fields = h('div', { class: 'fields' });
  private texts: Record<string, string> = {};

  constructor(
    private readonly methods: readonly MethodInfo[],
    private readonly index: number,
    choice: MethodChoice | undefined,
    private readonly onChange: () => void,
    private readonly calibrate: Calibrate,
  ) {
    const id = `method-${index}`;
    this.select = h('select', { id, ...(index === 0 ? { 'data-testid': 'method-select' } : {}) });
    if (index > 0) this.select.append(h('option', { value: '' }, '(none)'));
    for (const m of methods) this.select.append(h('option', { value: m.name }, m.name));
    this.select.value = choice?.name ?? (index === 0 ? 'snapkv' : '');
    this.texts = { ...(choice?.options ?? {}) };
    this.select.addEventListener('change', () => {
      this.texts = {};
      this.render();
      this.onChange();
    });
    this.el = h(
      'fieldset',
      { class: 'method' },
      h('legend', {}, index === 0 ? 'Method' : 'Second method (optional)'),
      h('label', { for: id }, 'method '),
      this.select,
      this.fields,
    );
    this.render();
  }

  private info(): MethodInfo | undefined {
    return this.methods.find((m) => m.name === this.select.value);
  }

  private render(): void {
    const m = this.info();
    if (!m) {
      fill(this.fields);
      return;
    }
    const rows = m.fields.map((f) => {
      const ff = formField(f);
      const id = `m${this.index}-${f.name}`;
      const helpId = `${id}-help`;
      let input: HTMLInputElement | HTMLSelectElement;
      if (ff.input === 'select') {
        input = h(
          'select',
          { id, 'aria-describedby': helpId },
          h('option', { value: '' }, `(default${f.defaultText ? ` ${f.defaultText}` : ''})`),
        );
        for (const c of ff.choices) input.append(h('option', { value: c }, c));
      } else if (ff.input === 'checkbox') {
        input = h(
          'select',
          { id, 'aria-describedby': helpId },
          h('option', { value: '' }, `(default ${f.defaultText ?? ''})`),
          h('option', { value: 'true' }, 'true'),
          h('option', { value: 'false' }, 'false'),
        );
      } else {
        // Number-like options stay text inputs: the method's message explains a bad value better than the browser's.
        input = h('input', {
          id,
          type: 'text',
          inputmode: ff.input === 'number' ? 'decimal' : 'text',
          placeholder: ff.placeholder,
          'aria-describedby': helpId,
          required: ff.required,
        });
      }
      if (this.index === 0 && f.name === 'budget') input.dataset.testid = 'budget-input';
      input.value = this.texts[f.name] ?? '';
      input.addEventListener('change', () => {
        this.texts[f.name] = input.value;
        this.onChange();
      });
      const help = h('small', { id: helpId }, ff.help);
      if (m.name === 'surfacelogickv' && f.name === 'profile' && input instanceof HTMLInputElement) {
        help.prepend(this.calibrateButton(input), ' ');
      }
      return h(
        'div',
        { class: 'field' },
        h('label', { for: id }, ff.label + (ff.required ? ' *' : '')),
        input,
        help,
      );
    });
    fill(this.fields, h('p', { class: 'summary' }, m.summary), ...rows);
  }

  /** SurfaceLogicKV's profile comes from probing the loaded model; the button fills the field. */
  private calibrateButton(input: HTMLInputElement): HTMLElement {
    const button = h('button', { type: 'button' }, 'Calibrate on this model (8 probes)');
    const status = h('span', { role: 'status' });
    button.addEventListener('click', () => {
      button.disabled = true;
      this.calibrate(8, (done, total) => {
        status.textContent = ` probe ${done} of ${total}`;
      })
        .then(
          (profile) => {
            input.value = profile;
            this.texts.profile = profile;
            status.textContent = ' profile measured';
            this.onChange();
          },
          (e: Error) => {
            status.textContent = ` calibration failed: ${e.message}`;
          },
        )
        .finally(() => {
          button.disabled = false;
        });
    });
    return h('span', {}, button, status);
  }

  choice(): MethodChoice | null {
    const m = this.info();
    if (!m) return null;
    const options: Record<string, string> = {};
    for (const f of m.fields) if ((this.texts[f.name] ?? '') !== '') options[f.name] = this.texts[f.name]!;
    return { name: m.name, options };
  }

  /** The options the worker gets (parsed texts). */
  options(): Record<string, unknown> {
    const m = this.info();
    return m ? optionsFromTexts(m.fields, this.texts) : {};
  }
}

/** The prompt editor, its samples and the needle generator, the methods, settings, generate and stop. */
export class RunPanel {
  readonly el: HTMLElement;
  readonly prompt = h('textarea', { id: 'prompt', 'data-testid': 'prompt', rows: 8, spellcheck: false });
  private readonly niahLength = h('input', {
    id: 'niah-length',
    type: 'number',
    min: 32,
    max: 32768,
    step: 32,
  });
  private readonly niahDepth = h('input', { id: 'niah-depth', type: 'number', min: 0, max: 100, step: 5 });
  private readonly niahSeed = h('input', { id: 'niah-seed', type: 'number', min: 0, step: 1 });
  readonly expected = h('p', { class: 'expected', 'data-testid': 'expected' });
  private readonly maxTokens = h('input', { id: 'max-tokens', type: 'number', min: 1, max: 1024 });
  private readonly decodeBudget = h('input', {
    id: 'decode-budget',
    type: 'number',
    min: 0,
    placeholder: 'none',
  });
  private readonly full = h('input', { id: 'with-full', type: 'checkbox' });
  readonly generate = h(
    'button',
    { type: 'button', 'data-testid': 'generate', class: 'primary' },
    'Generate',
  );
  readonly stop = h('button', { type: 'button', disabled: true }, 'Stop');
  private readonly forms: MethodForm[];
  private niahPrompt: string | null = null;
  onChange: () => void = () => {};
  onNiah: (length: number, depth: number, seed: number) => void = () => {};

  constructor(methods: readonly MethodInfo[], state: PageState, calibrate: Calibrate) {
    this.forms = [0, 1].map(
      (i) => new MethodForm(methods, i, state.methods[i], () => this.onChange(), calibrate),
    );
    const p = state.prompt.kind === 'niah' ? state.prompt : { length: 512, depth: 50, seed: 1 };
    this.niahLength.value = String(p.length);
    this.niahDepth.value = String(p.depth);
    this.niahSeed.value = String(p.seed);
    if (state.prompt.kind === 'text') this.prompt.value = state.prompt.text;
    this.maxTokens.value = String(state.maxTokens);
    this.decodeBudget.value = state.decodeBudget > 0 ? String(state.decodeBudget) : '';
    this.full.checked = state.full;
    for (const el of [this.maxTokens, this.decodeBudget, this.full])
      el.addEventListener('change', () => this.onChange());
    this.prompt.addEventListener('input', () => {
      this.expected.textContent = '';
      this.onChange();
    });
    const sample = h(
      'select',
      { id: 'sample' },
      h('option', { value: '' }, 'Load a sample…'),
      ...Object.keys(SAMPLES).map((k) => h('option', { value: k }, k)),
    );
    sample.addEventListener('change', () => {
      if (!sample.value) return;
      this.prompt.value = SAMPLES[sample.value]!;
      this.expected.textContent = '';
      sample.value = '';
      this.onChange();
    });
    const niahGo = h('button', { type: 'button', id: 'niah-generate' }, 'Generate needle prompt');
    niahGo.addEventListener('click', () => this.requestNiah());
    this.el = h(
      'section',
      { class: 'panel run', 'aria-labelledby': 'run-h' },
      h('h2', { id: 'run-h' }, 'Run'),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Needle in a haystack (@kvsieve/eval niah_single)'),
        h('label', { for: 'niah-length' }, 'length (tokens) '),
        this.niahLength,
        h('label', { for: 'niah-depth' }, ' depth % '),
        this.niahDepth,
        h('label', { for: 'niah-seed' }, ' needle # '),
        this.niahSeed,
        ' ',
        niahGo,
      ),
      h('div', { class: 'row' }, h('label', { for: 'prompt' }, 'Prompt'), sample),
      this.prompt,
      this.expected,
      ...this.forms.map((f) => f.el),
      h(
        'div',
        { class: 'row' },
        h('label', {}, this.full, ' compare with the full cache'),
        h('label', { for: 'max-tokens' }, ' max tokens '),
        this.maxTokens,
        h('label', { for: 'decode-budget' }, ' decode budget '),
        this.decodeBudget,
      ),
      h('div', { class: 'row' }, this.generate, this.stop),
    );
  }

  requestNiah(): void {
    this.onNiah(Number(this.niahLength.value), Number(this.niahDepth.value), Number(this.niahSeed.value));
  }

  setNiah(prompt: string, expected: readonly string[], tokens: number): void {
    this.prompt.value = prompt;
    this.niahPrompt = prompt;
    this.expected.textContent = `Expected answer: ${expected.join(', ')} (${tokens} prompt tokens)`;
    this.onChange();
  }

  showNiahError(message: string): void {
    this.expected.textContent = `Needle prompt failed: ${message}`;
  }

  state(): PageState {
    const prompt: PromptChoice =
      this.niahPrompt !== null && this.prompt.value === this.niahPrompt
        ? {
            kind: 'niah',
            length: Number(this.niahLength.value),
            depth: Number(this.niahDepth.value),
            seed: Number(this.niahSeed.value),
          }
        : { kind: 'text', text: this.prompt.value };
    return {
      prompt,
      methods: this.forms.map((f) => f.choice()).filter((c): c is MethodChoice => c !== null),
      full: this.full.checked,
      maxTokens: Math.max(1, Math.min(1024, Number(this.maxTokens.value) || 16)),
      decodeBudget: Math.max(0, Number(this.decodeBudget.value) || 0),
    };
  }

  /** The runs to make: full cache first when compared, then each chosen method with its parsed options. */
  runs(): { label: string; method: string | null; options: Record<string, unknown> }[] {
    const out: { label: string; method: string | null; options: Record<string, unknown> }[] = [];
    if (this.full.checked) out.push({ label: 'full cache', method: null, options: {} });
    for (const f of this.forms) {
      const c = f.choice();
      if (c) out.push({ label: c.name, method: c.name, options: f.options() });
    }
    return out;
  }

  setRunning(running: boolean): void {
    this.generate.disabled = running;
    this.stop.disabled = !running;
  }
}
