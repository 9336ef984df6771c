/**
 * qtest of virtio-mmio devices in the real device-model process (virtio 1.x §4.2 "Virtio Over
 * MMIO", §5.2 "Block Device", §5.4 "Entropy Device"; QEMU tests/qtest/virtio-blk-test.c is the
 * model): identification registers, the status handshake and feature negotiation, queue setup
 * with rings in the client's guest RAM, virtio-blk read/write/flush kicked by posted doorbell
 * messages and checked in the backing file, a malformed chain that sets DEVICE_NEEDS_RESET while
 * the process keeps serving, and DMA outside guest RAM answered with DMA_FAULT.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../protocol/messages.js';
import { GuestMemory } from '../userspace/devices/virtio/testing/guest-memory.js';
import type { VirtqueueDriver } from '../userspace/devices/virtio/testing/virtqueue-driver.js';
import { QtestClient, QTEST_MEMORY_SIZE } from './qtest/qtest-client.js';
import { QtestVirtioDevice, VIRTIO_INT, VIRTIO_MMIO_REG as REG, VIRTIO_STATUS } from './qtest/virtio-mmio-qtest.js';

/** The PC placement of virtio-mmio slots 0 and 1 (DESIGN.md "Machine"). */
const SLOT0 = { BASE: 0xd000_0000, IRQ: 5 } as const;
const SLOT1 = { BASE: 0xd000_1000, IRQ: 6 } as const;
const MAGIC = 0x7472_6976; // "virt"
const MMIO_VERSION = 2;
const DEVICE_ID = { BLOCK: 2, ENTROPY: 4 } as const;
/** Feature bits (§6 reserved bits, §5.2.3 virtio-blk). */
const F = { SEG_MAX: 2, RO: 5, BLK_SIZE: 6, FLUSH: 9, INDIRECT_DESC: 28, EVENT_IDX: 29, VERSION_1: 32, RING_PACKED: 34 } as const;
const bit = (n: number): bigint => 1n << BigInt(n);
/** virtio-blk config offsets and request constants (§5.2.4, §5.2.6). */
const BLK_CONFIG = { CAPACITY: 0x00, BLK_SIZE: 0x14 } as const;
const BLK_T = { IN: 0, OUT: 1, FLUSH: 4, GET_ID: 8 } as const;
const BLK_S = { OK: 0, IOERR: 1 } as const;
const BLK_HEADER = 16;
const SECTOR = 512;
const DISK_SECTORS = 128;
const QUEUE_SIZE = 16;
/** An address beyond the client's guest RAM. */
const OUTSIDE_RAM = QTEST_MEMORY_SIZE + 0x10_0000;
/** Features a plain split-ring driver takes. */
const BASIC = bit(F.VERSION_1) | bit(F.FLUSH) | bit(F.BLK_SIZE) | bit(F.SEG_MAX);

let dir: string;
let disk: string;
let ram: GuestMemory;
let client: QtestClient;
let blk: QtestVirtioDevice;
let rng: QtestVirtioDevice;

const original = (offset: number): number => (offset * 5 + 17) & 0xff;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tskvm-qtest-virtio-'));
  disk = join(dir, 'disk.img');
  writeFileSync(disk, Uint8Array.from({ length: DISK_SECTORS * SECTOR }, (_, i) => original(i)));
  ram = new GuestMemory(QTEST_MEMORY_SIZE);
  client = await QtestClient.start({
    memory: ram.bytes,
    devices: [
      { type: 'virtio', kind: 'blk', base: SLOT0.BASE, irq: SLOT0.IRQ, backend: disk, options: {} },
      { type: 'virtio', kind: 'rng', base: SLOT1.BASE, irq: SLOT1.IRQ, backend: '', options: {} },
    ],
  });
  blk = new QtestVirtioDevice(client, ram, SLOT0.BASE, SLOT0.IRQ);
  // The second driver allocates from its own region so the two never share buffers.
  rng = new QtestVirtioDevice(client, ram, SLOT1.BASE, SLOT1.IRQ);
  rng.allocator.alloc(0x40_0000);
});
afterEach(async () => {
  await client.dispose();
  rmSync(dir, { recursive: true, force: true });
});

