/**
 * Length-prefixed framing for stream transports (protocol/README.md §2.1): every frame is a
 * 4-byte little-endian body length followed by that many bytes of msgpack. The decoder checks
 * the length from the prefix before buffering any of the body, and tells "incomplete, wait for
 * more bytes" apart from "malformed, close" (zero-length or oversized frame).
 */
import { PROTOCOL_ERROR_CODES, ProtocolError } from './errors.js';
import { LIMITS } from './messages.js';

/** Bytes of the length prefix. */
export const FRAME_HEADER_SIZE = 4;

/** Largest body length the 4-byte prefix can express. */
const PREFIX_MAX = 0xffff_ffff;

/** One step of the decoder: a whole frame body, "wait for more bytes", or "malformed, close". */
export type FrameStep =
  | { kind: 'frame'; body: Uint8Array }
  | { kind: 'incomplete' }
  | { kind: 'malformed'; error: ProtocolError };

/** Check a maximum frame size option (a bug if wrong, so it throws RangeError). */
export function checkMaxFrame(maxFrame: number): number {
  if (!Number.isSafeInteger(maxFrame) || maxFrame < 1 || maxFrame > PREFIX_MAX) {
    throw new RangeError(`maximum frame size ${maxFrame} is not in 1..${PREFIX_MAX}`);
  }
  return maxFrame;
}

/** The 4-byte prefix for a body of `length` bytes. */
export function frameHeader(length: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_SIZE);
  new DataView(header.buffer).setUint32(0, length, true);
  return header;
}

/** Prefix + body in one buffer. */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_SIZE + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, true);
  frame.set(body, FRAME_HEADER_SIZE);
  return frame;
}

/**
 * Streaming frame decoder. Feed it chunks as they arrive with `push`, then call `next` until it
 * says `incomplete`. Once it has reported `malformed` it stays malformed: the stream has lost
 * frame sync and the connection must close.
 */
export class FrameDecoder {
  readonly maxFrame: number;
  private readonly chunks: Uint8Array[] = [];
  private offset = 0; // consumed bytes of chunks[0]
  private buffered = 0; // unconsumed bytes over all chunks
  private failure: ProtocolError | undefined;

  constructor(maxFrame: number = LIMITS.FRAME_MAX_DEFAULT) {
    this.maxFrame = checkMaxFrame(maxFrame);
  }

  /** Bytes received but not yet returned as frames. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (this.failure !== undefined || chunk.length === 0) return; // after a failure, input is discarded
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  next(): FrameStep {
    if (this.failure !== undefined) return { kind: 'malformed', error: this.failure };
    if (this.buffered < FRAME_HEADER_SIZE) return { kind: 'incomplete' };
    const length = this.peekLength();
    if (length === 0) return this.fail(PROTOCOL_ERROR_CODES.MALFORMED, 'zero-length frame');
    // Checked from the prefix alone: an oversized frame is refused before its body is buffered.
    if (length > this.maxFrame) return this.fail(PROTOCOL_ERROR_CODES.TOO_LARGE, `frame of ${length} bytes exceeds the maximum of ${this.maxFrame}`);
    if (this.buffered < FRAME_HEADER_SIZE + length) return { kind: 'incomplete' };
    this.take(FRAME_HEADER_SIZE);
    return { kind: 'frame', body: this.take(length) };
  }

  private fail(code: string, message: string): FrameStep {
    this.failure = new ProtocolError(code, message);
    this.chunks.length = 0;
    this.buffered = 0;
    this.offset = 0;
    return { kind: 'malformed', error: this.failure };
  }

  private peekLength(): number {
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.offset >= FRAME_HEADER_SIZE) {
      return new DataView(first.buffer, first.byteOffset + this.offset, FRAME_HEADER_SIZE).getUint32(0, true);
    }
    // The prefix straddles chunks: copy its 4 bytes without consuming them.
    const header = new Uint8Array(FRAME_HEADER_SIZE);
    let filled = 0;
    let off = this.offset;
    for (const c of this.chunks) {
      const n = Math.min(c.length - off, FRAME_HEADER_SIZE - filled);
      header.set(c.subarray(off, off + n), filled);
      filled += n;
      off = 0;
      if (filled === FRAME_HEADER_SIZE) break;
    }
    return new DataView(header.buffer).getUint32(0, true);
  }

  /** Consume `n` buffered bytes (n ≤ buffered); zero-copy when they lie in one chunk. */
  private take(n: number): Uint8Array {
    this.buffered -= n;
    const first = this.chunks[0];
    if (first === undefined) throw new Error('FrameDecoder: take beyond buffered bytes'); // assertion
    if (first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
      return out;
    }
    const raw = Buffer.allocUnsafeSlow(n); // filled completely below: no zeroing first
    const out = new Uint8Array(raw.buffer, raw.byteOffset, n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      if (c === undefined) throw new Error('FrameDecoder: take beyond buffered bytes'); // assertion
      const k = Math.min(c.length - this.offset, n - filled);
      out.set(c.subarray(this.offset, this.offset + k), filled);
      filled += k;
      this.offset += k;
      if (this.offset === c.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    return out;
  }
}
