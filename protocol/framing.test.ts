import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_SIZE, FrameDecoder, encodeFrame, frameHeader, type FrameStep } from './framing.js';

function drain(d: FrameDecoder): FrameStep[] {
  const steps: FrameStep[] = [];
  for (;;) {
    const s = d.next();
    steps.push(s);
    if (s.kind !== 'frame') return steps;
  }
}

function bodies(steps: FrameStep[]): number[][] {
  return steps.flatMap((s) => (s.kind === 'frame' ? [Array.from(s.body)] : []));
}

describe('framing', () => {
  it('writes a 4-byte little-endian length prefix', () => {
    expect(Array.from(frameHeader(0x01020304))).toEqual([4, 3, 2, 1]);
    expect(Array.from(encodeFrame(new Uint8Array([9, 8, 7])))).toEqual([3, 0, 0, 0, 9, 8, 7]);
  });

  it('reassembles frames fed one byte at a time', () => {
    const stream = new Uint8Array([...encodeFrame(new Uint8Array([1, 2, 3])), ...encodeFrame(new Uint8Array([4])), ...encodeFrame(new Uint8Array(300).fill(5))]);
    const d = new FrameDecoder(1024);
    const got: number[][] = [];
    for (let i = 0; i < stream.length; i++) {
      d.push(stream.subarray(i, i + 1));
      const steps = drain(d);
      expect(steps.at(-1)?.kind).toBe('incomplete');
      got.push(...bodies(steps));
    }
    expect(got).toEqual([[1, 2, 3], [4], new Array<number>(300).fill(5)]);
    expect(d.pending).toBe(0);
  });

  it('returns several frames from one chunk, then waits for the rest of a partial one', () => {
    const a = encodeFrame(new Uint8Array([1]));
    const b = encodeFrame(new Uint8Array([2, 2]));
    const c = encodeFrame(new Uint8Array([3, 3, 3]));
    const d = new FrameDecoder(64);
    d.push(new Uint8Array([...a, ...b, ...c.subarray(0, 5)]));
    const steps = drain(d);
    expect(bodies(steps)).toEqual([[1], [2, 2]]);
    expect(steps.at(-1)?.kind).toBe('incomplete');
    d.push(c.subarray(5));
    expect(bodies(drain(d))).toEqual([[3, 3, 3]]);
  });

  it('handles a prefix split across chunks', () => {
    const f = encodeFrame(new Uint8Array([7, 7]));
    const d = new FrameDecoder(64);
    d.push(f.subarray(0, 1));
    d.push(f.subarray(1, 3));
    expect(d.next().kind).toBe('incomplete');
    d.push(f.subarray(3));
    expect(bodies(drain(d))).toEqual([[7, 7]]);
  });

  it('rejects an oversized frame from its prefix alone, before any body byte arrives', () => {
    const d = new FrameDecoder(1000);
    d.push(frameHeader(1001));
    const s = d.next();
    expect(s.kind).toBe('malformed');
    expect(s.kind === 'malformed' && s.error.code).toBe('TOO_LARGE');
    expect(d.pending).toBe(0); // nothing kept
  });

  it('accepts a frame of exactly the maximum size', () => {
    const d = new FrameDecoder(8);
    d.push(encodeFrame(new Uint8Array(8).fill(1)));
    expect(bodies(drain(d))).toEqual([new Array<number>(8).fill(1)]);
  });

  it('rejects the 4 GiB prefix with the default 16 MiB limit', () => {
    const d = new FrameDecoder();
    d.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    const s = d.next();
    expect(s.kind === 'malformed' && s.error.code).toBe('TOO_LARGE');
  });

  it('rejects a zero-length frame as MALFORMED and stays failed', () => {
    const d = new FrameDecoder(64);
    d.push(new Uint8Array([0, 0, 0, 0, ...encodeFrame(new Uint8Array([1]))]));
    const s = d.next();
    expect(s.kind === 'malformed' && s.error.code).toBe('MALFORMED');
    d.push(encodeFrame(new Uint8Array([2])));
    expect(d.next().kind).toBe('malformed');
  });

  it('delivers frames before a malformed one in the same chunk', () => {
    const d = new FrameDecoder(4);
    d.push(new Uint8Array([...encodeFrame(new Uint8Array([1])), ...frameHeader(5)]));
    const steps = drain(d);
    expect(bodies(steps)).toEqual([[1]]);
    expect(steps.at(-1)?.kind).toBe('malformed');
  });

  it('refuses nonsensical limits', () => {
    expect(() => new FrameDecoder(0)).toThrow(RangeError);
    expect(() => new FrameDecoder(2 ** 32)).toThrow(RangeError);
    expect(FRAME_HEADER_SIZE).toBe(4);
  });
});
