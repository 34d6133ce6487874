import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ModelFileError } from '../errors.js';

/** A read-only file read piece by piece, so weights never sit in memory twice. */
export class RandomAccessFile {
  readonly size: number;
  private fd: number | null;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new ModelFileError(`cannot open ${path}: ${(e as Error).message}; check the path`);
    }
    this.size = fstatSync(this.fd).size;
  }

  /** `length` bytes at `offset`, in a fresh buffer (offset 0, so typed views are aligned). */
  read(offset: number, length: number, what: string): Buffer {
    if (this.fd === null) throw new ModelFileError(`${this.path}: read after close`);
    if (offset < 0 || offset + length > this.size) {
      throw new ModelFileError(
        `${this.path}: ${what} needs bytes [${offset}, ${offset + length}) but the file has ${this.size} bytes; the file is truncated or its header is wrong`,
      );
    }
    const buf = Buffer.allocUnsafeSlow(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) throw new ModelFileError(`${this.path}: unexpected end of file while reading ${what}`);
      done += n;
    }
    return buf;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
