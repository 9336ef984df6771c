import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import type { CharBackend } from '../../bus/device.js';
import { CharBackendError, CharBackendErrorCode } from './char-backend-error.js';
import { StreamSink } from './stream-sink.js';

/**
 * `file:PATH`: guest output appended to a file, in order and without loss (flushed on close);
 * no input. The file is opened (created if missing) at construction so a bad path fails early
 * with CharBackendError BACKEND_OPEN.
 */
export class FileCharBackend implements CharBackend {
  private readonly stream: WriteStream;
  private readonly sink: StreamSink;
  private closed = false;

  constructor(
    readonly path: string,
    log?: (message: string) => void,
  ) {
    let fd: number;
    try {
      fd = openSync(path, 'a');
    } catch (error) {
      const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
      throw new CharBackendError(CharBackendErrorCode.openFailed, `cannot open ${path} for serial output: ${reason}`);
    }
    this.stream = createWriteStream('', { fd, flags: 'a' });
    this.sink = new StreamSink(this.stream, (error) => log?.(`file backend ${path}: output stopped: ${error.message}`));
  }

  write(data: Uint8Array): void {
    if (!this.closed) this.sink.write(data);
  }

  onInput(_listener: (data: Uint8Array) => void): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sink.close(true);
    if (!this.stream.closed) await new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
  }
}
