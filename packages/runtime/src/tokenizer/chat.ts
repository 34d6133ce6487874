import { Template } from '@huggingface/jinja';
import { KvsieveError, OptionError } from '@kvsieve/core';
import { oneLine, show } from '../io/show.js';
import { RaisedByTemplate, renderTemplate } from './chat-render.js';
import type { TextTokenizer } from './tokenizer.js';

/** One turn of a conversation, as chat templates receive it (`messages[i].role`, `.content`). */
export interface ChatMessage {
  /** Who speaks; a template may refuse some orders (e.g. two user turns in a row) by raising. */
  readonly role: 'system' | 'user' | 'assistant';
  /** The turn's text, inserted by the template as it is. */
  readonly content: string;
}

/**
 * A chat template could not be rendered: Jinja it cannot parse, an error while rendering, or the
 * template's own `raise_exception` refusing the conversation. The message names the template by its
 * first line and a hash.
 */
export class ChatTemplateError extends KvsieveError {
  /** `'ChatTemplateError'`: the class's name, for messages and `err.name` checks. */
  override name = 'ChatTemplateError';
}

/**
 * kvsieve's fallback for models that ship no chat template: ChatML (`<|im_start|>role\n…<|im_end|>`),
 * what Qwen, SmolLM and many fine-tunes use.
 */
export const CHATML_TEMPLATE =
  "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

/** The fallback for Llama 3 vocabularies (they have the header tokens but no ChatML ones). */
export const LLAMA3_TEMPLATE =
  "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message.role + '<|end_header_id|>\\n\\n' + message.content | trim + '<|eot_id|>' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

/** Options of {@link renderChat} and {@link applyChatTemplate}. */
export interface ChatOptions {
  /** End with the assistant's turn opened (default true). */
  readonly addGenerationPrompt?: boolean;
  /** A template to use instead of the model's. */
  readonly template?: string;
  /**
   * More template variables (`tools`, `documents`, `date_string`, `enable_thinking`, …). `tools`
   * and `documents` are `null` unless given, as Hugging Face passes them.
   */
  readonly variables?: Readonly<Record<string, unknown>>;
}

/** What {@link renderChat} returns: the prompt text and where its template came from. */
export interface ChatRendering {
  /** The rendered prompt, with the template's own BOS when it writes one: encode it with `addSpecial: false`. */
  readonly text: string;
  /** Whose template rendered it: the model's, the caller's (`template` option), or kvsieve's fallback. */
  readonly source: 'model' | 'option' | 'fallback';
  /** The template's name as errors give it: first line and hash. */
  readonly templateName: string;
  /** Something the caller should tell the user (set when the fallback was used). */
  readonly note: string | null;
}

/**
 * Render messages with the model's chat template (tokenizer_config.json's `chat_template` or GGUF's
 * `tokenizer.chat_template`) as Hugging Face's `apply_chat_template` does: trim_blocks and
 * lstrip_blocks, the template's final newline dropped, `raise_exception` and `strftime_now`
 * available, `bos_token`/`eos_token` set from the vocabulary. A model without a template gets
 * kvsieve's fallback (Llama 3 headers when the vocabulary has them, else ChatML), and `note` says so.
 * Tokenize the result without adding BOS again (`encode(text, { addSpecial: false })`): templates
 * write their own.
 */
export function renderChat(
  tok: TextTokenizer,
  messages: readonly ChatMessage[],
  opts: ChatOptions = {},
): ChatRendering {
  checkMessages(messages);
  let source: ChatRendering['source'];
  let template: string;
  let note: string | null = null;
  if (opts.template !== undefined) {
    if (typeof opts.template !== 'string' || opts.template.length === 0)
      throw new OptionError(
        `chat template: the template option must be a non-empty string, got ${show(opts.template)}`,
      );
    source = 'option';
    template = opts.template;
  } else if (tok.chatTemplate) {
    source = 'model';
    template = tok.chatTemplate;
  } else {
    source = 'fallback';
    const llama3 = isSingleToken(tok, '<|start_header_id|>') && isSingleToken(tok, '<|eot_id|>');
    template = llama3 ? LLAMA3_TEMPLATE : CHATML_TEMPLATE;
    note = `this model ships no chat template; used kvsieve's ${llama3 ? 'Llama 3 header' : 'ChatML'} fallback`;
  }
  const name = templateName(template);
  let parsed: Template;
  try {
    parsed = new Template(template);
  } catch (e) {
    throw new ChatTemplateError(
      `${name} cannot be parsed: ${oneLine(e)}; give a template kvsieve can read, or pass the prompt as plain text`,
    );
  }
  const variables: Record<string, unknown> = {
    tools: null,
    documents: null,
    ...opts.variables,
    messages: messages.map((m) => ({ ...m })),
    add_generation_prompt: opts.addGenerationPrompt ?? true,
  };
  if (tok.bosId !== null) variables.bos_token = tok.piece(tok.bosId);
  if (tok.eosIds[0] !== undefined) variables.eos_token = tok.piece(tok.eosIds[0]);
  try {
    return { text: renderTemplate(parsed, variables), source, templateName: name, note };
  } catch (e) {
    if (e instanceof RaisedByTemplate)
      throw new ChatTemplateError(
        `${name} refused the conversation: ${oneLine(e.message)}; change the messages`,
      );
    throw new ChatTemplateError(
      `${name} failed while rendering: ${oneLine(e)}; the template needs something kvsieve does not provide, pass the prompt as plain text`,
    );
  }
}

/**
 * The text of {@link renderChat} with the model's (or the given) template. A model without a
 * template is an OptionError here, since a string cannot say that a fallback was used; call
 * `renderChat` for kvsieve's fallback and its note.
 */
export function applyChatTemplate(
  tok: TextTokenizer,
  messages: readonly ChatMessage[],
  opts: ChatOptions = {},
): string {
  if (!tok.chatTemplate && opts.template === undefined) {
    throw new OptionError(
      "applyChatTemplate: this model ships no chat template; pass the prompt as plain text, or use renderChat for kvsieve's fallback template",
    );
  }
  return renderChat(tok, messages, opts).text;
}

function checkMessages(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages) || messages.length === 0)
    throw new OptionError(`chat template: messages must be a non-empty array, got ${show(messages)}`);
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.role !== 'string' || m.role.length === 0)
      throw new OptionError(
        `chat template: messages[${i}] needs a role (a non-empty string), got ${show(m)}`,
      );
    if (typeof m.content !== 'string')
      throw new OptionError(`chat template: messages[${i}].content must be a string, got ${show(m.content)}`);
  });
}

/** The vocabulary holds `text` as one token (so the fallback's markers stay markers). */
function isSingleToken(tok: TextTokenizer, text: string): boolean {
  const ids = tok.encode(text, { addSpecial: false });
  return ids.length === 1 && tok.piece(ids[0]!) === text;
}

/** `chat template "FIRST LINE" (#hash)`: enough to tell templates apart in one line. */
export function templateName(template: string): string {
  const first = template.split('\n').find((l) => l.trim().length > 0) ?? '';
  let h = 0x811c9dc5;
  for (let i = 0; i < template.length; i++) h = Math.imul(h ^ template.charCodeAt(i), 0x01000193) >>> 0;
  return `chat template ${show(first.trim())} (#${h.toString(16).padStart(8, '0')})`;
}
