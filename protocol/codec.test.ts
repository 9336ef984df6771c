import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decode, encode, encodeParts, SPLIT_DATA_MIN } from './codec.js';
import { ProtocolError } from './errors.js';
import { SAMPLES } from './fixtures/samples.js';
import { MESSAGES, type MessageType } from './messages.js';
import { parseMessage } from './parse.js';

/** A plain msgpack decoder with default options, standing in for another implementation. */
const plain = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

describe('codec', () => {
  const types = Object.keys(MESSAGES) as MessageType[];

  it.each(types)('round-trips %s through encode, decode and parse', (type) => {
    const message = SAMPLES[type];
    expect(parseMessage(decode(encode(message)))).toEqual(message);
  });

  it('writes standard msgpack: a map with string keys, binary as bin 8/16/32', () => {
    const bytes = encode(SAMPLES.pioWrite);
    // a map: fixmap (0x80-0x8f) or map 16 (0xde), both standard
    expect(bytes[0] === 0xde || ((bytes[0] ?? 0) & 0xf0) === 0x80).toBe(true);
    expect(plain.unpack(bytes)).toEqual({ type: 'pioWrite', id: 4, port: 0x3f8, size: 1, data: Buffer.from([0x41]) });
    // bin 8 header (0xc4, length 1) right before the payload byte
    const tail = Array.from(bytes.subarray(bytes.length - 3));
    expect(tail).toEqual([0xc4, 0x01, 0x41]);
  });

  it('encodeParts: a large DMA payload is its own part, the caller\'s buffer, and the parts decode like encode()', () => {
    const data = new Uint8Array(SPLIT_DATA_MIN + 3).map((_, i) => i * 7);
    const write = { type: 'dmaWrite' as const, id: 9, segments: [{ addr: 0x1000, len: 8 }, { addr: 0x9000, len: data.length - 8 }], data };
    const reply = { type: 'dmaReadReply' as const, reply: 12, data };
    for (const m of [write, reply]) {
      const parts = encodeParts(m);
      expect(parts).toHaveLength(2);
      expect(parts[1]).toBe(data);
      const body = Buffer.concat(parts);
      expect(parseMessage(decode(body))).toEqual(m);
      expect(plain.unpack(body)).toEqual({ ...m, data: Buffer.from(data) });
    }
    // Small payloads and messages without data stay one buffer, byte for byte what encode() gives.
    for (const m of [SAMPLES.dmaWrite, SAMPLES.dmaReadReply, SAMPLES.pioWrite, SAMPLES.ping]) {
      const parts = encodeParts(m);
      expect(parts).toHaveLength(1);
      expect(Array.from(parts[0]!)).toEqual(Array.from(encode(m)));
    }
  });

  it('reads what a foreign encoder writes, including uint64 timestamps below 2^53', () => {
    const foreign = new Uint8Array([0x82, 0xa4, ...Buffer.from('type'), 0xa5, ...Buffer.from('clock'), 0xa5, ...Buffer.from('nowNs'), 0xcf, 0, 0, 0x01, 0, 0, 0, 0, 1]);
    expect(parseMessage(decode(foreign))).toEqual({ type: 'clock', nowNs: 2 ** 40 + 1 });
  });

  it('decodes uint64 beyond 2^53 as a bigint, which the parser rejects', () => {
    const foreign = new Uint8Array([0x82, 0xa4, ...Buffer.from('type'), 0xa5, ...Buffer.from('clock'), 0xa5, ...Buffer.from('nowNs'), 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const value = decode(foreign) as { nowNs: unknown };
    expect(typeof value.nowNs).toBe('bigint');
    expect(() => parseMessage(value)).toThrow(expect.objectContaining({ code: 'BAD_FIELD' }));
  });

  it.each([
    ['empty body', new Uint8Array(0)],
    ['truncated map', new Uint8Array([0x81, 0xa4])],
    ['two values in one body', new Uint8Array([0x01, 0x02])],
    ['unknown extension', new Uint8Array([0xd4, 0x05, 0x00])],
  ])('rejects %s as MALFORMED', (_name, body) => {
    let caught: unknown;
    try {
      decode(body);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ProtocolError);
    expect((caught as ProtocolError).code).toBe('MALFORMED');
  });
});