interface BlkRequest {
  head: number;
  dataAddr: number;
  statusAddr: number;
}

/** Lay out one virtio-blk request (header, data, status) and add it to the ring (§5.2.6). */
function addBlkRequest(
  vq: VirtqueueDriver,
  type: number,
  sector: number,
  data: { out?: Uint8Array; inLen?: number; dataAddr?: number },
  options: { indirect?: boolean } = {},
): BlkRequest {
  const header = new Uint8Array(BLK_HEADER);
  const view = new DataView(header.buffer);
  view.setUint32(0, type, true);
  view.setBigUint64(8, BigInt(sector), true);
  const headerAddr = vq.buffer(BLK_HEADER, header);
  const statusAddr = vq.buffer(1, Uint8Array.of(0xff));
  const buffers = [{ addr: headerAddr, len: BLK_HEADER, write: false }];
  let dataAddr = -1;
  if (data.out !== undefined) {
    dataAddr = data.dataAddr ?? vq.buffer(data.out.length, data.out);
    buffers.push({ addr: dataAddr, len: data.out.length, write: false });
  } else if (data.inLen !== undefined) {
    dataAddr = data.dataAddr ?? vq.buffer(data.inLen);
    buffers.push({ addr: dataAddr, len: data.inLen, write: true });
  }
  buffers.push({ addr: statusAddr, len: 1, write: true });
  return { head: vq.addChain(buffers, options), dataAddr, statusAddr };
}

function pattern(seed: number, len: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (seed + i * 3) & 0xff);
}

function fileBytes(sector: number, len: number): number[] {
  return [...readFileSync(disk).subarray(sector * SECTOR, sector * SECTOR + len)];
}

describe('virtio-mmio registers and handshake', () => {
  it('identifies as virtio-mmio version 2 with the right device ids, and registers QueueNotify doorbells', async () => {
    expect(await blk.readl(REG.MAGIC_VALUE)).toBe(MAGIC);
    expect(await blk.readl(REG.VERSION)).toBe(MMIO_VERSION);
    expect(await blk.readl(REG.DEVICE_ID)).toBe(DEVICE_ID.BLOCK);
    expect(await rng.readl(REG.MAGIC_VALUE)).toBe(MAGIC);
    expect(await rng.readl(REG.DEVICE_ID)).toBe(DEVICE_ID.ENTROPY);
    expect(client.configuration.mmio.map((r) => [r.base, r.size])).toEqual([
      [SLOT0.BASE, 0x1000],
      [SLOT1.BASE, 0x1000],
    ]);
    expect(client.configuration.doorbells.map((d) => [d.space, d.addr, d.size, d.datamatch])).toEqual([
      ['mmio', SLOT0.BASE + REG.QUEUE_NOTIFY, 4, undefined],
      ['mmio', SLOT1.BASE + REG.QUEUE_NOTIFY, 4, undefined],
    ]);
    // virtio-blk config: capacity in 512-byte sectors, block size.
    expect(await blk.readl(REG.CONFIG + BLK_CONFIG.CAPACITY)).toBe(DISK_SECTORS);
    expect(await blk.readl(REG.CONFIG + BLK_CONFIG.CAPACITY + 4)).toBe(0);
    expect(await blk.readl(REG.CONFIG + BLK_CONFIG.BLK_SIZE)).toBe(SECTOR);
    expect(await blk.status()).toBe(0);
    expect(client.irq(SLOT0.IRQ)).toBe(false);
  });

  it('offers VERSION_1, INDIRECT_DESC, EVENT_IDX and the blk features, and refuses what it did not offer', async () => {
    const offered = await blk.deviceFeatures();
    for (const f of [F.VERSION_1, F.INDIRECT_DESC, F.EVENT_IDX, F.FLUSH, F.BLK_SIZE, F.SEG_MAX]) expect(offered & bit(f)).toBe(bit(f));
    expect(offered & bit(F.RO)).toBe(0n);
    expect(offered & bit(F.RING_PACKED)).toBe(0n);
    expect(await blk.negotiate(BASIC | bit(F.RING_PACKED))).toBe(false);
    expect(await blk.negotiate(BASIC & ~bit(F.VERSION_1))).toBe(false);
    // DRIVER_OK without FEATURES_OK is ignored.
    await blk.addStatus(VIRTIO_STATUS.DRIVER_OK);
    expect((await blk.status()) & VIRTIO_STATUS.DRIVER_OK).toBe(0);
    expect(await blk.negotiate(BASIC)).toBe(true);
    expect(await blk.status()).toBe(VIRTIO_STATUS.ACKNOWLEDGE | VIRTIO_STATUS.DRIVER | VIRTIO_STATUS.FEATURES_OK);
    await blk.writel(REG.STATUS, 0);
    expect(await blk.status()).toBe(0);
  });

  it('sets up a queue: QueueNumMax, size checks, addresses frozen once ready, reset clears it', async () => {
    expect(await blk.negotiate(BASIC)).toBe(true);
    await blk.writel(REG.QUEUE_SEL, 0);
    const max = await blk.readl(REG.QUEUE_NUM_MAX);
    expect(max).toBeGreaterThanOrEqual(QUEUE_SIZE);
    await blk.writel(REG.QUEUE_SEL, 1);
    expect(await blk.readl(REG.QUEUE_NUM_MAX)).toBe(0); // virtio-blk has one queue
    const vq = await blk.setupQueue(0, QUEUE_SIZE, false);
    expect(await blk.readl(REG.QUEUE_READY)).toBe(1);
    expect(await blk.readl(REG.QUEUE_DESC_LOW)).toBe(vq.layout.descAddr);
    expect(await blk.readl(REG.QUEUE_DRIVER_LOW)).toBe(vq.layout.availAddr);
    expect(await blk.readl(REG.QUEUE_DEVICE_LOW)).toBe(vq.layout.usedAddr);
    await blk.writel(REG.QUEUE_DESC_LOW, 0x1230); // ignored while ready
    expect(await blk.readl(REG.QUEUE_DESC_LOW)).toBe(vq.layout.descAddr);
    await blk.writel(REG.STATUS, 0);
    expect(await blk.readl(REG.QUEUE_READY)).toBe(0);
    expect(await blk.readl(REG.QUEUE_DESC_LOW)).toBe(0);
  });
});

