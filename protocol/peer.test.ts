import { describe, expect, it } from 'vitest';
import { decode, encode } from './codec.js';
import { ProtocolError } from './errors.js';
import { FEATURES, type Message, type Posted, type Request } from './messages.js';
import { parseMessage } from './parse.js';
import { Peer, type PeerLog } from './peer.js';
import { createMemoryPair } from './transport-memory.js';
import type { CloseReason, Transport } from './transport.js';

const quiet: PeerLog = () => undefined;
const DM_FEATURES = [FEATURES.doorbell, FEATURES.coalesced, FEATURES.stringPio];

function peers(maxFrame?: { vmm?: number; dm?: number }): { vmm: Peer; dm: Peer } {
  const [a, b] = createMemoryPair(maxFrame?.vmm !== undefined ? { maxFrame: maxFrame.vmm } : {}, maxFrame?.dm !== undefined ? { maxFrame: maxFrame.dm } : {});
  const vmm = new Peer(a, { side: 'vmm', log: quiet });
  const dm = new Peer(b, { side: 'dm', accept: { features: DM_FEATURES, name: 'test-dm' }, log: quiet });
  return { vmm, dm };
}

async function openPeers(maxFrame?: { vmm?: number; dm?: number }): Promise<{ vmm: Peer; dm: Peer }> {
  const p = peers(maxFrame);
  await p.vmm.handshake([FEATURES.doorbell, FEATURES.virtualClock, FEATURES.stringPio]);
  await p.dm.whenOpen();
  return p;
}

/** A Peer on one end, a raw transport on the other that records decoded messages. */
function rawAgainst(side: 'vmm' | 'dm'): { peer: Peer; raw: Transport; received: Message[]; closed: Promise<CloseReason> } {
  const [a, b] = createMemoryPair();
  const peer = side === 'dm' ? new Peer(a, { side: 'dm', accept: { features: DM_FEATURES, name: 'test-dm' }, log: quiet }) : new Peer(a, { side: 'vmm', log: quiet });
  const received: Message[] = [];
  b.onMessage((body) => received.push(parseMessage(decode(body))));
  const closed = new Promise<CloseReason>((resolve) => b.onClose(resolve));
  return { peer, raw: b, received, closed };
}

async function rejection(p: Promise<unknown>): Promise<ProtocolError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected a rejection');
}

const HELLO: Extract<Message, { type: 'hello' }> = { type: 'hello', id: 1, protocol: 'tskvm-dm', version: 1, features: ['doorbell'], role: 'vmm' };

