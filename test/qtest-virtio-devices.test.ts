/**
 * qtest of the other virtio-mmio devices in the real device-model process: virtio-console
 * (virtio 1.x §5.3) with a `unix:PATH,server` backend in both directions plus EMERG_WRITE,
 * virtio-net (§5.1) on the loopback backend (a transmitted frame comes back on the receive
 * queue with a virtio_net_hdr_v1), and virtio-rng (§5.4).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GuestMemory } from '../userspace/devices/virtio/testing/guest-memory.js';
import { CharSocket } from './qtest/char-socket.js';
import { QtestClient, QTEST_MEMORY_SIZE } from './qtest/qtest-client.js';
import { QtestVirtioDevice, VIRTIO_INT, VIRTIO_MMIO_REG as REG } from './qtest/virtio-mmio-qtest.js';

const SLOT = { BASE: 0xd000_0000, IRQ: 5 } as const;
const DEVICE_ID = { NET: 1, CONSOLE: 3, ENTROPY: 4 } as const;
const bit = (n: number): bigint => 1n << BigInt(n);
const VERSION_1 = bit(32);
/** Queue indices of port 0 / the first queue pair (§5.3.2, §5.1.2). */
const Q = { RX: 0, TX: 1 } as const;
const CONSOLE = { F_EMERG_WRITE: 2, CONFIG_MAX_NR_PORTS: 0x4, CONFIG_EMERG_WR: 0x8 } as const;
const NET = { F_MAC: 5, F_STATUS: 16, CONFIG_MAC: 0x0, CONFIG_STATUS: 0x6, S_LINK_UP: 1, HDR_SIZE: 12, HDR_NUM_BUFFERS: 10 } as const;
/** QEMU's default MAC 52:54:00:12:34:56 (userspace/devices/virtio/net.ts). */
const DEFAULT_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const ETH_MAX_FRAME = 1514;
const QUEUE_SIZE = 8;

