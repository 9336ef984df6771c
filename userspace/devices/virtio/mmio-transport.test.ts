import { describe, expect, it } from 'vitest';
import type { VirtioDeviceContext, VirtioDeviceModel } from './device-model.js';
import { readConfigBytes } from './device-model.js';
import { featureBit, TRANSPORT_FEATURES, VIRTIO_CONFIG_S, VIRTIO_F } from './features.js';
import {
  VIRTIO_MMIO,
  VIRTIO_MMIO_INT,
  VIRTIO_MMIO_MAGIC_VALUE,
  VirtioMmioTransport,
  virtioMmioSlot,
} from './mmio-transport.js';
import { VIRTQ_DESC_F, type SplitQueue } from './queue.js';
import { FakeIrqLine } from '../../bus/fake-irq-line.js';
import { GuestAllocator, GuestMemory } from './testing/guest-memory.js';
import { VirtioMmioDriver } from './testing/mmio-driver.js';
import type { VirtqueueDriver } from './testing/virtqueue-driver.js';

const RAM = 1 << 20;
const TEST_FEATURE = 3;

/** Copies each chain's readable bytes into its writable buffers. */
class EchoDevice implements VirtioDeviceModel {
  readonly deviceId = 42;
  readonly features = featureBit(TEST_FEATURE);
  readonly queueMaxSizes = [16, 8];
  readonly configSize = 8;
  readonly config = Uint8Array.of(0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88);
  resets = 0;
  processed = 0;
  context: VirtioDeviceContext | null = null;
  writes: Array<[number, number, number]> = [];
  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }
  writeConfig(offset: number, size: number, value: number): void {
    this.writes.push([offset, size, value]);
  }
  activate(context: VirtioDeviceContext): void {
    this.context = context;
  }
  async process(queue: SplitQueue): Promise<void> {
    for (let chain = await queue.pop(); chain; chain = await queue.pop()) {
      const data = await queue.readChain(chain);
      const n = Math.min(data.length, chain.writableLength);
      await queue.writeChain(chain, data.subarray(0, n));
      queue.addUsed(chain.head, n);
      this.processed++;
    }
  }
  reset(): void {
    this.resets++;
    this.context = null;
  }
}

function setup() {
  const mem = new GuestMemory(RAM);
  const alloc = new GuestAllocator(mem, 0x1000);
  const irq = new FakeIrqLine();
  const device = new EchoDevice();
  const logs: string[] = [];
  const transport = new VirtioMmioTransport({ device, dma: mem, irq, log: (m) => logs.push(m), name: 'echo' });
  const driver = new VirtioMmioDriver(transport, alloc);
  return { mem, alloc, irq, device, transport, driver, logs };
}

function echoRequest(vq: VirtqueueDriver, text: string): { out: number; inp: number } {
  const data = new TextEncoder().encode(text);
  const out = vq.buffer(data.length, data);
  const inp = vq.buffer(data.length);
  vq.addChain([
    { addr: out, len: data.length, write: false },
    { addr: inp, len: data.length, write: true },
  ]);
  return { out, inp };
}

describe('virtio-mmio identification registers', () => {
  it('reads magic, version 2, ids, queue sizes and config space at byte/word/dword width', () => {
    const { transport, driver } = setup();
    expect(driver.readl(VIRTIO_MMIO.MAGIC_VALUE)).toBe(VIRTIO_MMIO_MAGIC_VALUE);
    expect(driver.readl(VIRTIO_MMIO.VERSION)).toBe(2);
    expect(driver.readl(VIRTIO_MMIO.DEVICE_ID)).toBe(42);
    driver.writel(VIRTIO_MMIO.QUEUE_SEL, 1);
    expect(driver.readl(VIRTIO_MMIO.QUEUE_NUM_MAX)).toBe(8);
    driver.writel(VIRTIO_MMIO.QUEUE_SEL, 2);
    expect(driver.readl(VIRTIO_MMIO.QUEUE_NUM_MAX)).toBe(0);
    expect(transport.read(0x100, 1)).toBe(0x11);
    expect(transport.read(0x102, 2)).toBe(0x4433);
    expect(transport.read(0x104, 4)).toBe(0x88776655);
    transport.write(0x104, 2, 0xbeef);
    expect(transport.stats.badAccesses).toBe(0);
  });

  it('places device n at 0xD0000000 + n·4K with IRQs 5, 6, 7, 9, 10, 11', () => {
    expect(virtioMmioSlot(0)).toEqual({ base: 0xd0000000, irq: 5, cmdline: 'virtio_mmio.device=4K@0xd0000000:5' });
    expect(virtioMmioSlot(3).irq).toBe(9);
    expect(virtioMmioSlot(5).base).toBe(0xd0005000);
    expect(() => virtioMmioSlot(6)).toThrow();
  });

  it('ignores and counts unaligned, wrong-size and out-of-range accesses', () => {
    const { transport, device, logs } = setup();
    expect(transport.read(VIRTIO_MMIO.MAGIC_VALUE, 2)).toBe(0);
    expect(transport.read(VIRTIO_MMIO.MAGIC_VALUE + 1, 4)).toBe(0);
    expect(transport.read(VIRTIO_MMIO.QUEUE_NUM, 4)).toBe(0); // write-only register
    expect(transport.read(0x101, 2)).toBe(0); // misaligned config word
    expect(transport.read(0x106, 4)).toBe(0); // misaligned config dword
    expect(transport.read(0x108, 1)).toBe(0); // past the config space
    transport.write(VIRTIO_MMIO.STATUS, 1, 1);
    transport.write(VIRTIO_MMIO.MAGIC_VALUE, 4, 1); // read-only register
    transport.write(0x103, 2, 0);
    expect(transport.stats.badAccesses).toBe(9);
    expect(transport.status).toBe(0);
    expect(device.writes).toEqual([]);
    expect(logs.length).toBe(4); // once per kind (register, read, write, config), not per access
  });
});