describe('Peer handshake', () => {
  it('agrees on the intersection of features, in the order offered', async () => {
    const { vmm, dm } = peers();
    const reply = await vmm.handshake([FEATURES.virtualClock, FEATURES.stringPio, FEATURES.doorbell, 'x-unknown']);
    await dm.whenOpen();
    expect(reply.features).toEqual([FEATURES.stringPio, FEATURES.doorbell]);
    expect(reply.name).toBe('test-dm');
    expect(vmm.features).toEqual(dm.features);
    expect(vmm.isOpen && dm.isOpen).toBe(true);
  });

  it('refuses another version with an error reply VERSION, then closes', async () => {
    const { peer, raw, received, closed } = rawAgainst('dm');
    raw.send(encode({ ...HELLO, version: 2 }));
    expect((await closed).code).toBe('CLOSED');
    expect(received).toEqual([{ type: 'error', reply: 1, code: 'VERSION', message: expect.stringMatching(/version 2/) }]);
    expect(peer.closeReason?.code).toBe('VERSION');
  });

  it('refuses another protocol name', async () => {
    const { raw, received, closed } = rawAgainst('dm');
    raw.send(encode({ ...HELLO, protocol: 'vfio-user' }));
    await closed;
    expect(received[0]).toMatchObject({ type: 'error', code: 'VERSION' });
  });

  it('the VMM side rejects the handshake with VERSION when the device model refuses', async () => {
    const { peer, raw } = rawAgainst('vmm');
    raw.onMessage((body) => {
      const m = parseMessage(decode(body));
      if (m.type === 'hello') raw.send(encode({ type: 'error', reply: m.id, code: 'VERSION', message: 'version 1 unsupported' }));
    });
    const err = await rejection(peer.handshake([]));
    expect(err.code).toBe('VERSION');
    expect(peer.isClosed).toBe(true);
  });

  it('the VMM side rejects a reply accepting features it did not offer', async () => {
    const { peer, raw } = rawAgainst('vmm');
    raw.onMessage((body) => {
      const m = parseMessage(decode(body));
      if (m.type === 'hello') raw.send(encode({ type: 'helloReply', reply: m.id, protocol: 'tskvm-dm', version: 1, features: ['doorbell'], name: 'x' }));
    });
    expect((await rejection(peer.handshake(['coalesced']))).code).toBe('VERSION');
  });

  it('the VMM side accepts messages sent right behind the hello reply', async () => {
    const { peer, raw } = rawAgainst('vmm');
    const posted: Posted[] = [];
    peer.onPosted((m) => void posted.push(m));
    raw.onMessage((body) => {
      const m = parseMessage(decode(body));
      if (m.type !== 'hello') return;
      raw.send(encode({ type: 'helloReply', reply: m.id, protocol: 'tskvm-dm', version: 1, features: [], name: 'x' }));
      raw.send(encode({ type: 'deadline', ns: -1 })); // same turn, arrives in the same batch
    });
    await peer.handshake([]);
    await new Promise((r) => setImmediate(r));
    expect(posted).toEqual([{ type: 'deadline', ns: -1 }]);
    expect(peer.isOpen).toBe(true);
  });

  it('accepts nothing before hello: a request first gets abort HANDSHAKE and the connection closes', async () => {
    const { peer, raw, received, closed } = rawAgainst('dm');
    raw.send(encode({ type: 'pioRead', id: 1, port: 0x3f8, size: 1, count: 1 }));
    await closed;
    expect(received).toEqual([{ type: 'abort', code: 'HANDSHAKE', message: expect.stringMatching(/before hello/) }]);
    expect(peer.closeReason?.code).toBe('HANDSHAKE');
  });

  it('a second hello is a HANDSHAKE error', async () => {
    const { raw, received, closed } = rawAgainst('dm');
    raw.send(encode(HELLO));
    raw.send(encode({ ...HELLO, id: 2 }));
    await closed;
    expect(received.map((m) => m.type)).toEqual(['helloReply', 'abort']);
    expect(received[1]).toMatchObject({ code: 'HANDSHAKE' });
  });

  it('the VMM side treats a device-model message before the hello reply as HANDSHAKE', async () => {
    const { peer, raw, received, closed } = rawAgainst('vmm');
    const hs = peer.handshake([]);
    raw.send(encode({ type: 'irq', line: 4, level: true }));
    expect((await rejection(hs)).code).toBe('CLOSED');
    await closed;
    expect(received.at(-1)).toMatchObject({ type: 'abort', code: 'HANDSHAKE' });
  });

  it('the device model closes a connection that never sends hello', async () => {
    const [a, b] = createMemoryPair();
    const dm = new Peer(a, { side: 'dm', accept: { features: [], name: 'x' }, helloTimeoutMs: 20, log: quiet });
    const received: Message[] = [];
    b.onMessage((body) => received.push(parseMessage(decode(body))));
    await new Promise<CloseReason>((r) => b.onClose(r));
    expect(received).toEqual([{ type: 'abort', code: 'HANDSHAKE', message: 'no hello received in time' }]);
    expect(dm.closeReason?.code).toBe('HANDSHAKE');
  });

  it('refuses to send requests before the handshake', async () => {
    const { vmm } = peers();
    expect((await rejection(vmm.request({ type: 'ping' }))).code).toBe('HANDSHAKE');
    expect(() => vmm.post({ type: 'clock', nowNs: 1 })).toThrow(ProtocolError);
  });
});

