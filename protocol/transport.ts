/**
 * The Transport abstraction and the `listen`/`connect` entry points (protocol/README.md §1).
 * A transport carries frame bodies (msgpack bytes) in order between two processes, over a Unix
 * domain stream socket with length-prefixed framing, or over a WebSocket with one binary
 * message per frame. Both enforce the same maximum frame size before buffering a body.
 */
import { parseAddress } from './address.js';
import type { ProtocolError } from './errors.js';
import { connectUnix, listenUnix } from './transport-unix.js';
// transport-ws.js (and the ws package) load only when a ws:// address is used: start-up time.

/** Why a transport closed: a CLOSE_CODES value or a protocol error code, and a message. */
export interface CloseReason {
  code: string;
  message: string;
}

/** A message-oriented, ordered, reliable connection carrying frame bodies. */
export interface Transport {
  /** Largest frame body this side accepts (and sends). */
  readonly maxFrame: number;
  /** Where the connection goes, for logs (`unix:/path`, `ws://host:port`, `memory`). */
  readonly description: string;
  /** True once close() was called or the connection failed. */
  readonly closed: boolean;
  /**
   * Queue one frame body for sending. Writes within one event-loop turn are coalesced into one
   * system call. Silently dropped after close. A body larger than maxFrame is a bug (throws).
   */
  send(body: Uint8Array): void;
  /**
   * Queue one frame whose body is the concatenation of `parts` (large payloads go out without
   * being copied into one buffer first). The parts must not change until the next event-loop turn.
   */
  sendParts(parts: readonly Uint8Array[]): void;
  /** Each received frame body, in order. */
  onMessage(listener: (body: Uint8Array) => void): void;
  /**
   * Input that breaks framing (oversized, zero-length, a text ws message). Called before the
   * transport closes itself, so a listener may still send a last message (an `abort`).
   */
  onError(listener: (error: ProtocolError) => void): void;
  /** Called exactly once when the connection is gone, with the first recorded reason. */
  onClose(listener: (reason: CloseReason) => void): void;
  /** Flush queued frames and close. Idempotent. */
  close(reason?: CloseReason): void;
}

/** A listening endpoint. */
export interface Listener {
  /** The bound address in canonical form (with the real port when ws port 0 was asked for). */
  readonly address: string;
  /** Stop accepting connections (existing ones stay up) and release the address. */
  close(): Promise<void>;
}

/** Options of listen and connect. */
export interface TransportOptions {
  /** Largest frame body accepted, in bytes (default LIMITS.FRAME_MAX_DEFAULT = 16 MiB). */
  maxFrame?: number;
}

/**
 * Listen on `unix:PATH` or `ws://HOST:PORT` and call `onConnection` for each accepted
 * connection. Rejects with TransportError BAD_ADDRESS or LISTEN_FAILED.
 */
export async function listen(address: string, onConnection: (transport: Transport) => void, options: TransportOptions = {}): Promise<Listener> {
  const a = parseAddress(address);
  if (a.kind === 'unix') return listenUnix(a.path, onConnection, options);
  const { listenWs } = await import('./transport-ws.js');
  return listenWs(a.host, a.port, onConnection, options);
}

/**
 * Connect to `unix:PATH` or `ws://HOST:PORT`. Rejects with TransportError BAD_ADDRESS or
 * CONNECT_FAILED.
 */
export async function connect(address: string, options: TransportOptions = {}): Promise<Transport> {
  const a = parseAddress(address);
  if (a.kind === 'unix') return connectUnix(a.path, options);
  const { connectWs } = await import('./transport-ws.js');
  return connectWs(a.host, a.port, options);
}
