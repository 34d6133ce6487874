/**
 * Streams decoded text while watching for stop strings: text that might be the start of a stop
 * string is held back until it is clearly not one, and nothing from a stop string on is emitted.
 */
export class StopStringFilter {
  private emitted = 0;

  constructor(private readonly stops: readonly string[]) {}

  /** Given all text generated so far, the new text to emit and whether a stop string appeared. */
  push(full: string): {
    /** Text safe to show now: not part of a stop string that may still complete. */
    text: string;
    /** A stop string appeared: generation should end. */
    stopped: boolean;
  } {
    let end = full.length;
    let stopped = false;
    for (const s of this.stops) {
      const at = full.indexOf(s, Math.max(0, this.emitted - s.length + 1));
      if (at >= 0 && at < end) {
        end = at;
        stopped = true;
      }
    }
    if (!stopped) {
      // Hold back a tail that is a prefix of some stop string, and an incomplete UTF-8 character.
      for (const s of this.stops) {
        for (let k = Math.min(s.length - 1, full.length); k > 0; k--) {
          if (full.endsWith(s.slice(0, k))) {
            end = Math.min(end, full.length - k);
            break;
          }
        }
      }
      if (full.endsWith('\uFFFD')) end = Math.min(end, full.length - 1);
    }
    const text = end > this.emitted ? full.slice(this.emitted, end) : '';
    this.emitted = Math.max(this.emitted, end);
    return { text, stopped };
  }

  /** What is still held back when generation ends without a stop string. */
  flush(full: string): string {
    const text = full.slice(this.emitted);
    this.emitted = full.length;
    return text;
  }
}
