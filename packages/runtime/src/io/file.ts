import type { Stats } from 'node:fs';
import { ModelFileError } from '../errors.js';
import { nodeFs } from './node.js';
import { oneLine } from './show.js';

/**
 * A model file read piece by piece: a file on disk (`RandomAccessFile`, Node) or bytes already
 * in memory ({@link BytesFile}, anywhere, e.g. fetched in a browser). Parsers read only through
 * this, so every format works from either.
 */
export interface ByteFile {
  /** How messages name the file: its path, or the name it was given. */
  readonly path: string;
  /** Length of the file in bytes. */
  readonly size: number;
  /**
   * `length` bytes at `offset`, in a fresh array at offset 0 of its own buffer (so typed views of
   * it are aligned and nothing else shares it). Out of range is a {@link ModelFileError}.
   */
  read(offset: number, length: number, what: string): Uint8Array;
  /** Releases the file (its descriptor, or its bytes); a read after it is a {@link ModelFileError}. Closing twice is harmless. */
  close(): void;
}

function checkRange(path: string, size: number, offset: number, length: number, what: string): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > size
  ) {
    throw new ModelFileError(
      `${path}: ${what} needs bytes [${offset}, ${offset + length}) but the file has ${size} bytes; the file is truncated or its header is wrong`,
    );
  }
}

/**
 * Refuse anything but a regular file (after symlinks) before opening it: opening a FIFO blocks
 * forever and a device can be endless, so neither may stand in for a model file.
 */
export function assertRegularFile(path: string, what = 'model file'): number {
  const fs = nodeFs(`reading ${path}`);
  let st: Stats;
  try {
    st = fs.statSync(path);
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

/** A read-only file on disk (Node), read piece by piece so weights never sit in memory twice. */
export class RandomAccessFile implements ByteFile {
  readonly size: number;
  private fd: number | null;
  private readonly fs: ReturnType<typeof nodeFs>;

  constructor(readonly path: string) {
    this.fs = nodeFs(`reading ${path}`);
    assertRegularFile(path);
    try {
      this.fd = this.fs.openSync(path, 'r');
    } catch (e) {
      throw new ModelFileError(`cannot open ${path}: ${oneLine(e)}; check the path and its permissions`);
    }
    try {
      this.size = this.fs.fstatSync(this.fd).size;
    } catch (e) {
      this.fs.closeSync(this.fd);
      throw new ModelFileError(`cannot read ${path}: ${oneLine(e)}`);
    }
  }

  read(offset: number, length: number, what: string): Uint8Array {
    if (this.fd === null) throw new ModelFileError(`${this.path}: ${what} read after the file was closed`);
    checkRange(this.path, this.size, offset, length, what);
    // Not Buffer.allocUnsafe: its small buffers share a pool, so views could be misaligned.
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = this.fs.readSync(this.fd, buf, done, length - done, offset + done);
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
    if (this.fd !== null) this.fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** A model file whose bytes are in memory (fetched, picked by the user, generated). */
export class BytesFile implements ByteFile {
  /** Length of the bytes given, in bytes. */
  readonly size: number;
  private bytes: Uint8Array | null;

  constructor(
    readonly path: string,
    bytes: Uint8Array | ArrayBuffer,
  ) {
    this.bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.size = this.bytes.byteLength;
  }

  read(offset: number, length: number, what: string): Uint8Array {
    if (this.bytes === null) throw new ModelFileError(`${this.path}: ${what} read after the file was closed`);
    checkRange(this.path, this.size, offset, length, what);
    // A copy: the caller views it as f32/u16 (alignment) and the weights' upload may keep it.
    return this.bytes.slice(offset, offset + length);
  }

  /** Drops the bytes so they can be garbage-collected; later reads are a {@link ModelFileError}. */
  close(): void {
    // Drop the reference so a closed model's file bytes can be collected.
    this.bytes = null;
  }
}
