/**
 * The protocol across a real process boundary: this test process is the VMM, a separate `node`
 * process (fixtures/dm-child.mjs) is the device model, over a Unix socket and over ws. Garbage is
 * written by hand (raw sockets, frames built byte by byte) and must be refused with an `abort`
 * while the child keeps running.
 */
import net from 'node:net';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseAddress } from './address.js';
import { ProtocolError } from './errors.js';
import { startDmChild, type DmChild } from './fixtures/spawn-child.js';
import { FEATURES, type Posted, type Request } from './messages.js';
import type { Peer } from './peer.js';
import { connectPeer } from './session.js';
import { QtestClient } from '../test/qtest/qtest-client.js';

/** The child's maximum frame: small, so that the oversized tests stay cheap. */
const CHILD_MAX_FRAME = 64 * 1024;
const RAM_SIZE = 0x10000;
/** Plain msgpack, independent of protocol/codec.ts. */
const msgpack = new Packr({ useRecords: false, mapsAsObjects: true });

let dm: DmChild;
beforeAll(async () => {
  dm = await startDmChild(CHILD_MAX_FRAME);
});
afterAll(async () => {
  expect(dm.alive()).toBe(true); // nothing sent in these tests may kill the device model
  expect(await dm.stop()).toBe(0);
});

