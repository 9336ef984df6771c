/**
 * Listener bookkeeping shared by the transports (protocol/README.md §1): frames are delivered
 * in arrival order, `onClose` fires exactly once, and an exception thrown by a listener closes
 * the connection instead of escaping from a socket event handler.
 */
import { PROTOCOL_ERROR_CODES, type ProtocolError } from './errors.js';
import type { CloseReason, Transport } from './transport.js';

/** Close codes that are not protocol errors (README §1.3). */
export const CLOSE_CODES = {
  /** An orderly close by either side. */
  CLOSED: 'CLOSED',
  /** The socket failed (reset, broken pipe). */
  IO_ERROR: 'IO_ERROR',
} as const;

/** Base class: subclasses call `deliver`, `malformed` and `finished`, and implement the I/O. */
export abstract class TransportBase implements Transport {
  abstract readonly maxFrame: number;
  abstract readonly description: string;
  private readonly messageListeners: ((body: Uint8Array) => void)[] = [];
  private readonly errorListeners: ((error: ProtocolError) => void)[] = [];
  private readonly closeListeners: ((reason: CloseReason) => void)[] = [];
  /** The first reason recorded, by a local close() or a failure; reported by onClose. */
  protected reason: CloseReason | undefined;
  private done = false;

  get closed(): boolean {
    return this.reason !== undefined;
  }

  abstract send(body: Uint8Array): void;

  /** Transports without vectored writes send the parts as one buffer. */
  sendParts(parts: readonly Uint8Array[]): void {
    if (parts.length === 1 && parts[0]) {
      this.send(parts[0]);
      return;
    }
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      body.set(p, at);
      at += p.length;
    }
    this.send(body);
  }
  protected abstract shutdown(reason: CloseReason): void;

  onMessage(listener: (body: Uint8Array) => void): void {
    this.messageListeners.push(listener);
  }

  onError(listener: (error: ProtocolError) => void): void {
    this.errorListeners.push(listener);
  }

  onClose(listener: (reason: CloseReason) => void): void {
    if (this.done && this.reason !== undefined) {
      const reason = this.reason;
      queueMicrotask(() => listener(reason));
      return;
    }
    this.closeListeners.push(listener);
  }

  close(reason: CloseReason = { code: CLOSE_CODES.CLOSED, message: 'closed locally' }): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.shutdown(reason);
  }

  /** Hand one received frame body to the listeners. */
  protected deliver(body: Uint8Array): void {
    if (this.reason !== undefined) return; // after close, late input is dropped
    for (const l of this.messageListeners) {
      try {
        l(body);
      } catch (e) {
        this.listenerFailed(e);
        return;
      }
    }
  }

  /** Received bytes are not a valid frame: let listeners react (send an abort), then close. */
  protected malformed(error: ProtocolError): void {
    if (this.reason !== undefined) return;
    for (const l of this.errorListeners) {
      try {
        l(error);
      } catch (e) {
        this.listenerFailed(e);
        return;
      }
    }
    this.close({ code: error.code, message: error.message });
  }

  /** The underlying connection is gone; report it once. */
  protected finished(reason: CloseReason): void {
    if (this.done) return;
    this.done = true;
    this.reason ??= reason;
    const final = this.reason;
    for (const l of this.closeListeners.splice(0)) {
      try {
        l(final);
      } catch {
        // A close listener that throws has nothing left to break; the connection is already gone.
      }
    }
  }

  private listenerFailed(e: unknown): void {
    // A listener bug must not escape into the socket's event emitter (it would kill the process).
    const message = e instanceof Error ? e.message : String(e);
    this.close({ code: PROTOCOL_ERROR_CODES.INTERNAL, message: `listener failed: ${message}` });
  }
}

/**
 * Hand a new connection to the listener's callback without letting a bug in it escape from the
 * server's event handler: the connection is closed with INTERNAL and the error reported on stderr.
 */
export function acceptConnection(transport: TransportBase, onConnection: (t: Transport) => void): void {
  try {
    onConnection(transport);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`tskvm-dm: connection handler failed: ${message}\n`);
    transport.close({ code: PROTOCOL_ERROR_CODES.INTERNAL, message: `connection handler failed: ${message}` });
  }
}