let dir: string;
let ram: GuestMemory;
let client: QtestClient | undefined;
let sock: CharSocket | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tskvm-qtest-vdev-'));
  ram = new GuestMemory(QTEST_MEMORY_SIZE);
});
afterEach(async () => {
  sock?.close();
  sock = undefined;
  await client?.dispose();
  client = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function start(kind: 'console' | 'net' | 'rng', backend: string): Promise<QtestVirtioDevice> {
  client = await QtestClient.start({ memory: ram.bytes, devices: [{ type: 'virtio', kind, base: SLOT.BASE, irq: SLOT.IRQ, backend, options: {} }] });
  return new QtestVirtioDevice(client, ram, SLOT.BASE, SLOT.IRQ);
}

describe('virtio-console', () => {
  it('sends transmitq buffers to the backend and fills receiveq buffers with backend input', async () => {
    const path = join(dir, 'hvc0.sock');
    const dev = await start('console', `unix:${path},server`);
    sock = await CharSocket.connect(path);
    expect(await dev.readl(REG.DEVICE_ID)).toBe(DEVICE_ID.CONSOLE);
    expect(await dev.readl(REG.CONFIG + CONSOLE.CONFIG_MAX_NR_PORTS)).toBe(1);
    const [rx, tx] = await dev.initQueues(VERSION_1 | bit(CONSOLE.F_EMERG_WRITE), QUEUE_SIZE, 2);
    if (rx === undefined || tx === undefined) throw new Error('assertion: two queues');

    const text = Buffer.from('hello from virtio-console\n');
    tx.addChain([{ addr: tx.buffer(text.length, text), len: text.length, write: false }]);
    dev.kick(Q.TX, tx);
    expect(await dev.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(tx.takeUsed()).toHaveLength(1);
    expect(Buffer.from(await sock.waitForBytes(text.length)).toString()).toBe(text.toString());

    const inbuf = rx.buffer(64);
    const head = rx.addChain([{ addr: inbuf, len: 64, write: true }]);
    dev.kick(Q.RX, rx);
    await dev.client.ping();
    expect(dev.client.irq(SLOT.IRQ)).toBe(false); // nothing typed yet: the buffer stays with the device
    sock.send(Buffer.from('typed'));
    expect(await dev.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(rx.takeUsed()).toEqual([{ id: head, len: 5 }]);
    expect(Buffer.from(ram.slice(inbuf, 5)).toString()).toBe('typed');

    // EMERG_WRITE: one character through config space.
    await dev.writel(REG.CONFIG + CONSOLE.CONFIG_EMERG_WR, 0x21);
    expect([...(await sock.waitForBytes(text.length + 1))].at(-1)).toBe(0x21);
  });
});

describe('virtio-net on the loopback backend', () => {
  it('returns a transmitted frame on the receive queue behind a virtio_net_hdr_v1', async () => {
    const dev = await start('net', 'loopback');
    expect(await dev.readl(REG.DEVICE_ID)).toBe(DEVICE_ID.NET);
    const mac: number[] = [];
    for (let i = 0; i < DEFAULT_MAC.length; i++) mac.push(await dev.client.readb(SLOT.BASE + REG.CONFIG + NET.CONFIG_MAC + i));
    expect(mac).toEqual(DEFAULT_MAC);
    expect((await dev.client.readw(SLOT.BASE + REG.CONFIG + NET.CONFIG_STATUS)) & NET.S_LINK_UP).toBe(NET.S_LINK_UP);
    const [rx, tx] = await dev.initQueues(VERSION_1 | bit(NET.F_MAC) | bit(NET.F_STATUS), QUEUE_SIZE, 2);
    if (rx === undefined || tx === undefined) throw new Error('assertion: two queues');

    const rxBuf = rx.buffer(NET.HDR_SIZE + ETH_MAX_FRAME);
    const rxHead = rx.addChain([{ addr: rxBuf, len: NET.HDR_SIZE + ETH_MAX_FRAME, write: true }]);
    dev.kick(Q.RX, rx);
    // A broadcast Ethernet frame from the guest's MAC, EtherType 0x88B5 (local experimental), 60 bytes.
    const frame = new Uint8Array(60);
    frame.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...DEFAULT_MAC, 0x88, 0xb5]);
    for (let i = 14; i < frame.length; i++) frame[i] = i;
    const packet = new Uint8Array(NET.HDR_SIZE + frame.length);
    packet.set(frame, NET.HDR_SIZE);
    const txHead = tx.addChain([{ addr: tx.buffer(packet.length, packet), len: packet.length, write: false }]);
    dev.kick(Q.TX, tx);
    // The receive completion raises no new irq edge (the line is already up): poll the used rings.
    await dev.client.pollUntil(() => rx.usedIdx === 1 && tx.usedIdx === 1, 'frame looped back');
    expect(tx.takeUsed()).toEqual([{ id: txHead, len: 0 }]);
    expect(rx.takeUsed()).toEqual([{ id: rxHead, len: NET.HDR_SIZE + frame.length }]);
    expect(ram.u16(rxBuf + NET.HDR_NUM_BUFFERS)).toBe(1);
    expect([...ram.slice(rxBuf + NET.HDR_SIZE, frame.length)]).toEqual([...frame]);
    expect(dev.client.irq(SLOT.IRQ)).toBe(true);
  });
});

describe('virtio-rng', () => {
  it('fills a device-writable chain of several buffers with entropy', async () => {
    const dev = await start('rng', '');
    expect(await dev.readl(REG.DEVICE_ID)).toBe(DEVICE_ID.ENTROPY);
    const vq = await dev.init(VERSION_1, QUEUE_SIZE);
    const a = vq.buffer(100);
    const b = vq.buffer(28);
    const head = vq.addChain([
      { addr: a, len: 100, write: true },
      { addr: b, len: 28, write: true },
    ]);
    dev.kick(0, vq);
    expect(await dev.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(vq.takeUsed()).toEqual([{ id: head, len: 128 }]);
    const bytes = [...ram.slice(a, 100), ...ram.slice(b, 28)];
    // 128 random bytes: far more than 8 distinct values (all-equal output would be a failure).
    expect(new Set(bytes).size).toBeGreaterThan(8);
  });
});