describe('virtio-mmio feature negotiation', () => {
  it('offers VERSION_1, INDIRECT_DESC, EVENT_IDX and the device bits in two 32-bit words', () => {
    const { driver } = setup();
    const offered = driver.deviceFeatures();
    expect(offered).toBe(TRANSPORT_FEATURES | featureBit(TEST_FEATURE));
    for (const bit of [VIRTIO_F.VERSION_1, VIRTIO_F.INDIRECT_DESC, VIRTIO_F.EVENT_IDX]) {
      expect(offered & featureBit(bit)).not.toBe(0n);
    }
  });

  it('accepts an offered subset that includes VERSION_1', () => {
    const { driver, transport } = setup();
    const wanted = featureBit(VIRTIO_F.VERSION_1) | featureBit(TEST_FEATURE);
    expect(driver.negotiate(wanted)).toBe(true);
    expect(transport.features).toBe(wanted);
    expect(driver.status).toBe(VIRTIO_CONFIG_S.ACKNOWLEDGE | VIRTIO_CONFIG_S.DRIVER | VIRTIO_CONFIG_S.FEATURES_OK);
  });

  it('refuses FEATURES_OK for features not offered or without VERSION_1', () => {
    const { driver, transport } = setup();
    expect(driver.negotiate(featureBit(VIRTIO_F.VERSION_1) | featureBit(7))).toBe(false);
    expect(driver.negotiate(featureBit(VIRTIO_F.EVENT_IDX))).toBe(false);
    expect(transport.stats.refusedFeatures).toBe(2);
    // DRIVER_OK cannot follow a refused negotiation.
    driver.driverOk();
    expect(driver.status & VIRTIO_CONFIG_S.DRIVER_OK).toBe(0);
  });
});