describe('virtio-blk through doorbells', () => {
  it('writes, flushes and reads back sectors; the data is in the file; one interrupt per batch', async () => {
    const vq = await blk.init(BASIC, QUEUE_SIZE);
    const a = pattern(1, 2 * SECTOR);
    const b = pattern(99, SECTOR);
    const w1 = addBlkRequest(vq, BLK_T.OUT, 10, { out: a });
    const w2 = addBlkRequest(vq, BLK_T.OUT, 20, { out: b });
    const fl = addBlkRequest(vq, BLK_T.FLUSH, 0, {});
    const from = client.irqLog.length;
    expect(blk.kick(0, vq)).toBe(true);
    expect(await blk.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(client.irq(SLOT0.IRQ)).toBe(false);
    expect(client.irqRaises(SLOT0.IRQ, from)).toBe(1);
    expect(vq.takeUsed()).toEqual([
      { id: w1.head, len: 1 },
      { id: w2.head, len: 1 },
      { id: fl.head, len: 1 },
    ]);
    for (const r of [w1, w2, fl]) expect(ram.u8(r.statusAddr)).toBe(BLK_S.OK);
    expect(fileBytes(10, 2 * SECTOR)).toEqual([...a]);
    expect(fileBytes(20, SECTOR)).toEqual([...b]);
    expect(fileBytes(12, SECTOR)).toEqual(Array.from({ length: SECTOR }, (_, i) => original(12 * SECTOR + i)));

    const rd = addBlkRequest(vq, BLK_T.IN, 9, { inLen: 3 * SECTOR });
    blk.kick(0, vq);
    expect(await blk.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(vq.takeUsed()).toEqual([{ id: rd.head, len: 3 * SECTOR + 1 }]);
    expect(ram.u8(rd.statusAddr)).toBe(BLK_S.OK);
    const expected = [...Array.from({ length: SECTOR }, (_, i) => original(9 * SECTOR + i)), ...a];
    expect([...client.memread(rd.dataAddr, 3 * SECTOR)]).toEqual(expected);
    expect(client.dma.faults).toBe(0);
  });

  it('also serves a notify written to the QueueNotify register, and GET_ID', async () => {
    const vq = await blk.init(BASIC, QUEUE_SIZE);
    const id = addBlkRequest(vq, BLK_T.GET_ID, 0, { inLen: 20 });
    vq.publish();
    await blk.writel(REG.QUEUE_NOTIFY, 0);
    expect(await blk.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(vq.takeUsed()).toHaveLength(1);
    expect(ram.u8(id.statusAddr)).toBe(BLK_S.OK);
    expect(Buffer.from(client.memread(id.dataAddr, 20)).toString('latin1').replace(/\0+$/, '')).not.toBe('');
  });
});

describe('virtio-blk large transfers', () => {
  it('moves 2 MiB in one request through DMA requests of at most 1 MiB each (README §5.1, §9)', async () => {
    await client.dispose();
    const big = 2 * 1024 * 1024;
    const bigDisk = join(dir, 'big.img');
    writeFileSync(bigDisk, new Uint8Array(2 * big));
    client = await QtestClient.start({
      memory: ram.bytes,
      devices: [{ type: 'virtio', kind: 'blk', base: SLOT0.BASE, irq: SLOT0.IRQ, backend: bigDisk, options: {} }],
    });
    blk = new QtestVirtioDevice(client, ram, SLOT0.BASE, SLOT0.IRQ);
    const vq = await blk.init(BASIC, QUEUE_SIZE);
    const data = Uint8Array.from({ length: big }, (_, i) => (i * 7 + (i >>> 12)) & 0xff);
    const w = addBlkRequest(vq, BLK_T.OUT, 8, { out: data });
    blk.kick(0, vq);
    expect(await blk.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(vq.takeUsed()).toEqual([{ id: w.head, len: 1 }]);
    expect(ram.u8(w.statusAddr)).toBe(BLK_S.OK);
    const file = readFileSync(bigDisk);
    expect(Buffer.compare(file.subarray(8 * SECTOR, 8 * SECTOR + big), Buffer.from(data))).toBe(0);
    const r = addBlkRequest(vq, BLK_T.IN, 8, { inLen: big });
    blk.kick(0, vq);
    expect(await blk.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(vq.takeUsed()).toEqual([{ id: r.head, len: big + 1 }]);
    expect(Buffer.compare(Buffer.from(client.memread(r.dataAddr, big)), Buffer.from(data))).toBe(0);
    expect(client.dma.largestRequest).toBeLessThanOrEqual(LIMITS.DMA_BYTES_MAX);
    expect(client.dma.bytesWritten).toBeGreaterThanOrEqual(big);
  });
});

describe('read-only virtio-blk', () => {
  it('offers VIRTIO_BLK_F_RO and fails writes with IOERR, leaving the file alone', async () => {
    await client.dispose();
    client = await QtestClient.start({
      memory: ram.bytes,
      devices: [{ type: 'virtio', kind: 'blk', base: SLOT0.BASE, irq: SLOT0.IRQ, backend: disk, options: { readOnly: true } }],
    });
    blk = new QtestVirtioDevice(client, ram, SLOT0.BASE, SLOT0.IRQ);
    expect((await blk.deviceFeatures()) & bit(F.RO)).toBe(bit(F.RO));
    const vq = await blk.init(BASIC | bit(F.RO), QUEUE_SIZE);
    const w = addBlkRequest(vq, BLK_T.OUT, 1, { out: pattern(5, SECTOR) });
    const r = addBlkRequest(vq, BLK_T.IN, 1, { inLen: SECTOR });
    blk.kick(0, vq);
    expect(await blk.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(vq.takeUsed()).toHaveLength(2);
    expect(ram.u8(w.statusAddr)).toBe(BLK_S.IOERR);
    expect(ram.u8(r.statusAddr)).toBe(BLK_S.OK);
    expect([...client.memread(r.dataAddr, SECTOR)]).toEqual(Array.from({ length: SECTOR }, (_, i) => original(SECTOR + i)));
    expect(fileBytes(1, SECTOR)).toEqual(Array.from({ length: SECTOR }, (_, i) => original(SECTOR + i)));
  });
});

describe('virtio ring features', () => {
  it('serves a request laid out in an indirect descriptor table (VIRTIO_F_INDIRECT_DESC)', async () => {
    const vq = await blk.init(BASIC | bit(F.INDIRECT_DESC), QUEUE_SIZE);
    const data = pattern(42, 2 * SECTOR);
    const w = addBlkRequest(vq, BLK_T.OUT, 30, { out: data }, { indirect: true });
    const r = addBlkRequest(vq, BLK_T.IN, 30, { inLen: 2 * SECTOR }, { indirect: true });
    blk.kick(0, vq);
    expect(await blk.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(vq.takeUsed()).toEqual([
      { id: w.head, len: 1 },
      { id: r.head, len: 2 * SECTOR + 1 },
    ]);
    expect([...client.memread(r.dataAddr, 2 * SECTOR)]).toEqual([...data]);
    expect(fileBytes(30, 2 * SECTOR)).toEqual([...data]);
  });

  it('suppresses the interrupt until used.idx passes used_event, and asks for the next kick with avail_event (VIRTIO_F_EVENT_IDX)', async () => {
    const vq = await blk.init(BASIC | bit(F.EVENT_IDX), QUEUE_SIZE);
    addBlkRequest(vq, BLK_T.FLUSH, 0, {});
    expect(blk.kick(0, vq)).toBe(true);
    expect(await blk.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(vq.takeUsed()).toHaveLength(1);
    // The device wants a kick for the next entry it has not seen.
    expect(vq.availEvent).toBe(1);
    vq.setUsedEvent(5); // "interrupt me only after the 6th completion"
    const from = client.irqLog.length;
    addBlkRequest(vq, BLK_T.FLUSH, 0, {});
    expect(blk.kick(0, vq)).toBe(true);
    await client.pollUntil(() => vq.usedIdx === 2, 'second completion');
    await client.ping();
    expect(client.irqRaises(SLOT0.IRQ, from)).toBe(0);
    expect(await blk.readl(REG.INTERRUPT_STATUS)).toBe(0);
  });

  it('ignores (and logs) register accesses that are not 32-bit, without failing the request', async () => {
    expect(await client.readb(SLOT0.BASE + REG.MAGIC_VALUE)).toBe(0);
    await client.writew(SLOT0.BASE + REG.STATUS, VIRTIO_STATUS.ACKNOWLEDGE);
    expect(await blk.status()).toBe(0);
    expect(client.logs.some((l) => /ignored register access/.test(l.message))).toBe(true);
    expect(await blk.readl(REG.MAGIC_VALUE)).toBe(MAGIC);
  });
});

describe('virtio guest errors', () => {
  it('a descriptor loop sets DEVICE_NEEDS_RESET with a config interrupt; the process keeps serving', async () => {
    const vq = await blk.init(BASIC, QUEUE_SIZE);
    const buf = vq.buffer(BLK_HEADER);
    const NEXT = 1;
    vq.writeDescriptor(0, { addr: buf, len: BLK_HEADER, flags: NEXT, next: 1 });
    vq.writeDescriptor(1, { addr: buf, len: BLK_HEADER, flags: NEXT, next: 0 });
    vq.pushHead(0);
    blk.kick(0, vq);
    await client.waitForIrq(SLOT0.IRQ, true);
    expect((await blk.status()) & VIRTIO_STATUS.DEVICE_NEEDS_RESET).toBe(VIRTIO_STATUS.DEVICE_NEEDS_RESET);
    expect((await blk.readl(REG.INTERRUPT_STATUS)) & VIRTIO_INT.CONFIG).toBe(VIRTIO_INT.CONFIG);
    expect(client.logs.some((l) => l.message.includes('DEVICE_NEEDS_RESET'))).toBe(true);
    expect(client.process?.alive).toBe(true);
    await client.ping();

    // The other device is unaffected.
    const rq = await rng.init(bit(F.VERSION_1), QUEUE_SIZE);
    const out = rq.buffer(64);
    rq.addChain([{ addr: out, len: 64, write: true }]);
    rng.kick(0, rq);
    expect(await rng.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(rq.takeUsed()[0]?.len).toBe(64);
    expect(client.memread(out, 64).some((x) => x !== 0)).toBe(true);

    // The driver can neither clear the bit nor use the queue until it resets the device.
    await blk.addStatus(VIRTIO_STATUS.DRIVER_OK);
    expect((await blk.status()) & VIRTIO_STATUS.DEVICE_NEEDS_RESET).toBe(VIRTIO_STATUS.DEVICE_NEEDS_RESET);
    await blk.writel(REG.STATUS, 0);
    expect(await blk.status()).toBe(0);
    expect(client.irq(SLOT0.IRQ)).toBe(false);
    const again = new QtestVirtioDevice(client, ram, SLOT0.BASE, SLOT0.IRQ, blk.allocator);
    const vq2 = await again.init(BASIC, QUEUE_SIZE);
    const data = pattern(7, SECTOR);
    const w = addBlkRequest(vq2, BLK_T.OUT, 3, { out: data });
    again.kick(0, vq2);
    expect(await again.interrupt()).toBe(VIRTIO_INT.VRING);
    expect(vq2.takeUsed()).toEqual([{ id: w.head, len: 1 }]);
    expect(fileBytes(3, SECTOR)).toEqual([...data]);
  });

  it('a data buffer outside guest RAM gets DMA_FAULT: DEVICE_NEEDS_RESET, the disk untouched', async () => {
    const vq = await blk.init(BASIC, QUEUE_SIZE);
    addBlkRequest(vq, BLK_T.OUT, 4, { out: pattern(3, SECTOR), dataAddr: OUTSIDE_RAM });
    blk.kick(0, vq);
    await client.waitForIrq(SLOT0.IRQ, true);
    expect(client.dma.faults).toBeGreaterThan(0);
    expect((await blk.status()) & VIRTIO_STATUS.DEVICE_NEEDS_RESET).toBe(VIRTIO_STATUS.DEVICE_NEEDS_RESET);
    expect(client.logs.some((l) => l.message.includes('DMA_FAULT'))).toBe(true);
    expect(fileBytes(4, SECTOR)).toEqual(Array.from({ length: SECTOR }, (_, i) => original(4 * SECTOR + i)));
    await client.ping();
  });

  it('a VMM that vanishes while the device model waits for DMA leaves a clean exit (status 0)', async () => {
    const vq = await blk.init(BASIC, QUEUE_SIZE);
    addBlkRequest(vq, BLK_T.IN, 0, { inLen: 64 * SECTOR });
    blk.kick(0, vq);
    client.peer.close(); // right behind the doorbell: the device model's DMA requests find no VMM
    expect(await client.process?.waitForExit(10_000)).toEqual({ code: 0, signal: null });
    expect(client.process?.stderr ?? '').not.toMatch(/TypeError|RangeError|at .*\.js:\d+/);
  });

  it('rings placed outside guest RAM get DMA_FAULT on the first access, and nothing else breaks', async () => {
    expect(await rng.negotiate(bit(F.VERSION_1))).toBe(true);
    await rng.writel(REG.QUEUE_SEL, 0);
    await rng.placeQueue(QUEUE_SIZE, OUTSIDE_RAM, OUTSIDE_RAM + 0x1000, OUTSIDE_RAM + 0x2000);
    await rng.addStatus(VIRTIO_STATUS.DRIVER_OK);
    client.doorbell(rng.doorbell, 0);
    await client.waitForIrq(SLOT1.IRQ, true);
    expect(client.dma.faults).toBeGreaterThan(0);
    expect((await rng.status()) & VIRTIO_STATUS.DEVICE_NEEDS_RESET).toBe(VIRTIO_STATUS.DEVICE_NEEDS_RESET);
    expect((await rng.readl(REG.INTERRUPT_STATUS)) & VIRTIO_INT.CONFIG).toBe(VIRTIO_INT.CONFIG);
    // The blk device next to it still works.
    const vq = await blk.init(BASIC, QUEUE_SIZE);
    const rd = addBlkRequest(vq, BLK_T.IN, 0, { inLen: SECTOR });
    blk.kick(0, vq);
    expect(await blk.interrupt()).toBe(VIRTIO_INT.VRING);
    expect([...client.memread(rd.dataAddr, SECTOR)]).toEqual(Array.from({ length: SECTOR }, (_, i) => original(i)));
  });
});