describe('Peer requests and replies', () => {
  it('carries register accesses VMM→DM with their replies', async () => {
    const { vmm, dm } = await openPeers();
    const seen: Request[] = [];
    dm.onRequest((req) => {
      seen.push(req);
      switch (req.type) {
        case 'pioRead':
          return { type: 'pioReadReply', data: new Uint8Array(req.size * req.count).fill(0x5a) };
        case 'mmioRead':
          return { type: 'mmioReadReply', value: 0x74726976 };
        default:
          return { type: 'ok' };
      }
    });
    expect(await vmm.request({ type: 'pioRead', port: 0x1f0, size: 2, count: 4 })).toEqual({ type: 'pioReadReply', reply: expect.any(Number), data: new Uint8Array(8).fill(0x5a) });
    expect((await vmm.request({ type: 'mmioRead', addr: 0xd0000000, size: 4 })).value).toBe(0x74726976);
    expect((await vmm.request({ type: 'mmioWrite', addr: 0xd0000070, size: 4, value: 15 })).type).toBe('ok');
    expect((await vmm.request({ type: 'pioWrite', port: 0x3f8, size: 1, data: new Uint8Array([0x41]) })).type).toBe('ok');
    expect(seen.map((r) => r.type)).toEqual(['pioRead', 'mmioRead', 'mmioWrite', 'pioWrite']);
    expect(new Set(seen.map((r) => r.id)).size).toBe(4); // distinct ids
  });

  it('carries DMA DM→VMM, with DMA_FAULT for out-of-RAM ranges', async () => {
    const { vmm, dm } = await openPeers();
    const ram = new Uint8Array(0x10000).map((_, i) => i & 0xff);
    vmm.onRequest((req) => {
      if (req.type !== 'dmaRead') throw new ProtocolError('UNSUPPORTED', req.type);
      const parts = req.segments.map((s) => {
        if (s.addr + s.len > ram.length) throw Object.assign(new Error(`DMA outside guest RAM: 0x${s.addr.toString(16)}+${s.len}`), { code: 'DMA_FAULT' });
        return ram.subarray(s.addr, s.addr + s.len);
      });
      return { type: 'dmaReadReply', data: Uint8Array.from(parts.flatMap((p) => Array.from(p))) };
    });
    const r = await dm.request({ type: 'dmaRead', segments: [{ addr: 0x10, len: 2 }, { addr: 0x20, len: 1 }] });
    expect(Array.from(r.data)).toEqual([0x10, 0x11, 0x20]);
    const err = await rejection(dm.request({ type: 'dmaRead', segments: [{ addr: 0xfff0, len: 0x20 }] }));
    expect(err.code).toBe('DMA_FAULT');
    expect(err.message).toMatch(/outside guest RAM/);
    expect(dm.isOpen).toBe(true); // an error reply does not close the connection
  });

  it('turns handler errors into error replies: typed codes pass through, anything else is INTERNAL', async () => {
    const logged: string[] = [];
    const [a, b] = createMemoryPair();
    const vmm = new Peer(a, { side: 'vmm', log: quiet });
    const dm = new Peer(b, { side: 'dm', accept: { features: [], name: 'x' }, log: (_l, m) => logged.push(m) });
    await vmm.handshake([]);
    dm.onRequest((req) => {
      if (req.type === 'configure') throw new ProtocolError('CONFIG', 'no such disk: /nope');
      if (req.type === 'mmioRead') return Promise.reject(new TypeError('oops'));
      return { type: 'ok' };
    });
    expect(await rejection(vmm.request({ type: 'configure', clock: 'host', devices: [] }))).toMatchObject({ code: 'CONFIG', message: 'no such disk: /nope' });
    expect(await rejection(vmm.request({ type: 'mmioRead', addr: 0, size: 1 }))).toMatchObject({ code: 'INTERNAL', message: 'oops' });
    expect(logged.some((m) => m.includes('oops'))).toBe(true);
  });

  it('answers a handler that returns the wrong reply type with INTERNAL', async () => {
    const { vmm, dm } = await openPeers();
    dm.onRequest(() => ({ type: 'ok' }));
    expect((await rejection(vmm.request({ type: 'pioRead', port: 0x60, size: 1, count: 1 }))).code).toBe('INTERNAL');
  });

  it('answers UNSUPPORTED when no handler is installed, and answers ping itself', async () => {
    const { vmm, dm } = await openPeers();
    expect((await rejection(vmm.request({ type: 'mmioRead', addr: 0, size: 4 }))).code).toBe('UNSUPPORTED');
    expect((await vmm.request({ type: 'ping' })).type).toBe('ok');
    expect((await dm.request({ type: 'ping' })).type).toBe('ok');
  });

  it('refuses to send a message in the wrong direction', async () => {
    const { vmm, dm } = await openPeers();
    expect((await rejection(vmm.request({ type: 'dmaRead', segments: [{ addr: 0, len: 1 }] }))).code).toBe('BAD_DIRECTION');
    expect(() => dm.post({ type: 'doorbell', doorbell: 0, value: 0 })).toThrow(/vmm side/);
  });

  it('times a request out with TIMEOUT and ignores its late reply', async () => {
    const { vmm, dm } = await openPeers();
    let release: () => void = () => undefined;
    dm.onRequest(async (req) => {
      if (req.type === 'mmioRead') await new Promise<void>((r) => (release = r));
      return req.type === 'mmioRead' ? { type: 'mmioReadReply', value: 1 } : { type: 'ok' };
    });
    const err = await rejection(vmm.request({ type: 'mmioRead', addr: 0, size: 4 }, { timeoutMs: 30 }));
    expect(err.code).toBe('TIMEOUT');
    release();
    // the late reply arrives, is counted and dropped; the connection is still usable
    expect((await vmm.request({ type: 'ping' })).type).toBe('ok');
    expect(vmm.stats.lateReplies).toBe(1);
    expect(vmm.isOpen).toBe(true);
  });

  it('rejects outstanding requests with CLOSED when the connection closes', async () => {
    const { vmm, dm } = await openPeers();
    dm.onRequest(() => new Promise<never>(() => undefined));
    const closes: CloseReason[] = [];
    vmm.onClose((r) => closes.push(r));
    const pending = [vmm.request({ type: 'mmioRead', addr: 0, size: 4 }), vmm.request({ type: 'pioRead', port: 0x60, size: 1, count: 1 })];
    setTimeout(() => dm.close(), 10);
    for (const p of pending) expect((await rejection(p)).code).toBe('CLOSED');
    expect(closes).toHaveLength(1);
    expect((await rejection(vmm.request({ type: 'ping' }))).code).toBe('CLOSED');
  });

  it('local close rejects outstanding requests too', async () => {
    const { vmm, dm } = await openPeers();
    dm.onRequest(() => new Promise<never>(() => undefined));
    const p = vmm.request({ type: 'mmioRead', addr: 0, size: 4 });
    vmm.close();
    expect((await rejection(p)).code).toBe('CLOSED');
  });

  it('shutdown is answered with ok, then both sides close', async () => {
    const { vmm, dm } = await openPeers();
    dm.onRequest(() => ({ type: 'ok' }));
    const dmClosed = new Promise<CloseReason>((r) => dm.onClose(r));
    const vmmClosed = new Promise<CloseReason>((r) => vmm.onClose(r));
    expect((await vmm.request({ type: 'shutdown' })).type).toBe('ok');
    expect((await dmClosed).code).toBe('CLOSED');
    expect((await vmmClosed).code).toBe('CLOSED');
  });
});

