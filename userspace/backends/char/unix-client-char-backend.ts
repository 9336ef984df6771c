import { createConnection, type Socket } from 'node:net';
import type { CharBackend } from '../../bus/device.js';
import { CharBackendError, CharBackendErrorCode } from './char-backend-error.js';
import { InputRelay, toBytes } from './input-relay.js';
import { OutputCoalescer } from './output-coalescer.js';

/**
 * `unix:PATH`: connect to a listening Unix-domain socket; guest output is sent to it, what it
 * sends is guest input. Once the peer hangs up, output is dropped (counted) and input ends.
 * Create it with `UnixClientCharBackend.connect`.
 */
export class UnixClientCharBackend implements CharBackend {
  private readonly relay = new InputRelay();
  private readonly coalescer: OutputCoalescer;
  private connected = true;
  /** Bytes dropped because the peer had gone. */
  dropped = 0;

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
  ) {
    this.coalescer = new OutputCoalescer((chunk) => {
      if (this.connected) this.socket.write(chunk);
      else this.dropped += chunk.length;
    });
    socket.on('data', (data: Buffer) => this.relay.deliver(toBytes(data)));
    socket.on('close', () => (this.connected = false));
    // A peer reset is an ordinary disconnect here, not a crash.
    socket.on('error', () => (this.connected = false));
  }

  /** Connect to `path`; failure is CharBackendError BACKEND_OPEN. */
  static connect(path: string): Promise<UnixClientCharBackend> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      const fail = (error: NodeJS.ErrnoException): void =>
        reject(new CharBackendError(CharBackendErrorCode.openFailed, `cannot connect to ${path}: ${error.code ?? error.message}`));
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        resolve(new UnixClientCharBackend(socket, path));
      });
    });
  }

  write(data: Uint8Array): void {
    if (this.connected) this.coalescer.push(data);
    else this.dropped += data.length;
  }

  onInput(listener: (data: Uint8Array) => void): void {
    this.relay.setListener(listener);
  }

  async close(): Promise<void> {
    this.coalescer.flush();
    const socket = this.socket;
    this.connected = false;
    if (socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      // end() flushes what was written, then the socket is torn down without waiting for the peer.
      socket.end(() => socket.destroy());
    });
  }
}
