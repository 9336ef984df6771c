/**
 * Transport over a Unix domain stream socket (protocol/README.md §1.1), the default between the
 * VMM and a device model it spawned — the socket type vfio-user uses. Frames are length-prefixed
 * (framing.ts); writes made in one event-loop turn leave in one writev (cork/uncork), since every
 * unclaimed guest port access is a message.
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { formatAddress } from './address.js';
import { PROTOCOL_ERROR_CODES, ProtocolError, TRANSPORT_ERROR_CODES, TransportError } from './errors.js';
import { FrameDecoder, checkMaxFrame, encodeFrame, frameHeader } from './framing.js';
import { LIMITS } from './messages.js';
import { CLOSE_CODES, TransportBase, acceptConnection } from './transport-base.js';
import type { CloseReason, Listener, Transport, TransportOptions } from './transport.js';

/** Bodies up to this size are copied behind their prefix; larger ones are written as two buffers. */
const COPY_MAX = 64 * 1024;
/** How long a closing socket may take to flush before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

/** A framed connection over a connected net.Socket. */
export class UnixTransport extends TransportBase {
  readonly maxFrame: number;
  readonly description: string;
  private readonly decoder: FrameDecoder;
  private corked = false;

  constructor(
    private readonly socket: net.Socket,
    options: TransportOptions & { description: string },
  ) {
    super();
    this.maxFrame = checkMaxFrame(options.maxFrame ?? LIMITS.FRAME_MAX_DEFAULT);
    this.description = options.description;
    this.decoder = new FrameDecoder(this.maxFrame);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.reason ??= { code: CLOSE_CODES.IO_ERROR, message: err.message };
    });
    socket.on('close', () => this.finished({ code: CLOSE_CODES.CLOSED, message: 'connection closed by peer' }));
    // A half-closed socket cannot carry requests and replies any more: close our side too.
    socket.on('end', () => this.close({ code: CLOSE_CODES.CLOSED, message: 'connection closed by peer' }));
  }

  send(body: Uint8Array): void {
    if (this.closed || this.socket.destroyed) return;
    if (body.length === 0 || body.length > this.maxFrame) {
      throw new ProtocolError(PROTOCOL_ERROR_CODES.TOO_LARGE, `refusing to send a frame of ${body.length} bytes (limit ${this.maxFrame})`);
    }
    this.cork();
    if (body.length <= COPY_MAX) {
      this.socket.write(encodeFrame(body)); // one stream write per frame is cheaper than two for small bodies
    } else {
      this.socket.write(frameHeader(body.length));
      this.socket.write(body);
    }
  }

  override sendParts(parts: readonly Uint8Array[]): void {
    if (parts.length === 1 && parts[0]) {
      this.send(parts[0]);
      return;
    }
    if (this.closed || this.socket.destroyed) return;
    const length = parts.reduce((n, p) => n + p.length, 0);
    if (length === 0 || length > this.maxFrame) {
      throw new ProtocolError(PROTOCOL_ERROR_CODES.TOO_LARGE, `refusing to send a frame of ${length} bytes (limit ${this.maxFrame})`);
    }
    this.cork();
    this.socket.write(frameHeader(length));
    for (const p of parts) if (p.length > 0) this.socket.write(p);
  }

  /** Writes made in one event-loop turn leave in one writev. */
  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  protected shutdown(_reason: CloseReason): void {
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (;;) {
      if (this.closed) return;
      const step = this.decoder.next();
      if (step.kind === 'incomplete') return;
      if (step.kind === 'malformed') {
        this.malformed(step.error);
        return;
      }
      this.deliver(step.body);
    }
  }
}

function systemMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Is there a live server behind this socket path? (Used to replace only stale sockets.) */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function bindServer(server: net.Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Listen on a Unix socket path; a stale socket file left by a dead process is replaced. */
export async function listenUnix(path: string, onConnection: (t: Transport) => void, options: TransportOptions = {}): Promise<Listener> {
  const address = formatAddress({ kind: 'unix', path });
  const maxFrame = checkMaxFrame(options.maxFrame ?? LIMITS.FRAME_MAX_DEFAULT);
  const server = net.createServer((socket) => {
    acceptConnection(new UnixTransport(socket, { maxFrame, description: address }), onConnection);
  });
  try {
    await bindServer(server, path);
  } catch (err) {
    const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    if (!inUse || !existsSync(path) || !lstatSync(path).isSocket() || (await probe(path))) {
      throw new TransportError(TRANSPORT_ERROR_CODES.LISTEN_FAILED, `cannot listen on ${address}: ${systemMessage(err)}`);
    }
    unlinkSync(path);
    try {
      await bindServer(server, path);
    } catch (err2) {
      throw new TransportError(TRANSPORT_ERROR_CODES.LISTEN_FAILED, `cannot listen on ${address}: ${systemMessage(err2)}`);
    }
  }
  server.on('error', () => {
    // After a successful bind the server reports nothing useful here; accepted sockets have their own handlers.
  });
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        // The listening socket (and its path) goes at once; accepted connections stay up, so do
        // not wait for server.close's callback, which waits for them.
        server.close();
        setImmediate(resolve);
      }),
  };
}

/** Connect to a Unix socket path. */
export function connectUnix(path: string, options: TransportOptions = {}): Promise<Transport> {
  const address = formatAddress({ kind: 'unix', path });
  const maxFrame = checkMaxFrame(options.maxFrame ?? LIMITS.FRAME_MAX_DEFAULT);
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    const onError = (err: Error): void => {
      reject(new TransportError(TRANSPORT_ERROR_CODES.CONNECT_FAILED, `cannot connect to ${address}: ${err.message}`));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(new UnixTransport(socket, { maxFrame, description: address }));
    });
  });
}