describe('virtio-mmio queues', () => {
  it('accepts only power-of-two queue sizes up to the maximum', () => {
    const { driver, transport } = setup();
    driver.negotiate(TRANSPORT_FEATURES);
    driver.writel(VIRTIO_MMIO.QUEUE_SEL, 0);
    for (const bad of [0, 3, 32, 12]) driver.writel(VIRTIO_MMIO.QUEUE_NUM, bad);
    expect(transport.stats.invalidQueueConfig).toBe(4);
    driver.writel(VIRTIO_MMIO.QUEUE_NUM, 4);
    driver.writel(VIRTIO_MMIO.QUEUE_DESC_LOW, 0x2008); // not 16-aligned
    driver.writel(VIRTIO_MMIO.QUEUE_READY, 1);
    expect(driver.readl(VIRTIO_MMIO.QUEUE_READY)).toBe(0);
    driver.writel(VIRTIO_MMIO.QUEUE_DESC_LOW, 0x2000);
    driver.writel(VIRTIO_MMIO.QUEUE_READY, 1);
    expect(driver.readl(VIRTIO_MMIO.QUEUE_READY)).toBe(1);
    driver.writel(VIRTIO_MMIO.QUEUE_NUM, 8); // change while ready: ignored
    expect(driver.readl(VIRTIO_MMIO.QUEUE_DESC_LOW)).toBe(0x2000);
    expect(transport.stats.invalidQueueConfig).toBe(6);
  });

  it('processes a request end to end and raises a level interrupt until acknowledged', async () => {
    const { mem, irq, driver } = setup();
    const [vq0] = driver.init(2);
    if (!vq0) throw new Error('no queue');
    const { inp } = echoRequest(vq0, 'hello');
    expect(await driver.kick(0, vq0)).toBe(true);
    expect(vq0.takeUsed()).toEqual([{ id: 0, len: 5 }]);
    expect(new TextDecoder().decode(mem.slice(inp, 5))).toBe('hello');
    expect(irq.level).toBe(true);
    expect(driver.ackInterrupt()).toBe(VIRTIO_MMIO_INT.VRING);
    expect(irq.level).toBe(false);
  });

  it('takes the QueueNotify register as a fallback to the doorbell', async () => {
    const { driver, device } = setup();
    const [vq0] = driver.init(1);
    if (!vq0) throw new Error('no queue');
    echoRequest(vq0, 'x');
    await driver.kick(0, vq0, true);
    expect(device.processed).toBe(1);
  });

  it('does not process a queue before DRIVER_OK or while QueueReady=0 (counted, logged once)', async () => {
    const { driver, transport, device, logs } = setup();
    driver.negotiate(TRANSPORT_FEATURES);
    const vq0 = driver.setupQueue(0);
    echoRequest(vq0, 'early');
    vq0.publish();
    await transport.notify(0);
    await transport.notify(0);
    expect(device.processed).toBe(0);
    expect(transport.stats.ignoredNotifies).toBe(2);
    expect(logs.filter((l) => l.includes('before DRIVER_OK')).length).toBe(1);
    driver.driverOk();
    await transport.notify(1); // queue 1 was never made ready
    expect(transport.stats.ignoredNotifies).toBe(3);
    await transport.notify(0);
    expect(device.processed).toBe(1);
    expect(vq0.takeUsed().length).toBe(1);
  });

  it('coalesces notifies that arrive while a queue is being processed', async () => {
    const { driver, transport, device } = setup();
    const [vq0] = driver.init(1);
    if (!vq0) throw new Error('no queue');
    echoRequest(vq0, 'a');
    vq0.publish();
    const first = transport.notify(0);
    echoRequest(vq0, 'b');
    vq0.publish();
    const second = transport.notify(0);
    await Promise.all([first, second]);
    expect(device.processed).toBe(2);
    expect(vq0.takeUsed().map((u) => u.len)).toEqual([1, 1]);
  });

  it('honours EVENT_IDX: no interrupt until used_event is passed', async () => {
    const { driver, irq } = setup();
    const [vq0] = driver.init(1);
    if (!vq0) throw new Error('no queue');
    vq0.setUsedEvent(1);
    echoRequest(vq0, 'one');
    await driver.kick(0, vq0);
    expect(irq.level).toBe(false);
    echoRequest(vq0, 'two');
    await driver.kick(0, vq0);
    expect(irq.level).toBe(true);
  });

  it('lets the device kick its own queue and signal a config change', async () => {
    const { driver, device, transport, irq } = setup();
    const [vq0] = driver.init(1);
    if (!vq0 || !device.context) throw new Error('not activated');
    echoRequest(vq0, 'zz');
    vq0.publish();
    device.context.kick(0);
    await transport.whenIdle();
    expect(device.processed).toBe(1);
    driver.ackInterrupt();
    const gen = driver.readl(VIRTIO_MMIO.CONFIG_GENERATION);
    device.context.configChanged();
    expect(driver.readl(VIRTIO_MMIO.CONFIG_GENERATION)).toBe(gen + 1);
    expect(driver.readl(VIRTIO_MMIO.INTERRUPT_STATUS)).toBe(VIRTIO_MMIO_INT.CONFIG);
    expect(irq.level).toBe(true);
  });
});

describe('virtio-mmio reset', () => {
  it('writing 0 to Status clears status, features, interrupts and queues and resets the device', async () => {
    const { driver, transport, device, irq } = setup();
    const [vq0] = driver.init(2);
    if (!vq0) throw new Error('no queue');
    const oldContext = device.context;
    echoRequest(vq0, 'abc');
    await driver.kick(0, vq0);
    expect(irq.level).toBe(true);
    driver.reset();
    expect(driver.status).toBe(0);
    expect(driver.readl(VIRTIO_MMIO.INTERRUPT_STATUS)).toBe(0);
    expect(irq.level).toBe(false);
    expect(transport.features).toBe(0n);
    expect(device.resets).toBe(2); // negotiate() reset once, then this one
    for (const q of [0, 1]) {
      driver.writel(VIRTIO_MMIO.QUEUE_SEL, q);
      expect(driver.readl(VIRTIO_MMIO.QUEUE_READY)).toBe(0);
      expect(driver.readl(VIRTIO_MMIO.QUEUE_DESC_LOW)).toBe(0);
    }
    // A context from before the reset can no longer start work.
    const processed = device.processed;
    oldContext?.kick(0);
    await transport.whenIdle();
    expect(device.processed).toBe(processed);
    // And the device comes back after a fresh initialisation.
    const [again] = driver.init(1);
    if (!again) throw new Error('no queue');
    echoRequest(again, 'back');
    await driver.kick(0, again);
    expect(again.takeUsed()).toEqual([{ id: 0, len: 4 }]);
  });
});

