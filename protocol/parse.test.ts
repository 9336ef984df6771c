import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { SAMPLES } from './fixtures/samples.js';
import { LIMITS, type MessageType } from './messages.js';
import { parseMessage } from './parse.js';

/** The error code parseMessage throws for `value`, or 'accepted'. */
function codeOf(value: unknown): string {
  try {
    parseMessage(value);
    return 'accepted';
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return e.code;
  }
}

/** A sample with some fields replaced (undefined = removed). */
function mutate(type: MessageType, changes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...SAMPLES[type] };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

describe('parseMessage: not a message at all → MALFORMED', () => {
  it.each([
    ['null', null],
    ['a number', 42],
    ['a string', 'hello'],
    ['an array', [{ type: 'ping', id: 1 }]],
    ['bytes', new Uint8Array([1])],
    ['a Date (msgpack timestamp)', new Date(0)],
    ['a map without type', { id: 1 }],
    ['a numeric type', { type: 7, id: 1 }],
  ])('%s', (_name, value) => {
    expect(codeOf(value)).toBe('MALFORMED');
  });
});

describe('parseMessage: unknown types → UNKNOWN_TYPE', () => {
  it.each(['pong', 'Hello', '', 'toString', '__proto__', 'constructor'])('%j', (type) => {
    expect(codeOf({ type, id: 1 })).toBe('UNKNOWN_TYPE');
  });
});

describe('parseMessage: bad fields → BAD_FIELD', () => {
  const cases: [string, MessageType, Record<string, unknown>][] = [
    ['missing id', 'ping', { id: undefined }],
    ['negative id', 'ping', { id: -1 }],
    ['id above u32', 'ping', { id: 2 ** 32 }],
    ['fractional id', 'ping', { id: 1.5 }],
    ['string id', 'ping', { id: '1' }],
    ['NaN id', 'ping', { id: Number.NaN }],
    ['missing reply', 'ok', { reply: undefined }],
    ['hello: features not an array', 'hello', { features: 'coalesced' }],
    ['hello: empty feature name', 'hello', { features: [''] }],
    ['hello: too many features', 'hello', { features: Array.from({ length: LIMITS.FEATURES_MAX + 1 }, (_, i) => `f${i}`) }],
    ['hello: unknown role', 'hello', { role: 'guest' }],
    ['hello: version as string', 'hello', { version: '1' }],
    ['configure: unknown clock', 'configure', { clock: 'wall' }],
    ['configure: devices not an array', 'configure', { devices: {} }],
    ['configure: unknown device type', 'configure', { devices: [{ type: 'floppy' }] }],
    ['configure: serial base past the port space', 'configure', { devices: [{ type: 'serial', base: 0xfffc, irq: 4, backend: 'null' }] }],
    ['configure: serial irq 24', 'configure', { devices: [{ type: 'serial', base: 0x3f8, irq: 24, backend: 'null' }] }],
    ['configure: debugExit size 3', 'configure', { devices: [{ type: 'debugExit', port: 0xf4, size: 3 }] }],
    ['configure: cmos ramSize negative', 'configure', { devices: [{ type: 'cmos', irq: 8, ramSize: -1 }] }],
    ['configure: ata without path', 'configure', { devices: [{ type: 'ata', readOnly: false }] }],
    ['configure: ata readOnly as 0', 'configure', { devices: [{ type: 'ata', path: '/d', readOnly: 0 }] }],
    ['configure: virtio kind gpu', 'configure', { devices: [{ type: 'virtio', kind: 'gpu', base: 0xd0000000, irq: 5, backend: '' }] }],
    ['configure: virtio base unaligned', 'configure', { devices: [{ type: 'virtio', kind: 'rng', base: 0xd0000010, irq: 5, backend: '' }] }],
    ['configure: virtio option of array type', 'configure', { devices: [{ type: 'virtio', kind: 'rng', base: 0xd0000000, irq: 5, backend: '', options: { x: [1] } }] }],
    ['configure: too many devices', 'configure', { devices: Array.from({ length: LIMITS.DEVICES_MAX + 1 }, () => ({ type: 'port80' })) }],
    ['pioRead: port 0x10000', 'pioRead', { port: 0x10000 }],
    ['pioRead: port -1', 'pioRead', { port: -1 }],
    ['pioRead: size 8', 'pioRead', { size: 8 }],
    ['pioRead: size 0', 'pioRead', { size: 0 }],
    ['pioRead: count 0', 'pioRead', { count: 0 }],
    ['pioRead: size × count over one page', 'pioRead', { size: 4, count: LIMITS.PIO_DATA_MAX / 4 + 1 }],
    ['pioWrite: data as an array of numbers', 'pioWrite', { data: [0x41] }],
    ['pioWrite: data as a string', 'pioWrite', { data: 'A' }],
    ['pioWrite: empty data', 'pioWrite', { data: new Uint8Array(0) }],
    ['pioWrite: data not a multiple of size', 'pioWrite', { size: 2, data: new Uint8Array(3) }],
    ['pioWrite: data over one page', 'pioWrite', { data: new Uint8Array(LIMITS.PIO_DATA_MAX + 1) }],
    ['mmioRead: address beyond 2^52', 'mmioRead', { addr: 2 ** 52 }],
    ['mmioWrite: value wider than the access', 'mmioWrite', { size: 1, value: 0x100 }],
    ['mmioWrite: negative value', 'mmioWrite', { value: -1 }],
    ['dmaRead: no segments', 'dmaRead', { segments: [] }],
    ['dmaRead: zero-length segment', 'dmaRead', { segments: [{ addr: 0, len: 0 }] }],
    ['dmaRead: segment without addr', 'dmaRead', { segments: [{ len: 4 }] }],
    ['dmaRead: too many segments', 'dmaRead', { segments: Array.from({ length: LIMITS.DMA_SEGMENTS_MAX + 1 }, () => ({ addr: 0, len: 1 })) }],
    ['dmaRead: total over the transfer limit', 'dmaRead', { segments: [{ addr: 0, len: LIMITS.DMA_BYTES_MAX }, { addr: 0, len: 1 }] }],
    ['dmaWrite: data shorter than the segments', 'dmaWrite', { data: new Uint8Array(2) }],
    ['helloReply: name not a string', 'helloReply', { name: 5 }],
    ['configureReply: pio range past 0xFFFF', 'configureReply', { pio: [{ base: 0xfff8, size: 16, name: 'x' }] }],
    ['configureReply: empty range', 'configureReply', { mmio: [{ base: 0, size: 0, name: 'x' }] }],
    ['configureReply: pio doorbell of size 0', 'configureReply', { doorbells: [{ doorbell: 0, space: 'pio', addr: 0x80, size: 0 }] }],
    ['configureReply: datamatch with size 0', 'configureReply', { doorbells: [{ doorbell: 0, space: 'mmio', addr: 0x1000, size: 0, datamatch: 1 }] }],
    ['configureReply: datamatch wider than size', 'configureReply', { doorbells: [{ doorbell: 0, space: 'mmio', addr: 0x1000, size: 1, datamatch: 0x100 }] }],
    ['configureReply: coalesced space io', 'configureReply', { coalesced: [{ space: 'io', base: 0, size: 1 }] }],
    ['pioReadReply: empty data', 'pioReadReply', { data: new Uint8Array(0) }],
    ['mmioReadReply: value above u32', 'mmioReadReply', { value: 2 ** 32 }],
    ['error: lower-case code', 'error', { code: 'dma_fault' }],
    ['error: message not a string', 'error', { message: ['x'] }],
    ['doorbell: missing doorbell id', 'doorbell', { doorbell: undefined }],
    ['coalesced: empty batch', 'coalesced', { writes: [] }],
    ['coalesced: write of size 3', 'coalesced', { writes: [{ space: 'pio', addr: 0x80, size: 3, value: 0 }] }],
    ['clock: negative time', 'clock', { nowNs: -5 }],
    ['clock: time beyond 2^53', 'clock', { nowNs: 2 ** 53 }],
    ['irq: line 24', 'irq', { line: 24 }],
    ['irq: level as 1', 'irq', { level: 1 }],
    ['deadline: -2', 'deadline', { ns: -2 }],
    ['event: unknown kind', 'event', { kind: 'crash' }],
    ['event: code as string', 'event', { code: '49' }],
    ['log: unknown level', 'log', { level: 'fatal' }],
    ['log: message too long', 'log', { message: 'x'.repeat(LIMITS.STRING_MAX + 1) }],
    ['abort: missing code', 'abort', { code: undefined }],
  ];
  it.each(cases)('%s', (_name, type, changes) => {
    expect(codeOf(mutate(type, changes))).toBe('BAD_FIELD');
  });

  it('names the offending field in the message', () => {
    expect(() => parseMessage(mutate('configure', { devices: [{ type: 'serial', base: 0x3f8, irq: 99, backend: '' }] }))).toThrow(/configure\.devices\[0\]\.irq/);
  });

  it('does not take fields from Object.prototype', () => {
    const o = Object.create({ id: 1 }) as Record<string, unknown>;
    o['type'] = 'ping';
    expect(codeOf(o)).toBe('MALFORMED'); // not a plain map at all
    expect(codeOf({ type: 'ping', toString: 1 })).toBe('BAD_FIELD'); // still no id
  });
});

