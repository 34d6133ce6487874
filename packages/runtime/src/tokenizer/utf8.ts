// UTF-8 through the web's TextEncoder/TextDecoder, which Node and browsers share, instead of Node's
// Buffer (absent in browsers). Both replace what cannot be encoded or decoded with U+FFFD as Buffer
// does; `ignoreBOM` keeps a leading U+FEFF as Buffer#toString does instead of dropping it.
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