/** A VMM with 64 KiB of "guest RAM" that serves DMA, connected to the child. */
async function vmmFor(address: string): Promise<{ peer: Peer; ram: Uint8Array; posted: Posted[] }> {
  const { peer } = await connectPeer(address, { features: [FEATURES.doorbell, FEATURES.virtualClock, FEATURES.stringPio], log: () => undefined });
  const ram = new Uint8Array(RAM_SIZE);
  const posted: Posted[] = [];
  peer.onPosted((m) => void posted.push(m));
  const check = (addr: number, len: number): void => {
    if (addr + len > RAM_SIZE) throw new ProtocolError('DMA_FAULT', `DMA outside guest RAM: 0x${addr.toString(16)}+${len}`);
  };
  peer.onRequest((req: Request) => {
    if (req.type === 'dmaRead') {
      const out = new Uint8Array(req.segments.reduce((n, s) => n + s.len, 0));
      let off = 0;
      for (const s of req.segments) {
        check(s.addr, s.len);
        out.set(ram.subarray(s.addr, s.addr + s.len), off);
        off += s.len;
      }
      return { type: 'dmaReadReply', data: out };
    }
    if (req.type === 'dmaWrite') {
      let off = 0;
      for (const s of req.segments) {
        check(s.addr, s.len);
        ram.set(req.data.subarray(off, off + s.len), s.addr);
        off += s.len;
      }
      return { type: 'ok' };
    }
    throw new ProtocolError('UNSUPPORTED', req.type);
  });
  return { peer, ram, posted };
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

/** A frame built by hand: 4-byte little-endian length, then the body. */
function frame(body: Uint8Array): Buffer {
  return Buffer.concat([u32le(body.length), body]);
}

const HELLO = { type: 'hello', id: 1, protocol: 'tskvm-dm', version: 1, features: [], role: 'vmm' };

/** Write raw bytes to the child's unix socket; collect the frames it sends until it closes. */
function rawUnix(chunks: Uint8Array[]): Promise<{ messages: Record<string, unknown>[]; leftover: number }> {
  const { path } = parseAddress(dm.unix) as { kind: 'unix'; path: string };
  return new Promise((resolve) => {
    const s = net.createConnection(path);
    let buf = Buffer.alloc(0);
    s.on('connect', () => {
      for (const c of chunks) s.write(c);
    });
    s.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
    // EPIPE/ECONNRESET are expected when the child closes while garbage is still being written.
    s.on('error', () => undefined);
    s.on('close', () => {
      const messages: Record<string, unknown>[] = [];
      let off = 0;
      while (off + 4 <= buf.length) {
        const len = buf.readUInt32LE(off);
        if (off + 4 + len > buf.length) break;
        messages.push(msgpack.unpack(buf.subarray(off + 4, off + 4 + len)) as Record<string, unknown>);
        off += 4 + len;
      }
      resolve({ messages, leftover: buf.length - off });
    });
  });
}

/** Send raw ws messages to the child; collect its binary messages and the close status. */
function rawWs(sends: { data: Uint8Array | string }[]): Promise<{ messages: Record<string, unknown>[]; status: number; reason: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${dm.ws}/`);
    const messages: Record<string, unknown>[] = [];
    ws.on('open', () => {
      for (const s of sends) ws.send(s.data, { binary: typeof s.data !== 'string' });
    });
    ws.on('message', (d: Buffer) => messages.push(msgpack.unpack(d) as Record<string, unknown>));
    ws.on('error', () => undefined); // the close event follows and carries the status
    ws.on('close', (status, reason) => resolve({ messages, status, reason: reason.toString() }));
  });
}

describe.each(['unix', 'ws'] as const)('two processes over %s', (kind) => {
  const address = (): string => (kind === 'unix' ? dm.unix : dm.ws);

  it('completes the handshake with the intersection of features', async () => {
    const { peer, hello } = await connectPeer(address(), { features: [FEATURES.virtualClock, FEATURES.coalesced, FEATURES.doorbell], log: () => undefined });
    expect(hello.features).toEqual([FEATURES.virtualClock, FEATURES.doorbell]);
    expect(hello.name).toMatch(/^dm-child pid \d+$/);
    peer.close();
  });

  it('serves register accesses, with the irq posted before the reply seen first', async () => {
    const { peer, posted } = await vmmFor(address());
    const r = await peer.request({ type: 'pioRead', port: 0x60, size: 2, count: 3 });
    expect(Array.from(r.data)).toEqual([0x10, 0x11, 0x12, 0x13, 0x14, 0x15]);
    expect((await peer.request({ type: 'mmioRead', addr: 0xd0000010, size: 4 })).value).toBe((0xd0000010 ^ 0xa5a5a5a5) >>> 0);
    await peer.request({ type: 'pioWrite', port: 0x3f8, size: 1, data: new Uint8Array([0x41]) });
    expect(posted).toEqual([{ type: 'irq', line: 4, level: true }]); // already there when the reply resolved
    const cfg = await peer.request({ type: 'configure', clock: 'host', devices: [{ type: 'port80' }] });
    expect(cfg.pio).toEqual([{ base: 0x60, size: 1, name: 'data' }]);
    peer.close();
  });

  it('lets the device model DMA into the VMM while a request is outstanding', async () => {
    const { peer, ram } = await vmmFor(address());
    ram.set(Uint8Array.from({ length: 16 }, (_, i) => i + 1), 0x2000);
    await peer.request({ type: 'pioWrite', port: 0x500, size: 4, data: u32le(0x2000) });
    expect(Array.from(ram.subarray(0x2100, 0x2110))).toEqual(Array.from({ length: 16 }, (_, i) => 16 - i));
    peer.close();
  });

  it('carries DMA_FAULT from the VMM through the device model back to the VMM', async () => {
    const { peer } = await vmmFor(address());
    let caught: unknown;
    try {
      await peer.request({ type: 'pioWrite', port: 0x504, size: 4, data: u32le(RAM_SIZE - 8) });
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'DMA_FAULT' });
    expect((await peer.request({ type: 'ping' })).type).toBe('ok'); // still connected
    peer.close();
  });

  it('answers shutdown with ok and closes', async () => {
    const { peer } = await vmmFor(address());
    const closed = new Promise((r) => peer.onClose(r));
    expect((await peer.request({ type: 'shutdown' })).type).toBe('ok');
    await closed;
    expect(peer.isClosed).toBe(true);
  });
});

describe('the device model refuses garbage on its unix socket and keeps running', () => {
  it.each([
    ['a body that is not msgpack', [frame(new Uint8Array([0xc1]))], 'MALFORMED'],
    ['a zero-length frame', [u32le(0)], 'MALFORMED'],
    ['a request before hello', [frame(msgpack.pack({ type: 'ping', id: 1 }))], 'HANDSHAKE'],
    ['an unknown type after hello', [frame(msgpack.pack(HELLO)), frame(msgpack.pack({ type: 'reboot', id: 2 }))], 'UNKNOWN_TYPE'],
    ['a bad field after hello', [frame(msgpack.pack(HELLO)), frame(msgpack.pack({ type: 'pioRead', id: 2, port: 70000, size: 1, count: 1 }))], 'BAD_FIELD'],
    ['an oversized length prefix (no body sent)', [u32le(0xffffffff)], 'TOO_LARGE'],
    ['a frame one byte over the limit', [frame(new Uint8Array(CHILD_MAX_FRAME + 1))], 'TOO_LARGE'],
  ])('%s → abort %s, then close', async (_name, chunks, code) => {
    const { messages } = await rawUnix(chunks);
    expect(messages.at(-1)).toMatchObject({ type: 'abort', code });
    expect(dm.alive()).toBe(true);
  });

  it('still serves a well-behaved client afterwards', async () => {
    const { peer } = await vmmFor(dm.unix);
    expect((await peer.request({ type: 'ping' })).type).toBe('ok');
    peer.close();
    expect(dm.stderr()).toMatch(/TOO_LARGE/); // the child logged what it refused
  });
});

describe('the device model refuses garbage on its ws socket and keeps running', () => {
  it('a text message: abort MALFORMED, close 1008', async () => {
    const r = await rawWs([{ data: JSON.stringify(HELLO) }]);
    expect(r.messages.at(-1)).toMatchObject({ type: 'abort', code: 'MALFORMED' });
    expect(r.status).toBe(1008);
    expect(r.reason).toMatch(/^MALFORMED: /);
  });

  it('a binary message that is not msgpack: abort MALFORMED', async () => {
    const r = await rawWs([{ data: new Uint8Array([0xc1, 0xc1]) }]);
    expect(r.messages.at(-1)).toMatchObject({ type: 'abort', code: 'MALFORMED' });
  });

  it('an unknown type after hello: abort UNKNOWN_TYPE', async () => {
    const r = await rawWs([{ data: msgpack.pack(HELLO) }, { data: msgpack.pack({ type: 'reboot', id: 2 }) }]);
    expect(r.messages.map((m) => m['type'])).toEqual(['helloReply', 'abort']);
    expect(r.messages[1]).toMatchObject({ code: 'UNKNOWN_TYPE' });
  });

  it('a message over the limit: close 1009 (refused from the ws header)', async () => {
    const r = await rawWs([{ data: new Uint8Array(CHILD_MAX_FRAME + 1) }]);
    expect(r.status).toBe(1009);
  });

  it('still serves a well-behaved client afterwards', async () => {
    const { peer } = await vmmFor(dm.ws);
    expect((await peer.request({ type: 'ping' })).type).toBe('ok');
    peer.close();
    expect(dm.alive()).toBe(true);
  });
});

describe.each(['unix', 'ws'] as const)('the qtest driver against the child over %s', (kind) => {
  it('reads and writes registers, sees interrupts, serves DMA and steps the virtual clock', async () => {
    const ram = new Uint8Array(RAM_SIZE);
    const qt = await QtestClient.attach(kind === 'unix' ? dm.unix : dm.ws, { clock: 'virtual', devices: [{ type: 'port80' }], memory: ram });
    expect(await qt.inb(0x60)).toBe(0x10);
    expect(await qt.inw(0x60)).toBe(0x1110);
    expect(await qt.inl(0x60)).toBe(0x13121110);
    expect(await qt.pioRead(0x60, 2, 2)).toEqual([0x1110, 0x1312]);
    expect(await qt.readl(0x1000)).toBe((0x1000 ^ 0xa5a5a5a5) >>> 0);
    await qt.outb(0x3f8, 0x41);
    expect(qt.irq(4)).toBe(true);
    ram.set([9, 8, 7], 0x300);
    await qt.outl(0x500, 0x300);
    expect(Array.from(ram.subarray(0x40d, 0x410))).toEqual([7, 8, 9]);
    await expect(qt.outl(0x504, RAM_SIZE)).rejects.toMatchObject({ code: 'DMA_FAULT' });
    expect(qt.dma.faults).toBe(1);
    // virtual clock: a 1 ms periodic timer on IRQ 0 fires only when the clock passes its deadline
    await qt.ping();
    expect(qt.deadline).toBe(1_000_000);
    await qt.clockStep(600_000);
    expect(qt.irqRaises(0)).toBe(0);
    await qt.clockStep(600_000);
    expect(qt.irqRaises(0)).toBe(1);
    expect(qt.irq(0)).toBe(false); // a pulse
    expect(qt.deadline).toBe(2_000_000);
    await qt.clockStep(2_000_000);
    expect(qt.irqRaises(0)).toBe(3);
    await qt.shutdown();
  });
});
