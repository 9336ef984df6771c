import { describe, expect, it } from 'vitest';
import { VIRTIO_CONSOLE_CONFIG, VIRTIO_CONSOLE_QUEUE, VirtioConsole } from './console.js';
import { VIRTIO_MMIO, VirtioMmioTransport } from './mmio-transport.js';
import { FakeCharBackend } from './testing/fake-char-backend.js';
import { FakeIrqLine } from '../../bus/fake-irq-line.js';
import { GuestAllocator, GuestMemory } from './testing/guest-memory.js';
import { VirtioMmioDriver } from './testing/mmio-driver.js';

function setup() {
  const mem = new GuestMemory(1 << 20);
  const alloc = new GuestAllocator(mem, 0x1000);
  const backend = new FakeCharBackend();
  const console_ = new VirtioConsole(backend, { maxPendingInput: 16 });
  const irq = new FakeIrqLine();
  const transport = new VirtioMmioTransport({ device: console_, dma: mem, irq, log: () => {} });
  const driver = new VirtioMmioDriver(transport, alloc);
  return { mem, backend, console: console_, irq, transport, driver };
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe('virtio-console', () => {
  it('is device 3 with one port and two queues', () => {
    const { driver } = setup();
    expect(driver.readl(VIRTIO_MMIO.DEVICE_ID)).toBe(3);
    expect(driver.readConfig(VIRTIO_CONSOLE_CONFIG.MAX_NR_PORTS, 4)).toBe(1);
    driver.writel(VIRTIO_MMIO.QUEUE_SEL, 2);
    expect(driver.readl(VIRTIO_MMIO.QUEUE_NUM_MAX)).toBe(0);
  });

  it('sends transmitq buffers to the backend in order', async () => {
    const { driver, backend } = setup();
    const [, tx] = driver.init(2);
    if (!tx) throw new Error('no tx');
    for (const s of ['Hello, ', 'virtio ', 'console\n']) {
      tx.addChain([{ addr: tx.buffer(s.length, enc(s)), len: s.length, write: false }]);
    }
    await driver.kick(VIRTIO_CONSOLE_QUEUE.TRANSMITQ, tx);
    expect(backend.text).toBe('Hello, virtio console\n');
    expect(tx.takeUsed().map((u) => u.len)).toEqual([0, 0, 0]);
  });

  it('holds input until the guest posts receive buffers, then fills them', async () => {
    const { driver, backend, mem, transport, irq } = setup();
    backend.type('early'); // before the driver exists
    const [rx] = driver.init(2);
    if (!rx) throw new Error('no rx');
    await transport.whenIdle();
    expect(irq.level).toBe(false); // nothing to put it in yet
    const bufs = [rx.buffer(4), rx.buffer(4), rx.buffer(4)];
    for (const b of bufs) rx.addChain([{ addr: b, len: 4, write: true }]);
    await driver.kick(VIRTIO_CONSOLE_QUEUE.RECEIVEQ, rx);
    const used = rx.takeUsed();
    expect(used.map((u) => u.len)).toEqual([4, 1]);
    expect(dec(mem.slice(bufs[0] ?? 0, 4)) + dec(mem.slice(bufs[1] ?? 0, 1))).toBe('early');
    expect(irq.level).toBe(true);
    driver.ackInterrupt();
    // Later input goes straight into the buffer still posted.
    backend.type('!');
    await transport.whenIdle();
    expect(rx.takeUsed()).toEqual([{ id: 2, len: 1 }]);
    expect(dec(mem.slice(bufs[2] ?? 0, 1))).toBe('!');
    expect(irq.level).toBe(true);
  });

  it('drops input beyond the pending limit and counts it', () => {
    const { backend, console: c } = setup();
    backend.type('0123456789abcdefXYZ');
    expect(c.stats.droppedInput).toBe(3);
  });

  it('prints an emergency write through config space', () => {
    const { driver, backend } = setup();
    driver.init(2);
    driver.device.write(VIRTIO_MMIO.CONFIG + VIRTIO_CONSOLE_CONFIG.EMERG_WR, 4, 0x41);
    expect(backend.text).toBe('A');
  });
});
