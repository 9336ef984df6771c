import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { CharBackend } from '../../bus/device.js';
import { CharBackendError, CharBackendErrorCode } from './char-backend-error.js';
import { InputRelay, toBytes } from './input-relay.js';
import { OutputCoalescer } from './output-coalescer.js';

/** Only the local machine may attach to a guest console. */
export const WS_BACKEND_HOST = '127.0.0.1';
/** How long close() waits for clients to finish the closing handshake before cutting them off. */
const CLOSE_GRACE_MS = 1000;
/** WebSocket close code 1001 "going away" (RFC 6455 §7.4.1). */
const WS_CLOSE_GOING_AWAY = 1001;

/**
 * `ws:PORT`: a WebSocket server on 127.0.0.1:PORT (the `ws` package). Every connected client
 * receives guest output as binary messages; every client message (binary or text) is guest
 * input. Output while no client is connected is dropped. Port 0 picks a free port (see `port`).
 * Create it with `WsCharBackend.listen`.
 */
export class WsCharBackend implements CharBackend {
  private readonly relay = new InputRelay();
  private readonly coalescer: OutputCoalescer;
  private closed = false;
  /** Bytes dropped because no client was connected. */
  dropped = 0;

  private constructor(
    private readonly server: WebSocketServer,
    /** The port actually listened on. */
    readonly port: number,
  ) {
    this.coalescer = new OutputCoalescer((chunk) => this.broadcast(chunk));
    server.on('connection', (socket) => {
      socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => this.relay.deliver(toBytes(data)));
      // A client that breaks off is simply gone; the server stays up.
      socket.on('error', () => socket.terminate());
    });
  }

  /** Listen on 127.0.0.1:`port`; failure is CharBackendError BACKEND_OPEN. */
  static listen(port: number): Promise<WsCharBackend> {
    return new Promise((resolve, reject) => {
      const server = new WebSocketServer({ host: WS_BACKEND_HOST, port });
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new CharBackendError(CharBackendErrorCode.openFailed, `cannot listen on ws://${WS_BACKEND_HOST}:${port}: ${error.code ?? error.message}`),
        ),
      );
      server.once('listening', () => {
        const address = server.address() as AddressInfo;
        resolve(new WsCharBackend(server, address.port));
      });
    });
  }

  /** Number of connected clients. */
  clientCount(): number {
    let n = 0;
    for (const client of this.server.clients) if (client.readyState === WebSocket.OPEN) n++;
    return n;
  }

  write(data: Uint8Array): void {
    if (this.closed) return;
    if (this.clientCount() === 0) this.dropped += data.length;
    else this.coalescer.push(data);
  }

  onInput(listener: (data: Uint8Array) => void): void {
    this.relay.setListener(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.coalescer.flush();
    this.closed = true;
    const goodbyes = [...this.server.clients].map(
      (client) =>
        new Promise<void>((resolve) => {
          if (client.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => client.terminate(), CLOSE_GRACE_MS);
          client.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          client.close(WS_CLOSE_GOING_AWAY);
        }),
    );
    await Promise.all(goodbyes);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private broadcast(chunk: Uint8Array): void {
    let sent = false;
    for (const client of this.server.clients) {
      if (client.readyState !== WebSocket.OPEN) continue;
      client.send(chunk, { binary: true });
      sent = true;
    }
    if (!sent) this.dropped += chunk.length;
  }
}
