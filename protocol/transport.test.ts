/**
 * Transports in one process over real sockets: setup errors, stale-socket replacement, write
 * coalescing, size limits, ordering.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransportError } from './errors.js';
import { FrameDecoder } from './framing.js';
import { connect, listen, type CloseReason, type Listener, type Transport } from './transport.js';

let dir: string;
const cleanups: (() => Promise<void> | void)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tskvm-transport-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TransportError);
    return e as TransportError;
  }
  throw new Error('expected a failure');
}

/** Listen, connect, and return both ends; each end may have its own maximum frame size. */
async function pair(address: string, limits: { server?: number; client?: number } = {}): Promise<{ client: Transport; server: Transport; listener: Listener }> {
  let accepted: (t: Transport) => void = () => undefined;
  const serverSide = new Promise<Transport>((r) => (accepted = r));
  const listener = await listen(address, (t) => accepted(t), limits.server !== undefined ? { maxFrame: limits.server } : {});
  cleanups.push(() => listener.close());
  const client = await connect(listener.address, limits.client !== undefined ? { maxFrame: limits.client } : {});
  const server = await serverSide;
  cleanups.push(() => {
    client.close();
    server.close();
  });
  return { client, server, listener };
}

function collect(t: Transport): { bodies: number[][]; closed: Promise<CloseReason> } {
  const bodies: number[][] = [];
  t.onMessage((b) => bodies.push(Array.from(b)));
  return { bodies, closed: new Promise((r) => t.onClose(r)) };
}

describe('transport setup', () => {
  it('fails to connect to a missing socket with CONNECT_FAILED', async () => {
    expect((await failure(connect(`unix:${join(dir, 'none.sock')}`))).code).toBe('CONNECT_FAILED');
  });

  it('fails to connect to a closed ws port with CONNECT_FAILED', async () => {
    const l = await listen('ws://127.0.0.1:0', () => undefined);
    const address = l.address;
    await l.close();
    expect((await failure(connect(address))).code).toBe('CONNECT_FAILED');
  });

  it('rejects a bad address before touching a socket', async () => {
    expect((await failure(connect('tcp://127.0.0.1:1'))).code).toBe('BAD_ADDRESS');
    expect((await failure(listen('ws://127.0.0.1:99999', () => undefined))).code).toBe('BAD_ADDRESS');
    expect((await failure(connect('ws://127.0.0.1:0'))).code).toBe('BAD_ADDRESS');
  });

  it('replaces a stale socket file but not a live listener', async () => {
    const path = join(dir, 'dm.sock');
    // A process that dies without closing its listener leaves the socket file behind.
    execFileSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
    expect(lstatSync(path).isSocket()).toBe(true);
    const live = await listen(`unix:${path}`, () => undefined);
    cleanups.push(() => live.close());
    expect((await failure(listen(`unix:${path}`, () => undefined))).code).toBe('LISTEN_FAILED');
  });

  it('refuses to listen where a regular file is', async () => {
    const path = join(dir, 'file');
    writeFileSync(path, 'x');
    expect((await failure(listen(`unix:${path}`, () => undefined))).code).toBe('LISTEN_FAILED');
  });
});

describe.each(['unix', 'ws'] as const)('%s transport', (kind) => {
  const address = (): string => (kind === 'unix' ? `unix:${join(dir, 't.sock')}` : 'ws://127.0.0.1:0');

  it('carries frames both ways in order', async () => {
    const { client, server } = await pair(address());
    const atServer = collect(server);
    const atClient = collect(client);
    for (let i = 1; i <= 50; i++) client.send(new Uint8Array([i, i]));
    server.send(new Uint8Array(100_000).fill(7));
    await new Promise((r) => setTimeout(r, 50));
    client.close();
    await atServer.closed;
    expect(atServer.bodies).toEqual(Array.from({ length: 50 }, (_, i) => [i + 1, i + 1]));
    expect(atClient.bodies).toHaveLength(1);
    expect(atClient.bodies[0]?.length).toBe(100_000);
  });

  it('sends a frame given in parts as one frame, in order with whole ones', async () => {
    const { client, server } = await pair(address());
    const atServer = collect(server);
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    client.send(Uint8Array.of(1));
    client.sendParts([Uint8Array.of(2, 3), big, new Uint8Array(0), Uint8Array.of(4)]);
    client.sendParts([Uint8Array.of(5)]);
    await new Promise((r) => setTimeout(r, 50));
    client.close();
    await atServer.closed;
    expect(atServer.bodies.map((b) => b.length)).toEqual([1, 200_003, 1]);
    expect(atServer.bodies[1]?.slice(0, 4)).toEqual([2, 3, 0, 1]);
    expect(atServer.bodies[1]?.slice(-2)).toEqual([0x3f, 4]);
    expect(atServer.bodies[2]).toEqual([5]);
    expect(() => client.sendParts([new Uint8Array(0)])).not.toThrow(); // closed: dropped
  });

  it('reports CLOSED to the other end on an orderly close', async () => {
    const { client, server } = await pair(address());
    const atServer = collect(server);
    client.close();
    expect((await atServer.closed).code).toBe('CLOSED');
  });

  it('refuses an oversized frame with TOO_LARGE and closes', async () => {
    const { client, server } = await pair(address(), { server: 1024, client: 1 << 20 });
    const atClient = collect(client);
    server.onError((e) => server.send(new TextEncoder().encode(`refused ${e.code}`)));
    const atServer = collect(server);
    client.send(new Uint8Array(1025));
    expect((await atServer.closed).code).toBe('TOO_LARGE');
    const reason = await atClient.closed;
    if (kind === 'unix') {
      // Unix: the receiver can still write, so its last word arrives before the close.
      expect(atClient.bodies.map((b) => String.fromCharCode(...b))).toEqual(['refused TOO_LARGE']);
    } else {
      // ws: the library closes with 1009 itself; the code travels in the close status.
      expect(reason.code).toBe('TOO_LARGE');
    }
  });

  it('a sender refuses bodies over its own limit or empty', async () => {
    const { client } = await pair(address(), { client: 16 });
    expect(() => client.send(new Uint8Array(17))).toThrow(/limit 16/);
    expect(() => client.send(new Uint8Array(0))).toThrow();
    expect(client.closed).toBe(false);
  });
});

describe('unix write coalescing', () => {
  it('sends frames written in one turn in one write', async () => {
    const path = join(dir, 'raw.sock');
    const chunks: Buffer[] = [];
    const server = net.createServer((s) => s.on('data', (d: Buffer) => chunks.push(d)));
    await new Promise<void>((r) => server.listen(path, r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const t = await connect(`unix:${path}`);
    for (let i = 0; i < 100; i++) t.send(new Uint8Array([i]));
    await new Promise((r) => setTimeout(r, 50));
    t.close();
    const d = new FrameDecoder();
    for (const c of chunks) d.push(c);
    const got: number[] = [];
    for (let s = d.next(); s.kind === 'frame'; s = d.next()) got.push(s.body[0] ?? -1);
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(chunks.length).toBe(1); // 100 frames, 500 bytes, one writev
  });
});
