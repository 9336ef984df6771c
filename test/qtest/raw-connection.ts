/**
 * A deliberately misbehaving protocol peer for robustness tests (protocol/README.md §2, §8.2):
 * a raw Unix-socket or WebSocket connection to a device model that sends arbitrary bytes or
 * hand-made msgpack values, and records every frame the device model sends back, undecoded
 * beyond msgpack, plus how the connection ended. No Peer, no validation: that is the point.
 */
import { createConnection, type Socket } from 'node:net';
import { Packr } from 'msgpackr';
import { WebSocket } from 'ws';
import { parseAddress } from '../../protocol/address.js';
import { decode } from '../../protocol/codec.js';
import { FrameDecoder, encodeFrame } from '../../protocol/framing.js';

/** Plain msgpack (maps with string keys), so hand-made values encode as any peer would write them. */
const packr = new Packr({ useRecords: false, moreTypes: false });

/** Default wait for the device model to answer or close. */
const WAIT_MS = 10_000;

/** How a raw connection ended. */
export interface RawClose {
  /** WebSocket close status (undefined on a Unix socket). */
  wsCode?: number;
  /** WebSocket close reason text. */
  wsReason?: string;
}

/** msgpack-encode an arbitrary value (for frames the typed codec would refuse to build). */
export function packValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** A raw connection to `unix:PATH` or `ws://HOST:PORT`. */
export class RawConnection {
  /** Decoded frames received, in order (msgpack values, not validated). */
  readonly frames: unknown[] = [];
  /** Resolves once the device model (or we) closed the connection. */
  readonly closed: Promise<RawClose>;
  private closeInfo: RawClose | undefined;
  private listeners: (() => void)[] = [];

  private constructor(
    private readonly socket: Socket | undefined,
    private readonly ws: WebSocket | undefined,
    closed: Promise<RawClose>,
  ) {
    this.closed = closed.then((c) => {
      this.closeInfo = c;
      this.wake();
      return c;
    });
  }

  /** Connect without any handshake. */
  static async open(address: string): Promise<RawConnection> {
    const a = parseAddress(address);
    if (a.kind === 'unix') {
      const socket = createConnection(a.path);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.on('error', () => undefined); // a reset by the far end shows up as close
      const closed = new Promise<RawClose>((resolve) => socket.once('close', () => resolve({})));
      const conn = new RawConnection(socket, undefined, closed);
      const decoder = new FrameDecoder();
      socket.on('data', (chunk: Buffer) => {
        decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        for (let step = decoder.next(); step.kind === 'frame'; step = decoder.next()) conn.received(step.body);
      });
      return conn;
    }
    const ws = new WebSocket(`ws://${a.host}:${a.port}/`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('error', () => undefined);
    const closed = new Promise<RawClose>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ wsCode: code, wsReason: reason.toString('utf8') })));
    const conn = new RawConnection(undefined, ws, closed);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) conn.received(new Uint8Array(data.buffer, data.byteOffset, data.length));
    });
    return conn;
  }

  /** Raw bytes on the stream (Unix) or one binary ws message (ws). */
  sendBytes(bytes: Uint8Array | readonly number[]): void {
    const data = Uint8Array.from(bytes);
    if (this.socket) this.socket.write(data);
    else this.ws?.send(data, { binary: true });
  }

  /** One text ws message (ws only). */
  sendText(text: string): void {
    if (!this.ws) throw new Error('assertion: text messages exist only on WebSocket connections');
    this.ws.send(text, { binary: false });
  }

  /** One frame carrying `value` as msgpack: length-prefixed on Unix, one binary message on ws. */
  sendValue(value: unknown): void {
    const body = packValue(value);
    this.sendBytes(this.socket ? encodeFrame(body) : body);
  }

  /** Wait until a frame satisfying `match` has arrived; resolves with it. */
  async waitForFrame(match: (frame: Record<string, unknown>) => boolean, timeoutMs = WAIT_MS): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find((f): f is Record<string, unknown> => typeof f === 'object' && f !== null && match(f as Record<string, unknown>));
      if (found !== undefined) return found;
      if (this.closeInfo !== undefined) throw new Error(`connection closed before the frame arrived; got ${JSON.stringify(this.frames)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Wait for the close, failing if it takes longer than `timeoutMs`. */
  async waitForClose(timeoutMs = WAIT_MS): Promise<RawClose> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Close from our side (cleanup). */
  destroy(): void {
    this.socket?.destroy();
    this.ws?.terminate();
  }

  private received(body: Uint8Array): void {
    try {
      this.frames.push(decode(body));
    } catch (e) {
      this.frames.push({ undecodable: String(e) });
    }
    this.wake();
  }

  private wake(): void {
    for (const l of this.listeners.splice(0)) l();
  }
}
