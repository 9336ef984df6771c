/**
 * An in-process pair of connected transports (protocol/README.md §1): what a socket pair is to
 * the Unix transport. Frames are delivered asynchronously and in order, the receiver enforces its
 * maximum frame size, and closing one end closes the other — so peer tests and an in-process
 * device model behave as they would across processes.
 */
import { PROTOCOL_ERROR_CODES, ProtocolError } from './errors.js';
import { checkMaxFrame } from './framing.js';
import { LIMITS } from './messages.js';
import { CLOSE_CODES, TransportBase } from './transport-base.js';
import type { CloseReason, Transport, TransportOptions } from './transport.js';

class MemoryTransport extends TransportBase {
  readonly maxFrame: number;
  readonly description = 'memory';
  other: MemoryTransport | undefined;
  private inbox: Uint8Array[] = [];
  private scheduled = false;
  private remoteClose: CloseReason | undefined;

  constructor(maxFrame: number) {
    super();
    this.maxFrame = maxFrame;
  }

  send(body: Uint8Array): void {
    if (this.closed) return;
    if (body.length === 0 || body.length > this.maxFrame) {
      throw new ProtocolError(PROTOCOL_ERROR_CODES.TOO_LARGE, `refusing to send a frame of ${body.length} bytes (limit ${this.maxFrame})`);
    }
    this.other?.receive(body.slice()); // copy: the sender may reuse its buffer
  }

  protected shutdown(reason: CloseReason): void {
    // The far end sees an orderly close; protocol errors travel in the messages sent before it.
    this.other?.remoteClosed({ code: CLOSE_CODES.CLOSED, message: 'connection closed by peer' });
    this.schedule();
    void reason;
  }

  private receive(body: Uint8Array): void {
    if (this.remoteClose !== undefined) return;
    this.inbox.push(body);
    this.schedule();
  }

  private remoteClosed(reason: CloseReason): void {
    this.remoteClose ??= reason;
    this.schedule();
  }

  /** Deliver on a later turn, as a socket would, in batches like a socket read. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.inbox;
    this.inbox = [];
    for (const body of batch) {
      if (this.closed) break;
      if (body.length === 0) {
        this.malformed(new ProtocolError(PROTOCOL_ERROR_CODES.MALFORMED, 'zero-length frame'));
        break;
      }
      if (body.length > this.maxFrame) {
        this.malformed(new ProtocolError(PROTOCOL_ERROR_CODES.TOO_LARGE, `frame of ${body.length} bytes exceeds the maximum of ${this.maxFrame}`));
        break;
      }
      this.deliver(body);
    }
    if (this.remoteClose !== undefined) this.close(this.remoteClose);
    if (this.closed) this.finished(this.remoteClose ?? { code: CLOSE_CODES.CLOSED, message: 'closed locally' });
  }
}

/** Two connected in-memory transports; each end may have its own maximum frame size. */
export function createMemoryPair(options: TransportOptions = {}, optionsB: TransportOptions = options): [Transport, Transport] {
  const a = new MemoryTransport(checkMaxFrame(options.maxFrame ?? LIMITS.FRAME_MAX_DEFAULT));
  const b = new MemoryTransport(checkMaxFrame(optionsB.maxFrame ?? LIMITS.FRAME_MAX_DEFAULT));
  a.other = b;
  b.other = a;
  return [a, b];
}