describe('Peer posted messages and ordering', () => {
  it('delivers posted messages both ways', async () => {
    const { vmm, dm } = await openPeers();
    const atDm: Posted[] = [];
    const atVmm: Posted[] = [];
    dm.onPosted((m) => void atDm.push(m));
    vmm.onPosted((m) => void atVmm.push(m));
    vmm.post({ type: 'doorbell', doorbell: 3, value: 0 });
    vmm.post({ type: 'clock', nowNs: 1_000_000 });
    dm.post({ type: 'irq', line: 5, level: true });
    dm.post({ type: 'deadline', ns: -1 });
    dm.post({ type: 'event', kind: 'exit', code: 0x31 });
    await vmm.request({ type: 'ping' });
    await dm.request({ type: 'ping' });
    expect(atDm).toEqual([{ type: 'doorbell', doorbell: 3, value: 0 }, { type: 'clock', nowNs: 1_000_000 }]);
    expect(atVmm).toEqual([{ type: 'irq', line: 5, level: true }, { type: 'deadline', ns: -1 }, { type: 'event', kind: 'exit', code: 0x31 }]);
  });

  it('an irq posted before a reply is handled before the request resolves', async () => {
    const { vmm, dm } = await openPeers();
    const order: string[] = [];
    dm.onRequest(() => {
      dm.post({ type: 'irq', line: 4, level: true }); // the device raises its line while handling the write
      return { type: 'ok' };
    });
    vmm.onPosted((m) => void order.push(m.type));
    await vmm.request({ type: 'pioWrite', port: 0x3f9, size: 1, data: new Uint8Array([1]) });
    order.push('reply');
    expect(order).toEqual(['irq', 'reply']);
  });

  it('flushes coalesced writes (beforeRequest) ahead of the next synchronous message or doorbell', async () => {
    const { vmm, dm } = await openPeers();
    const order: string[] = [];
    let queued: { addr: number; value: number }[] = [];
    vmm.beforeRequest(() => {
      if (queued.length === 0) return;
      vmm.post({ type: 'coalesced', writes: queued.map((w) => ({ space: 'pio', addr: w.addr, size: 1, value: w.value })) });
      queued = [];
    });
    dm.onPosted((m) => void order.push(m.type === 'coalesced' ? `coalesced:${m.writes.map((w) => w.value).join(',')}` : m.type));
    dm.onRequest((r) => {
      order.push(r.type);
      return { type: 'pioReadReply', data: new Uint8Array([0]) };
    });
    queued.push({ addr: 0x80, value: 1 }, { addr: 0x80, value: 2 });
    await vmm.request({ type: 'pioRead', port: 0x60, size: 1, count: 1 });
    queued.push({ addr: 0x80, value: 3 });
    vmm.post({ type: 'doorbell', doorbell: 0, value: 0 });
    await vmm.request({ type: 'pioRead', port: 0x60, size: 1, count: 1 });
    expect(order).toEqual(['coalesced:1,2', 'pioRead', 'coalesced:3', 'doorbell', 'pioRead']);
  });

  it('handles messages in arrival order even when a handler is asynchronous and does DMA', async () => {
    const { vmm, dm } = await openPeers();
    const order: string[] = [];
    vmm.onRequest((req) => {
      order.push(`vmm:${req.type}`);
      return { type: 'dmaReadReply', data: new Uint8Array(16) };
    });
    dm.onPosted(async (m) => {
      order.push(`dm:${m.type}:start`);
      await dm.request({ type: 'dmaRead', segments: [{ addr: 0x1000, len: 16 }] }); // a virtio queue walk
      order.push(`dm:${m.type}:end`);
    });
    dm.onRequest((r) => {
      order.push(`dm:${r.type}`);
      return { type: 'mmioReadReply', value: 0 };
    });
    vmm.post({ type: 'doorbell', doorbell: 0, value: 0 });
    await vmm.request({ type: 'mmioRead', addr: 0xd0000060, size: 4 });
    expect(order).toEqual(['dm:doorbell:start', 'vmm:dmaRead', 'dm:doorbell:end', 'dm:mmioRead']);
  });
});

