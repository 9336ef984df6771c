import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import type { CharBackend } from '../../bus/device.js';
import { CharBackendError, CharBackendErrorCode } from './char-backend-error.js';
import { InputRelay, toBytes } from './input-relay.js';
import { OutputCoalescer } from './output-coalescer.js';

/**
 * `unix:PATH,server`: listen on a Unix-domain socket and serve one client at a time (QEMU
 * `-serial unix:PATH,server,nowait`). Output while no client is connected is dropped (counted);
 * a second client is refused while the first is connected; after a disconnect the next client
 * takes over. A stale socket file left by a dead process is replaced; a live one is an error.
 * Create it with `UnixServerCharBackend.listen`.
 */
export class UnixServerCharBackend implements CharBackend {
  private readonly relay = new InputRelay();
  private readonly coalescer: OutputCoalescer;
  private client: Socket | undefined;
  private closed = false;
  /** Bytes dropped because no client was connected. */
  dropped = 0;
  /** Connections refused because another client was connected. */
  refused = 0;

  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {
    this.coalescer = new OutputCoalescer((chunk) => this.send(chunk));
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listen on `path`; failure is CharBackendError BACKEND_OPEN. */
  static async listen(path: string): Promise<UnixServerCharBackend> {
    await removeStaleSocket(path);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new CharBackendError(CharBackendErrorCode.openFailed, `cannot listen on ${path}: ${error.code ?? error.message}`)),
      );
      server.listen(path, () => resolve());
    });
    return new UnixServerCharBackend(server, path);
  }

  /** True while a client is connected. */
  hasClient(): boolean {
    return this.client !== undefined;
  }

  write(data: Uint8Array): void {
    if (this.closed) return;
    if (this.client === undefined) this.dropped += data.length;
    else this.coalescer.push(data);
  }

  onInput(listener: (data: Uint8Array) => void): void {
    this.relay.setListener(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.coalescer.flush();
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (client !== undefined && !client.destroyed) {
      await new Promise<void>((resolve) => {
        client.once('close', () => resolve());
        client.end(() => client.destroy());
      });
    }
    await serverClosed;
  }

  private accept(socket: Socket): void {
    if (this.closed || this.client !== undefined) {
      this.refused++;
      socket.destroy();
      return;
    }
    this.client = socket;
    socket.on('data', (data: Buffer) => this.relay.deliver(toBytes(data)));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (this.client === socket) this.client = undefined;
    });
  }

  private send(chunk: Uint8Array): void {
    if (this.client === undefined) this.dropped += chunk.length;
    else this.client.write(chunk);
  }
}

/** Remove `path` if it is a socket nobody listens on; refuse if someone does. */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket = false;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) return; // listen() will report EADDRINUSE for a regular file
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new CharBackendError(CharBackendErrorCode.openFailed, `cannot listen on ${path}: another process is listening there`);
  try {
    unlinkSync(path);
  } catch {
    // listen() will report what is wrong.
  }
}
