import { describe, expect, it } from 'vitest';
import { VIRTIO_MMIO, VirtioMmioTransport } from './mmio-transport.js';
import { cryptoEntropy, entropyFromSpec, seededEntropy, VirtioRng } from './rng.js';
import { FakeIrqLine } from '../../bus/fake-irq-line.js';
import { GuestAllocator, GuestMemory } from './testing/guest-memory.js';
import { VirtioMmioDriver } from './testing/mmio-driver.js';

function setup(rng: VirtioRng) {
  const mem = new GuestMemory(1 << 20);
  const alloc = new GuestAllocator(mem, 0x1000);
  const transport = new VirtioMmioTransport({ device: rng, dma: mem, irq: new FakeIrqLine(), log: () => {} });
  const driver = new VirtioMmioDriver(transport, alloc);
  const [vq] = driver.init(1);
  if (!vq) throw new Error('no queue');
  return { mem, driver, vq };
}

describe('virtio-rng', () => {
  it('fills device-writable buffers from the injected source', async () => {
    let counter = 0;
    const rng = new VirtioRng({ source: (b) => b.forEach((_, i) => (b[i] = counter++ & 0xff)) });
    const { mem, driver, vq } = setup(rng);
    expect(driver.readl(VIRTIO_MMIO.DEVICE_ID)).toBe(4);
    const a = vq.buffer(8);
    const b1 = vq.buffer(3);
    const b2 = vq.buffer(5);
    vq.addChain([{ addr: a, len: 8, write: true }]);
    vq.addChain([
      { addr: b1, len: 3, write: true },
      { addr: b2, len: 5, write: true },
    ]);
    await driver.kick(0, vq);
    expect(vq.takeUsed()).toEqual([
      { id: 0, len: 8 },
      { id: 1, len: 8 },
    ]);
    expect(Array.from(mem.slice(a, 8))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(mem.slice(b1, 3))).toEqual([8, 9, 10]);
    expect(Array.from(mem.slice(b2, 5))).toEqual([11, 12, 13, 14, 15]);
    expect(rng.bytesServed).toBe(16);
  });

  it('uses node:crypto by default and caps each request', async () => {
    const rng = new VirtioRng({ maxRequestBytes: 64 });
    const { mem, driver, vq } = setup(rng);
    const a = vq.buffer(256);
    vq.addChain([{ addr: a, len: 256, write: true }]);
    await driver.kick(0, vq);
    expect(vq.takeUsed()).toEqual([{ id: 0, len: 64 }]);
    const got = mem.slice(a, 64);
    expect(new Set(got).size).toBeGreaterThan(16); // 64 random bytes are not mostly equal
    expect(Array.from(mem.slice(a + 64, 192)).every((x) => x === 0)).toBe(true);
  });

  it('seed:N gives the same bytes for the same seed however the reads are split, and others for another seed', () => {
    const whole = new Uint8Array(64);
    seededEntropy(7)(whole);
    const split = seededEntropy(7);
    const parts = [new Uint8Array(16), new Uint8Array(48)];
    parts.forEach((p) => split(p));
    expect(Buffer.concat(parts)).toEqual(Buffer.from(whole));
    const other = new Uint8Array(64);
    seededEntropy(8)(other);
    expect(Buffer.from(other).equals(Buffer.from(whole))).toBe(false);
    // not a constant or short cycle: every byte value shows up in 4 KiB
    const big = new Uint8Array(4096);
    seededEntropy(0)(big);
    expect(new Set(big).size).toBe(256);
  });

  it('entropyFromSpec: crypto (or empty), seed:N, and null for anything else', () => {
    expect(entropyFromSpec('crypto')).toBe(cryptoEntropy);
    expect(entropyFromSpec('')).toBe(cryptoEntropy);
    expect(entropyFromSpec('seed:0')).toBeTypeOf('function');
    expect(entropyFromSpec('seed:4294967295')).toBeTypeOf('function');
    for (const bad of ['seed:', 'seed:-1', 'seed:4294967296', 'seed:1x', 'urandom']) expect(entropyFromSpec(bad)).toBeNull();
  });
});
