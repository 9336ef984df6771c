import { afterEach, describe, expect, it } from 'vitest';
import { createNetBackend } from '../../backends/net/create-net-backend.js';
import { LoopbackNetBackend } from '../../backends/net/loopback.js';
import type { NetBackend } from '../../backends/net/net-backend.js';
import { startHub, type NetHub } from '../../backends/net/net-hub.js';
import { featureBit } from './features.js';
import { VIRTIO_MMIO, VirtioMmioTransport } from './mmio-transport.js';
import { parseMac, VIRTIO_NET_CONFIG, VIRTIO_NET_F, VIRTIO_NET_HDR, VIRTIO_NET_QUEUE, VIRTIO_NET_S, VirtioNet } from './net.js';
import { FakeIrqLine } from '../../bus/fake-irq-line.js';
import { GuestAllocator, GuestMemory } from './testing/guest-memory.js';
import { VirtioMmioDriver } from './testing/mmio-driver.js';
import type { VirtqueueDriver } from './testing/virtqueue-driver.js';

const RX_BUF = VIRTIO_NET_HDR.SIZE + 1514;

/** A guest with a virtio-net driver: rx buffers posted, a send() and a received() helper. */
function guest(backend: NetBackend, mac: string) {
  const mem = new GuestMemory(1 << 20);
  const alloc = new GuestAllocator(mem, 0x1000);
  const net = new VirtioNet(backend, { mac, queueSize: 16, log: () => {} });
  const irq = new FakeIrqLine();
  const transport = new VirtioMmioTransport({ device: net, dma: mem, irq, log: () => {} });
  const driver = new VirtioMmioDriver(transport, alloc);
  const [rx, tx] = driver.init(2) as [VirtqueueDriver, VirtqueueDriver];
  const rxBufs = new Map<number, number>();
  const postRx = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const addr = rx.buffer(RX_BUF);
      rxBufs.set(rx.addChain([{ addr, len: RX_BUF, write: true }]), addr);
    }
    await driver.kick(VIRTIO_NET_QUEUE.RECEIVEQ, rx);
  };
  const send = async (frame: Uint8Array) => {
    const hdr = tx.buffer(VIRTIO_NET_HDR.SIZE);
    const body = tx.buffer(frame.length, frame);
    tx.addChain([
      { addr: hdr, len: VIRTIO_NET_HDR.SIZE, write: false },
      { addr: body, len: frame.length, write: false },
    ]);
    await driver.kick(VIRTIO_NET_QUEUE.TRANSMITQ, tx);
    return tx.takeUsed();
  };
  const received = () =>
    rx.takeUsed().map((u) => {
      const addr = rxBufs.get(u.id) ?? -1;
      return { numBuffers: mem.u16(addr + VIRTIO_NET_HDR.NUM_BUFFERS), frame: mem.slice(addr + VIRTIO_NET_HDR.SIZE, u.len - VIRTIO_NET_HDR.SIZE) };
    });
  return { mem, net, irq, transport, driver, rx, tx, postRx, send, received };
}

function frame(dst: Uint8Array, src: Uint8Array, payload: string): Uint8Array {
  const body = new TextEncoder().encode(payload);
  const f = new Uint8Array(14 + body.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5; // local experimental EtherType
  f.set(body, 14);
  return f;
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('virtio-net', () => {
  it('exposes the MAC and link-up status in config, with MAC and STATUS offered', () => {
    const g = guest(new LoopbackNetBackend(), '52:54:00:ab:cd:ef');
    expect(g.driver.readl(VIRTIO_MMIO.DEVICE_ID)).toBe(1);
    const mac = [0, 1, 2, 3, 4, 5].map((i) => g.driver.readConfig(VIRTIO_NET_CONFIG.MAC + i, 1));
    expect(mac).toEqual([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
    expect(g.driver.readConfig(VIRTIO_NET_CONFIG.STATUS, 2)).toBe(VIRTIO_NET_S.LINK_UP);
    expect(g.transport.offeredFeatures & featureBit(VIRTIO_NET_F.MAC)).not.toBe(0n);
    expect(g.transport.offeredFeatures & featureBit(VIRTIO_NET_F.STATUS)).not.toBe(0n);
    expect(g.transport.offeredFeatures & featureBit(VIRTIO_NET_F.MRG_RXBUF)).toBe(0n);
    expect(() => parseMac('52:54:00:zz:00:00')).toThrow(/invalid MAC/);
  });

  it('loops a transmitted frame back into a receive buffer with a virtio_net_hdr_v1', async () => {
    const loop = new LoopbackNetBackend();
    const g = guest(loop, '52:54:00:00:00:01');
    await g.postRx(4);
    const f = frame(new Uint8Array(6).fill(0xff), g.net.mac, 'ping over loopback');
    expect(await g.send(f)).toEqual([{ id: 0, len: 0 }]);
    await waitFor(() => g.net.stats.rxFrames === 1);
    await g.transport.whenIdle();
    const got = g.received();
    expect(got.length).toBe(1);
    expect(got[0]?.numBuffers).toBe(1);
    expect(Array.from(got[0]?.frame ?? [])).toEqual(Array.from(f));
    expect(g.irq.level).toBe(true);
  });

  it('queues received frames until receive buffers are posted, and drops runt transmits', async () => {
    const loop = new LoopbackNetBackend();
    const g = guest(loop, '52:54:00:00:00:02');
    const f = frame(new Uint8Array(6).fill(0xff), g.net.mac, 'early');
    await g.send(f);
    await waitFor(() => loop.frames === 1);
    await g.transport.whenIdle();
    expect(g.net.stats.rxFrames).toBe(0);
    await g.postRx(1);
    expect(g.received().map((r) => Array.from(r.frame))).toEqual([Array.from(f)]);
    await g.send(new Uint8Array(4)); // shorter than an Ethernet header
    expect(g.net.stats.txErrors).toBe(1);
    expect(g.net.stats.txFrames).toBe(1);
  });
});

describe('virtio-net through a real WebSocket hub', () => {
  let hub: NetHub | null = null;
  const backends: NetBackend[] = [];
  afterEach(async () => {
    for (const b of backends.splice(0)) await b.close();
    await hub?.close();
    hub = null;
  });

  it('two guests exchange frames in both directions', async () => {
    hub = await startHub(0);
    const url = `hub:ws://127.0.0.1:${hub.port}`;
    const ba = await createNetBackend(url);
    const bb = await createNetBackend(url);
    backends.push(ba, bb);
    await waitFor(() => hub?.clientCount() === 2);
    const a = guest(ba, '52:54:00:00:00:0a');
    const b = guest(bb, '52:54:00:00:00:0b');
    await a.postRx(4);
    await b.postRx(4);

    const toB = frame(b.net.mac, a.net.mac, 'hello from A');
    await a.send(toB);
    await waitFor(() => b.net.stats.rxFrames === 1);
    await b.transport.whenIdle();
    expect(b.received().map((r) => Array.from(r.frame))).toEqual([Array.from(toB)]);

    const toA = frame(a.net.mac, b.net.mac, 'and back from B');
    await b.send(toA);
    await waitFor(() => a.net.stats.rxFrames === 1);
    await a.transport.whenIdle();
    expect(a.received().map((r) => Array.from(r.frame))).toEqual([Array.from(toA)]);
    // A hub does not echo a frame to its sender.
    expect(a.net.stats.rxFrames).toBe(1);
    expect(b.net.stats.rxFrames).toBe(1);
    expect(hub.stats.frames).toBe(2);
  });
});
