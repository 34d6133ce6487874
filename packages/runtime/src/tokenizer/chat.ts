import { Template } from '@huggingface/jinja';
import { OptionError } from '@kvsieve/core';
import type { TextTokenizer } from './tokenizer.js';

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** Render messages with the model's own chat template (from tokenizer_config.json or GGUF metadata). */
export function applyChatTemplate(
  tok: TextTokenizer,
  messages: readonly ChatMessage[],
  opts: { addGenerationPrompt?: boolean } = {},
): string {
  if (!tok.chatTemplate)
    throw new OptionError(
      'applyChatTemplate: this model ships no chat template; pass the prompt as plain text',
    );
  const bos = tok.bosId === null ? '' : tok.piece(tok.bosId);
  const eos = tok.eosIds[0] === undefined ? '' : tok.piece(tok.eosIds[0]);
  return new Template(tok.chatTemplate).render({
    messages,
    add_generation_prompt: opts.addGenerationPrompt ?? true,
    bos_token: bos,
    eos_token: eos,
  });
}