describe('parseMessage: accepted values', () => {
  it('accepts the limits themselves', () => {
    expect(codeOf(mutate('pioRead', { port: 0xffff, size: 4, count: LIMITS.PIO_DATA_MAX / 4 }))).toBe('accepted');
    expect(codeOf(mutate('ping', { id: LIMITS.U32_MAX }))).toBe('accepted');
    expect(codeOf(mutate('irq', { line: LIMITS.IRQ_LINE_MAX }))).toBe('accepted');
    expect(codeOf(mutate('deadline', { ns: 0 }))).toBe('accepted');
    expect(codeOf(mutate('clock', { nowNs: Number.MAX_SAFE_INTEGER }))).toBe('accepted');
    expect(codeOf(mutate('error', { code: 'SOME_FUTURE_CODE' }))).toBe('accepted');
  });

  it('drops unknown fields, keeping only what this version knows', () => {
    const parsed = parseMessage({ ...SAMPLES.irq, future: 'x', nested: { deep: 1 } });
    expect(parsed).toEqual(SAMPLES.irq);
    expect(Object.keys(parsed)).toEqual(['type', 'line', 'level']);
  });

  it('fills a virtio device without options with an empty map', () => {
    const m = parseMessage({ type: 'configure', id: 1, clock: 'host', devices: [{ type: 'virtio', kind: 'console', base: 0xd0000000, irq: 5, backend: 'stdio' }] });
    expect(m).toEqual({ type: 'configure', id: 1, clock: 'host', devices: [{ type: 'virtio', kind: 'console', base: 0xd0000000, irq: 5, backend: 'stdio', options: {} }] });
  });

  it('keeps optional event fields absent rather than undefined', () => {
    const m = parseMessage({ type: 'event', kind: 'reset' });
    expect(Object.keys(m)).toEqual(['type', 'kind']);
  });
});
