import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { ModelFileError } from '../errors.js';
import { oneLine } from './show.js';

/**
 * Refuse anything but a regular file (after symlinks) before opening it: opening a FIFO blocks
 * forever and a device can be endless, so neither may stand in for a model file.
 */
export function assertRegularFile(path: string, what = 'model file'): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    throw new ModelFileError(`cannot open ${path}: ${oneLine(e)}; check the path`);
  }
  if (!st.isFile()) {
    throw new ModelFileError(
      `${path} is not a regular file (${st.isDirectory() ? 'a folder' : 'a device, pipe or socket'}); a ${what} must be a file`,
    );
  }
  return st.size;
}

/** A read-only file read piece by piece, so weights never sit in memory twice. */
export class RandomAccessFile {
  readonly size: number;
  private fd: number | null;

  constructor(readonly path: string) {
    assertRegularFile(path);
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new ModelFileError(`cannot open ${path}: ${oneLine(e)}; check the path and its permissions`);
    }
    try {
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      closeSync(this.fd);
      throw new ModelFileError(`cannot read ${path}: ${oneLine(e)}`);
    }
  }

  /** `length` bytes at `offset`, in a fresh buffer (offset 0, so typed views are aligned). */
  read(offset: number, length: number, what: string): Buffer {
    if (this.fd === null) throw new ModelFileError(`${this.path}: ${what} read after the file was closed`);
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    ) {
      throw new ModelFileError(
        `${this.path}: ${what} needs bytes [${offset}, ${offset + length}) but the file has ${this.size} bytes; the file is truncated or its header is wrong`,
      );
    }
    const buf = Buffer.allocUnsafeSlow(length);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = readSync(this.fd, buf, done, length - done, offset + done);
      } catch (e) {
        throw new ModelFileError(`${this.path}: reading ${what} failed: ${oneLine(e)}`);
      }
      if (n === 0) {
        throw new ModelFileError(
          `${this.path}: the file ended while reading ${what} (it shrank after it was opened?)`,
        );
      }
      done += n;
    }
    return buf;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
