import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createNetBackend } from './create-net-backend.js';
import { HubNetBackend } from './hub-backend.js';
import { LoopbackNetBackend } from './loopback.js';
import { NET_BACKEND_ERROR, NetBackendError, type NetBackend } from './net-backend.js';
import { startHub, type NetHub } from './net-hub.js';

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function collect(b: NetBackend): number[][] {
  const got: number[][] = [];
  b.onFrame((f) => got.push(Array.from(f)));
  return got;
}

const frame = (tag: number) => new Uint8Array(60).fill(tag);

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(NetBackendError);
  return (e as NetBackendError).code;
}

describe('loopback net backend', () => {
  it('returns every frame sent, asynchronously, as a copy; nothing after close', async () => {
    const loop = new LoopbackNetBackend();
    const got = collect(loop);
    const f = frame(1);
    loop.send(f);
    f.fill(9); // the sender reusing its buffer must not change what comes back
    expect(got).toEqual([]);
    await waitFor(() => got.length === 1);
    expect(got[0]).toEqual(Array.from(frame(1)));
    await loop.close();
    loop.send(frame(2));
    await new Promise((r) => setTimeout(r, 20));
    expect(got.length).toBe(1);
  });
});

describe('WebSocket net hub', () => {
  let hub: NetHub | null = null;
  const open: NetBackend[] = [];
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
    await hub?.close();
    hub = null;
  });

  it('forwards each frame to every other client, not back to the sender', async () => {
    hub = await startHub(0);
    const url = `ws://127.0.0.1:${hub.port}`;
    const [a, b, c] = await Promise.all([HubNetBackend.connect(url), HubNetBackend.connect(url), HubNetBackend.connect(url)]);
    open.push(a, b, c);
    await waitFor(() => hub?.clientCount() === 3);
    const [ga, gb, gc] = [collect(a), collect(b), collect(c)];
    a.send(frame(0xa));
    c.send(frame(0xc));
    await waitFor(() => gb.length === 2 && ga.length === 1 && gc.length === 1);
    expect(ga).toEqual([Array.from(frame(0xc))]);
    expect(gc).toEqual([Array.from(frame(0xa))]);
    expect(gb.map((f) => f[0]).sort()).toEqual([0xa, 0xc]);
    expect(hub.stats.frames).toBe(2);
  });

  it('ignores text messages and runts, and survives a client going away', async () => {
    hub = await startHub(0);
    const url = `ws://127.0.0.1:${hub.port}`;
    const b = await HubNetBackend.connect(url);
    open.push(b);
    const got = collect(b);
    const raw = new WebSocket(url);
    await new Promise((r) => raw.once('open', r));
    await waitFor(() => hub?.clientCount() === 2);
    raw.send('not a frame');
    raw.send(new Uint8Array(5), { binary: true });
    raw.send(frame(7), { binary: true });
    await waitFor(() => got.length === 1);
    expect(got[0]?.[0]).toBe(7);
    raw.terminate();
    await waitFor(() => hub?.clientCount() === 1);
    expect(hub.stats.frames).toBe(1);
  });

  it('reports a port in use as NET_HUB_LISTEN_FAILED', async () => {
    hub = await startHub(0);
    expect(await codeOf(startHub(hub.port))).toBe(NET_BACKEND_ERROR.HUB_LISTEN_FAILED);
  });

  it('a hub backend drops frames once the hub is gone', async () => {
    hub = await startHub(0);
    const b = await HubNetBackend.connect(`ws://127.0.0.1:${hub.port}`);
    open.push(b);
    await hub.close();
    hub = null;
    await waitFor(() => {
      b.send(frame(1));
      return b.dropped > 0;
    });
  });
});

describe('createNetBackend', () => {
  it('builds loopback and hub backends', async () => {
    const hub = await startHub(0);
    try {
      const loop = await createNetBackend('loopback');
      expect(loop).toBeInstanceOf(LoopbackNetBackend);
      const h = await createNetBackend(`hub:ws://127.0.0.1:${hub.port}`);
      expect(h).toBeInstanceOf(HubNetBackend);
      await h.close();
    } finally {
      await hub.close();
    }
  });

  it('rejects bad specs with NET_BAD_SPEC and a message naming the accepted forms', async () => {
    for (const spec of ['tap0', 'hub:', 'hub:http://127.0.0.1:1', 'hub:ws://127.0.0.1', '']) {
      expect(await codeOf(createNetBackend(spec))).toBe(NET_BACKEND_ERROR.BAD_SPEC);
    }
    await expect(createNetBackend('tap0')).rejects.toThrow(/loopback, hub:ws:\/\/HOST:PORT/);
  });

  it('reports an unreachable hub as NET_HUB_UNREACHABLE', async () => {
    const hub = await startHub(0);
    const port = hub.port;
    await hub.close(); // the port is now (very likely) closed
    expect(await codeOf(createNetBackend(`hub:ws://127.0.0.1:${port}`))).toBe(NET_BACKEND_ERROR.HUB_UNREACHABLE);
  });
});