describe('Peer against garbage', () => {
  async function sendRaw(body: Uint8Array, side: 'vmm' | 'dm' = 'dm', hello = true): Promise<{ received: Message[]; reason: CloseReason; peer: Peer }> {
    const { peer, raw, received, closed } = rawAgainst(side);
    if (hello && side === 'dm') raw.send(encode(HELLO));
    raw.send(body);
    const reason = await closed;
    return { received, reason, peer };
  }

  it.each([
    ['bytes that are not msgpack', new Uint8Array([0xc1]), 'MALFORMED'],
    ['a msgpack array', encode([1, 2] as unknown as Message), 'MALFORMED'],
    ['an unknown type', encode({ type: 'format-disk', id: 7 } as unknown as Message), 'UNKNOWN_TYPE'],
    ['a bad field', encode({ type: 'pioRead', id: 2, port: 0x10000, size: 1, count: 1 } as unknown as Message), 'BAD_FIELD'],
    ['a message from the wrong side', encode({ type: 'irq', line: 1, level: true }), 'BAD_DIRECTION'],
    ['a reply to nothing', encode({ type: 'ok', reply: 99 }), 'UNEXPECTED'],
  ])('%s: abort %s, close, stay alive', async (_name, body, code) => {
    const { received, peer } = await sendRaw(body);
    expect(received.at(-1)).toMatchObject({ type: 'abort', code });
    expect(peer.closeReason?.code).toBe(code);
  });

  it('a reply of the wrong type for the request is UNEXPECTED', async () => {
    const { peer, raw, received, closed } = rawAgainst('vmm');
    raw.onMessage((body) => {
      const m = parseMessage(decode(body));
      if (m.type === 'hello') raw.send(encode({ type: 'ok', reply: m.id }));
    });
    expect((await rejection(peer.handshake([]))).code).toBe('UNEXPECTED');
    await closed;
    expect(received.at(-1)).toMatchObject({ type: 'abort', code: 'UNEXPECTED' });
  });

  it('an abort from the peer closes with its code and rejects outstanding requests', async () => {
    const { vmm, dm } = await openPeers();
    dm.onRequest(() => new Promise<never>(() => undefined));
    const p = vmm.request({ type: 'mmioRead', addr: 0, size: 4 });
    setTimeout(() => dm.abort('CONFIG', 'backend died'), 5);
    const err = await rejection(p);
    expect(err.code).toBe('CLOSED');
    expect(err.message).toMatch(/CONFIG: backend died/);
    expect(vmm.closeReason).toEqual({ code: 'CONFIG', message: 'backend died' });
  });

  it('an oversized frame is refused by the receiver with TOO_LARGE', async () => {
    const { vmm, dm } = await openPeers({ dm: 1024 });
    dm.onRequest(() => ({ type: 'ok' }));
    const p = vmm.request({ type: 'pioWrite', port: 0x1f0, size: 2, data: new Uint8Array(2048) });
    expect((await rejection(p)).code).toBe('CLOSED');
    expect(vmm.closeReason?.code).toBe('TOO_LARGE');
    expect(dm.closeReason?.code).toBe('TOO_LARGE');
  });

  it('a sender refuses to send a frame over its own limit without closing', async () => {
    const { vmm } = await openPeers({ vmm: 256 });
    expect((await rejection(vmm.request({ type: 'pioWrite', port: 0x1f0, size: 2, data: new Uint8Array(512) }))).code).toBe('TOO_LARGE');
    expect(vmm.isOpen).toBe(true);
  });
});
