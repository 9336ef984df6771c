import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VIRTIO_BLK_CONFIG, VIRTIO_BLK_F, VIRTIO_BLK_S, VIRTIO_BLK_T, VirtioBlk } from './blk.js';
import { featureBit, VIRTIO_CONFIG_S } from './features.js';
import { VIRTIO_MMIO, VirtioMmioTransport } from './mmio-transport.js';
import { FakeIrqLine } from '../../bus/fake-irq-line.js';
import { RawFileBackend } from '../../backends/block/raw-file-backend.js';
import type { BlockBackend } from '../../bus/device.js';
import { GuestAllocator, GuestMemory } from './testing/guest-memory.js';
import { VirtioMmioDriver } from './testing/mmio-driver.js';
import type { VirtqueueDriver } from './testing/virtqueue-driver.js';

const SECTORS = 64;
let dir: string;
let path: string;
const opened: BlockBackend[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tskvm-blk-'));
  path = join(dir, 'disk.img');
  const image = new Uint8Array(SECTORS * 512);
  for (let i = 0; i < image.length; i++) image[i] = (i * 7 + (i >> 9)) & 0xff;
  writeFileSync(path, image);
});

afterEach(() => {
  for (const b of opened.splice(0)) b.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The real raw-file backend, counting flushes (each one an fsync). */
class FsyncCounter implements BlockBackend {
  fsyncs = 0;
  /** Backend calls as [kind, offset, length], to see which requests were merged. */
  readonly calls: [string, number, number][] = [];
  constructor(private readonly inner: BlockBackend) {}
  get size(): number {
    return this.inner.size;
  }
  get readOnly(): boolean {
    return this.inner.readOnly;
  }
  read(offset: number, length: number): Uint8Array {
    this.calls.push(['read', offset, length]);
    return this.inner.read(offset, length);
  }
  write(offset: number, data: Uint8Array): void {
    this.calls.push(['write', offset, data.length]);
    this.inner.write(offset, data);
  }
  flush(): void {
    this.inner.flush();
    this.fsyncs++;
  }
  close(): void {
    this.inner.close();
  }
}

function setup(readOnly = false) {
  const mem = new GuestMemory(1 << 20);
  const alloc = new GuestAllocator(mem, 0x1000);
  const file = new RawFileBackend(path, readOnly);
  const backend = new FsyncCounter(file);
  opened.push(backend);
  const blk = new VirtioBlk(backend, { serial: 'TSKVM-SERIAL-0001', log: () => {} });
  const irq = new FakeIrqLine();
  const transport = new VirtioMmioTransport({ device: blk, dma: mem, irq, log: () => {} });
  const driver = new VirtioMmioDriver(transport, alloc);
  const [vq] = driver.init(1);
  if (!vq) throw new Error('no queue');
  return { mem, backend, blk, irq, transport, driver, vq };
}

interface Req {
  status: number;
  data: number;
}

/** Lay out header / data / status as Linux's virtio_blk does. */
function request(vq: VirtqueueDriver, type: number, sector: number, opts: { out?: Uint8Array; inLen?: number; indirect?: boolean } = {}): Req {
  const hdr = new Uint8Array(16);
  const view = new DataView(hdr.buffer);
  view.setUint32(0, type, true);
  view.setBigUint64(8, BigInt(sector), true);
  const hdrAddr = vq.buffer(16, hdr);
  const status = vq.buffer(1, Uint8Array.of(0xff));
  const buffers = [{ addr: hdrAddr, len: 16, write: false }];
  let data = 0;
  if (opts.out) {
    data = vq.buffer(opts.out.length, opts.out);
    buffers.push({ addr: data, len: opts.out.length, write: false });
  }
  if (opts.inLen) {
    data = vq.buffer(opts.inLen);
    buffers.push({ addr: data, len: opts.inLen, write: true });
  }
  buffers.push({ addr: status, len: 1, write: true });
  vq.addChain(buffers, { indirect: opts.indirect ?? false });
  return { status, data };
}

function fileBytes(offset: number, len: number): number[] {
  return Array.from(readFileSync(path).subarray(offset, offset + len));
}

describe('virtio-blk', () => {
  it('exposes capacity, SEG_MAX, BLK_SIZE and FLUSH, and RO only for read-only disks', () => {
    const { driver, transport } = setup();
    expect(driver.readConfig(VIRTIO_BLK_CONFIG.CAPACITY, 4)).toBe(SECTORS);
    expect(driver.readConfig(VIRTIO_BLK_CONFIG.CAPACITY + 4, 4)).toBe(0);
    expect(driver.readConfig(VIRTIO_BLK_CONFIG.BLK_SIZE, 4)).toBe(512);
    expect(driver.readConfig(VIRTIO_BLK_CONFIG.SEG_MAX, 4)).toBe(1022);
    expect(driver.readl(VIRTIO_MMIO.DEVICE_ID)).toBe(2);
    const f = transport.offeredFeatures;
    expect(f & featureBit(VIRTIO_BLK_F.FLUSH)).not.toBe(0n);
    expect(f & featureBit(VIRTIO_BLK_F.RO)).toBe(0n);
    const ro = setup(true);
    expect(ro.transport.offeredFeatures & featureBit(VIRTIO_BLK_F.RO)).not.toBe(0n);
  });

  it('writes sectors to the file (OUT) and reads them back (IN, indirect), then flushes with fsync', async () => {
    const { mem, backend, driver, vq, irq } = setup();
    const payload = new Uint8Array(1024).map((_, i) => (255 - i) & 0xff);
    const w = request(vq, VIRTIO_BLK_T.OUT, 3, { out: payload });
    await driver.kick(0, vq);
    expect(vq.takeUsed()).toEqual([{ id: 0, len: 1 }]);
    expect(mem.u8(w.status)).toBe(VIRTIO_BLK_S.OK);
    expect(fileBytes(3 * 512, 1024)).toEqual(Array.from(payload));
    expect(fileBytes(2 * 512, 512)).not.toEqual(Array.from(payload.subarray(0, 512)));
    expect(irq.level).toBe(true);

    const r = request(vq, VIRTIO_BLK_T.IN, 2, { inLen: 2048, indirect: true });
    await driver.kick(0, vq);
    const [used] = vq.takeUsed();
    expect(used?.len).toBe(2049);
    expect(mem.u8(r.status)).toBe(VIRTIO_BLK_S.OK);
    expect(Array.from(mem.slice(r.data, 2048))).toEqual(fileBytes(2 * 512, 2048));

    const f = request(vq, VIRTIO_BLK_T.FLUSH, 0);
    await driver.kick(0, vq);
    expect(mem.u8(f.status)).toBe(VIRTIO_BLK_S.OK);
    expect(backend.fsyncs).toBe(1);
  });

  it('serves a batch of requests with a single interrupt', async () => {
    const { mem, driver, vq, irq, blk } = setup();
    const reqs = [0, 1, 2, 3].map((s) => request(vq, VIRTIO_BLK_T.IN, s * 10, { inLen: 512 }));
    await driver.kick(0, vq);
    expect(vq.takeUsed().length).toBe(4);
    expect(irq.risingEdges()).toBe(1);
    expect(blk.stats.reads).toBe(4);
    reqs.forEach((r, i) => expect(Array.from(mem.slice(r.data, 512))).toEqual(fileBytes(i * 10 * 512, 512)));
  });

  it('merges requests that continue each other on disk into one backend call, in ring order', async () => {
    const { mem, driver, vq, backend, blk } = setup();
    const out = (i: number) => new Uint8Array(1024).fill(0x30 + i);
    // Writes of sectors 4-5, 6-7, 8-9 (one run), then 20-21 (another), a flush, reads of 4-9.
    const w = [4, 6, 8, 20].map((s, i) => request(vq, VIRTIO_BLK_T.OUT, s, { out: out(i) }));
    const f = request(vq, VIRTIO_BLK_T.FLUSH, 0);
    const r = [4, 6, 8].map((s) => request(vq, VIRTIO_BLK_T.IN, s, { inLen: 1024 }));
    await driver.kick(0, vq);
    expect(backend.calls).toEqual([
      ['write', 4 * 512, 3 * 1024],
      ['write', 20 * 512, 1024],
      ['read', 4 * 512, 3 * 1024],
    ]);
    expect(backend.fsyncs).toBe(1);
    expect([...w, f, ...r].map((x) => mem.u8(x.status))).toEqual(new Array(8).fill(VIRTIO_BLK_S.OK));
    r.forEach((x, i) => expect(Array.from(mem.slice(x.data, 1024))).toEqual(Array.from(out(i))));
    expect(fileBytes(20 * 512, 1024)).toEqual(Array.from(out(3)));
    expect(vq.takeUsed().map((u) => u.len)).toEqual([1, 1, 1, 1, 1, 1025, 1025, 1025]);
    expect({ reads: blk.stats.reads, writes: blk.stats.writes }).toEqual({ reads: 3, writes: 4 });
  });

  it('keeps a bad request out of a merged run: it alone gets IOERR', async () => {
    const { mem, driver, vq, backend } = setup();
    const a = request(vq, VIRTIO_BLK_T.IN, SECTORS - 2, { inLen: 512 });
    const b = request(vq, VIRTIO_BLK_T.IN, SECTORS - 1, { inLen: 1024 }); // runs past the end
    const c = request(vq, VIRTIO_BLK_T.IN, 0, { inLen: 512 });
    const d = request(vq, VIRTIO_BLK_T.IN, 1, { inLen: 512 });
    await driver.kick(0, vq);
    expect([a, b, c, d].map((x) => mem.u8(x.status))).toEqual([VIRTIO_BLK_S.OK, VIRTIO_BLK_S.IOERR, VIRTIO_BLK_S.OK, VIRTIO_BLK_S.OK]);
    expect(backend.calls).toEqual([
      ['read', (SECTORS - 2) * 512, 512],
      ['read', 0, 1024],
    ]);
    expect(Array.from(mem.slice(d.data, 512))).toEqual(fileBytes(512, 512));
  });

  it('answers GET_ID with the 20-byte serial', async () => {
    const { mem, driver, vq } = setup();
    const r = request(vq, VIRTIO_BLK_T.GET_ID, 0, { inLen: 20 });
    await driver.kick(0, vq);
    expect(vq.takeUsed()[0]?.len).toBe(21);
    expect(new TextDecoder().decode(mem.slice(r.data, 17))).toBe('TSKVM-SERIAL-0001');
    expect(Array.from(mem.slice(r.data + 17, 3))).toEqual([0, 0, 0]);
    expect(mem.u8(r.status)).toBe(VIRTIO_BLK_S.OK);
  });

  it('rejects writes to a read-only disk with IOERR and leaves the file alone', async () => {
    const { mem, driver, vq, blk } = setup(true);
    const before = readFileSync(path);
    const r = request(vq, VIRTIO_BLK_T.OUT, 0, { out: new Uint8Array(512).fill(0xaa) });
    await driver.kick(0, vq);
    expect(mem.u8(r.status)).toBe(VIRTIO_BLK_S.IOERR);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(blk.stats.ioErrors).toBe(1);
  });

  it('answers out-of-range and partial-sector requests with IOERR, unknown types with UNSUPP', async () => {
    const { mem, driver, vq, transport } = setup();
    const before = readFileSync(path);
    const past = request(vq, VIRTIO_BLK_T.IN, SECTORS, { inLen: 512 });
    const straddle = request(vq, VIRTIO_BLK_T.OUT, SECTORS - 1, { out: new Uint8Array(1024) });
    const huge = request(vq, VIRTIO_BLK_T.IN, 2 ** 60, { inLen: 512 });
    const partial = request(vq, VIRTIO_BLK_T.IN, 0, { inLen: 100 });
    const odd = request(vq, 99, 0, { inLen: 512 });
    await driver.kick(0, vq);
    expect([past, straddle, huge, partial].map((r) => mem.u8(r.status))).toEqual([1, 1, 1, 1].map(() => VIRTIO_BLK_S.IOERR));
    expect(mem.u8(odd.status)).toBe(VIRTIO_BLK_S.UNSUPP);
    expect(vq.takeUsed().map((u) => u.len)).toEqual([1, 1, 1, 1, 1]);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(transport.status & VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET).toBe(0);
  });

  it('refuses a transfer larger than the per-request limit with IOERR', async () => {
    const { mem, driver, vq } = setup();
    const hdr = new Uint8Array(16); // IN, sector 0
    const h = vq.buffer(16, hdr);
    const status = vq.buffer(1, Uint8Array.of(0xff));
    const big = vq.buffer(64 * 1024);
    // The same 64 KiB buffer 80 times: 5 MiB of device-writable space.
    const buffers = [{ addr: h, len: 16, write: false }];
    for (let i = 0; i < 80; i++) buffers.push({ addr: big, len: 64 * 1024, write: true });
    buffers.push({ addr: status, len: 1, write: true });
    vq.addChain(buffers, { indirect: true });
    await driver.kick(0, vq);
    expect(mem.u8(status)).toBe(VIRTIO_BLK_S.IOERR);
  });

  it('treats a request without a status byte as a broken queue (DEVICE_NEEDS_RESET)', async () => {
    const { driver, vq, transport } = setup();
    const hdr = vq.buffer(16);
    vq.addChain([{ addr: hdr, len: 16, write: false }]);
    await driver.kick(0, vq);
    expect(transport.status & VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET).not.toBe(0);
    expect(transport.stats.queueErrors).toBe(1);
  });
});