describe('virtio-mmio malformed queues set DEVICE_NEEDS_RESET once and keep going', () => {
  const cases: Record<string, (vq: VirtqueueDriver) => void> = {
    loop: (vq) => {
      const b = vq.buffer(4);
      vq.writeDescriptor(0, { addr: b, len: 4, flags: VIRTQ_DESC_F.NEXT, next: 1 });
      vq.writeDescriptor(1, { addr: b, len: 4, flags: VIRTQ_DESC_F.NEXT, next: 0 });
      vq.pushHead(0);
    },
    'too long': (vq) => {
      const t = vq.buffer(16 * 32);
      vq.writeDescriptor(0, { addr: t, len: 16 * 32, flags: VIRTQ_DESC_F.INDIRECT, next: 0 });
      vq.pushHead(0);
    },
    'outside RAM': (vq) => {
      vq.writeDescriptor(0, { addr: RAM + 0x1000, len: 4, flags: 0, next: 0 });
      vq.pushHead(0);
    },
    'bad indirect': (vq) => {
      vq.writeDescriptor(0, { addr: vq.buffer(32), len: 24, flags: VIRTQ_DESC_F.INDIRECT, next: 0 });
      vq.pushHead(0);
    },
    'idx jump': (vq) => {
      vq.startIndicesAt(40);
    },
  };

  for (const [name, corrupt] of Object.entries(cases)) {
    it(name, async () => {
      const { driver, transport, irq, logs, device } = setup();
      const [vq0] = driver.init(1);
      if (!vq0) throw new Error('no queue');
      corrupt(vq0);
      vq0.publish();
      await transport.notify(0);
      expect(driver.status & VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET).toBe(VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET);
      expect(driver.readl(VIRTIO_MMIO.INTERRUPT_STATUS)).toBe(VIRTIO_MMIO_INT.CONFIG);
      expect(irq.level).toBe(true);
      expect(transport.stats.queueErrors).toBe(1);
      // More notifies change nothing: no reprocessing, no second interrupt, no second log line.
      driver.ackInterrupt();
      await transport.notify(0);
      await transport.notify(0);
      expect(transport.stats.queueErrors).toBe(1);
      expect(irq.risingEdges()).toBe(1);
      expect(logs.filter((l) => l.includes('DEVICE_NEEDS_RESET')).length).toBe(1);
      // The driver cannot clear the bit by writing status...
      driver.writel(VIRTIO_MMIO.STATUS, driver.status & ~VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET);
      expect(driver.status & VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET).not.toBe(0);
      // ...but a reset brings a working device back.
      const [fresh] = driver.init(1);
      if (!fresh) throw new Error('no queue');
      expect(driver.status & VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET).toBe(0);
      echoRequest(fresh, 'ok');
      await driver.kick(0, fresh);
      expect(fresh.takeUsed()).toEqual([{ id: 0, len: 2 }]);
      expect(device.processed).toBe(1);
    });
  }

  it('used idx corrupted by the guest', async () => {
    const { driver, transport } = setup();
    const [vq0] = driver.init(1);
    if (!vq0) throw new Error('no queue');
    echoRequest(vq0, 'fine');
    await driver.kick(0, vq0);
    expect(vq0.takeUsed().length).toBe(1);
    vq0.setUsedIdx(5);
    echoRequest(vq0, 'then broken');
    await driver.kick(0, vq0);
    expect(driver.status & VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET).not.toBe(0);
    expect(transport.stats.queueErrors).toBe(1);
  });

  it('a reset while a request is in flight drops its completion instead of writing the old ring', async () => {
    const { driver, transport, device, mem } = setup();
    const [vq0] = driver.init(1);
    if (!vq0) throw new Error('no queue');
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const original = device.process.bind(device);
    device.process = async (queue) => {
      await gate;
      await original(queue);
    };
    echoRequest(vq0, 'slow');
    vq0.publish();
    const pass = transport.notify(0);
    driver.reset();
    const writes = mem.dmaWrites;
    release();
    await pass;
    expect(mem.dmaWrites).toBe(writes);
    expect(vq0.usedIdx).toBe(0);
    expect(transport.status).toBe(0);
    expect(transport.stats.queueErrors + transport.stats.internalErrors).toBe(0);
  });

  it('a device bug (unexpected exception) is contained the same way', async () => {
    const { driver, transport, device } = setup();
    const [vq0] = driver.init(1);
    if (!vq0) throw new Error('no queue');
    device.process = async () => {
      throw new TypeError('oops');
    };
    echoRequest(vq0, 'x');
    await driver.kick(0, vq0);
    expect(transport.stats.internalErrors).toBe(1);
    expect(driver.status & VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET).not.toBe(0);
  });
});
