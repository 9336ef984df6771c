/**
 * A guest's virtio-mmio driver played through a QtestClient (virtio 1.x §4.2.3 "MMIO-specific
 * Initialization And Device Operation", §3.1.1 "Device Initialization"; QEMU
 * tests/qtest/libqos/virtio-mmio.c is the model): 32-bit register accesses as `mmioRead`/
 * `mmioWrite` messages, rings laid out in the client's guest RAM by the driver-side test helpers
 * of userspace/devices/virtio/testing, queues kicked with posted `doorbell` messages.
 */
import { GuestAllocator, type GuestMemory } from '../../userspace/devices/virtio/testing/guest-memory.js';
import { VirtqueueDriver } from '../../userspace/devices/virtio/testing/virtqueue-driver.js';
import type { QtestClient } from './qtest-client.js';

/** virtio-mmio register offsets (§4.2.2 "MMIO Device Register Layout"). */
export const VIRTIO_MMIO_REG = {
  MAGIC_VALUE: 0x000,
  VERSION: 0x004,
  DEVICE_ID: 0x008,
  VENDOR_ID: 0x00c,
  DEVICE_FEATURES: 0x010,
  DEVICE_FEATURES_SEL: 0x014,
  DRIVER_FEATURES: 0x020,
  DRIVER_FEATURES_SEL: 0x024,
  QUEUE_SEL: 0x030,
  QUEUE_NUM_MAX: 0x034,
  QUEUE_NUM: 0x038,
  QUEUE_READY: 0x044,
  QUEUE_NOTIFY: 0x050,
  INTERRUPT_STATUS: 0x060,
  INTERRUPT_ACK: 0x064,
  STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080,
  QUEUE_DESC_HIGH: 0x084,
  QUEUE_DRIVER_LOW: 0x090,
  QUEUE_DRIVER_HIGH: 0x094,
  QUEUE_DEVICE_LOW: 0x0a0,
  QUEUE_DEVICE_HIGH: 0x0a4,
  CONFIG_GENERATION: 0x0fc,
  CONFIG: 0x100,
} as const;

/** Device status bits (§2.1). */
export const VIRTIO_STATUS = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;

/** VIRTIO_F_EVENT_IDX (§6): used_event / avail_event notification suppression. */
export const VIRTIO_F_EVENT_IDX = 29;

/** InterruptStatus bits (§4.2.2). */
export const VIRTIO_INT = { VRING: 1, CONFIG: 2 } as const;

/** Where the driver's rings and buffers go in guest RAM (above the first 64 KiB, as a kernel would leave them). */
const RING_AREA_START = 0x10000;

/** One virtio-mmio device of the machine, driven register by register. */
export class QtestVirtioDevice {
  readonly allocator: GuestAllocator;

  constructor(
    readonly client: QtestClient,
    readonly ram: GuestMemory,
    /** Base of the 4 KiB window. */
    readonly base: number,
    /** ISA IRQ of the device. */
    readonly irq: number,
    allocator?: GuestAllocator,
  ) {
    this.allocator = allocator ?? new GuestAllocator(ram, RING_AREA_START);
  }

  readl(offset: number): Promise<number> {
    return this.client.readl(this.base + offset);
  }

  writel(offset: number, value: number): Promise<void> {
    return this.client.writel(this.base + offset, value);
  }

  /** The doorbell id the device model registered for this window's QueueNotify. */
  get doorbell(): number {
    const notify = this.base + VIRTIO_MMIO_REG.QUEUE_NOTIFY;
    const d = this.client.configuration.doorbells.find((x) => x.space === 'mmio' && x.addr === notify);
    if (d === undefined) throw new Error(`assertion: no doorbell registered at 0x${notify.toString(16)}`);
    return d.doorbell;
  }

  async status(): Promise<number> {
    return this.readl(VIRTIO_MMIO_REG.STATUS);
  }

  async addStatus(bits: number): Promise<void> {
    await this.writel(VIRTIO_MMIO_REG.STATUS, (await this.status()) | bits);
  }

  /** The 64 offered feature bits through DeviceFeaturesSel 0 and 1. */
  async deviceFeatures(): Promise<bigint> {
    await this.writel(VIRTIO_MMIO_REG.DEVICE_FEATURES_SEL, 0);
    const lo = BigInt(await this.readl(VIRTIO_MMIO_REG.DEVICE_FEATURES));
    await this.writel(VIRTIO_MMIO_REG.DEVICE_FEATURES_SEL, 1);
    const hi = BigInt(await this.readl(VIRTIO_MMIO_REG.DEVICE_FEATURES));
    return (hi << 32n) | lo;
  }

  /** §3.1.1 steps 1–6: reset, ACKNOWLEDGE, DRIVER, write `features`, FEATURES_OK; true if it stuck. */
  async negotiate(features: bigint): Promise<boolean> {
    await this.writel(VIRTIO_MMIO_REG.STATUS, 0);
    await this.addStatus(VIRTIO_STATUS.ACKNOWLEDGE);
    await this.addStatus(VIRTIO_STATUS.DRIVER);
    await this.writel(VIRTIO_MMIO_REG.DRIVER_FEATURES_SEL, 0);
    await this.writel(VIRTIO_MMIO_REG.DRIVER_FEATURES, Number(features & 0xffff_ffffn));
    await this.writel(VIRTIO_MMIO_REG.DRIVER_FEATURES_SEL, 1);
    await this.writel(VIRTIO_MMIO_REG.DRIVER_FEATURES, Number((features >> 32n) & 0xffff_ffffn));
    await this.addStatus(VIRTIO_STATUS.FEATURES_OK);
    return ((await this.status()) & VIRTIO_STATUS.FEATURES_OK) !== 0;
  }

  /** §4.2.3.2: select, check not ready, size, the three area addresses, ready. */
  async setupQueue(index: number, size: number, eventIdx: boolean): Promise<VirtqueueDriver> {
    await this.writel(VIRTIO_MMIO_REG.QUEUE_SEL, index);
    if ((await this.readl(VIRTIO_MMIO_REG.QUEUE_READY)) !== 0) throw new Error(`queue ${index} is already ready`);
    const max = await this.readl(VIRTIO_MMIO_REG.QUEUE_NUM_MAX);
    if (max < size) throw new Error(`queue ${index}: size ${size} above QueueNumMax ${max}`);
    const vq = VirtqueueDriver.allocate(this.allocator, size, eventIdx);
    await this.placeQueue(size, vq.layout.descAddr, vq.layout.availAddr, vq.layout.usedAddr);
    return vq;
  }

  /** Write QueueNum and the area addresses of the selected queue, then QueueReady = 1. */
  async placeQueue(size: number, desc: number, driver: number, device: number): Promise<void> {
    await this.writel(VIRTIO_MMIO_REG.QUEUE_NUM, size);
    await this.writel(VIRTIO_MMIO_REG.QUEUE_DESC_LOW, desc % 2 ** 32);
    await this.writel(VIRTIO_MMIO_REG.QUEUE_DESC_HIGH, Math.floor(desc / 2 ** 32));
    await this.writel(VIRTIO_MMIO_REG.QUEUE_DRIVER_LOW, driver % 2 ** 32);
    await this.writel(VIRTIO_MMIO_REG.QUEUE_DRIVER_HIGH, Math.floor(driver / 2 ** 32));
    await this.writel(VIRTIO_MMIO_REG.QUEUE_DEVICE_LOW, device % 2 ** 32);
    await this.writel(VIRTIO_MMIO_REG.QUEUE_DEVICE_HIGH, Math.floor(device / 2 ** 32));
    await this.writel(VIRTIO_MMIO_REG.QUEUE_READY, 1);
  }

  /**
   * Whole initialisation with queue 0 of `size` entries (suppressing notifications with
   * used_event/avail_event when `features` has VIRTIO_F_EVENT_IDX); throws if the device refuses.
   */
  async init(features: bigint, size: number): Promise<VirtqueueDriver> {
    const [vq] = await this.initQueues(features, size, 1);
    if (vq === undefined) throw new Error('assertion: one queue was set up');
    return vq;
  }

  /** As `init`, with queues 0 … `count` − 1 (e.g. receiveq and transmitq). */
  async initQueues(features: bigint, size: number, count: number): Promise<VirtqueueDriver[]> {
    if (!(await this.negotiate(features))) throw new Error('device refused FEATURES_OK');
    const eventIdx = (features & (1n << BigInt(VIRTIO_F_EVENT_IDX))) !== 0n;
    const queues: VirtqueueDriver[] = [];
    for (let i = 0; i < count; i++) queues.push(await this.setupQueue(i, size, eventIdx));
    await this.addStatus(VIRTIO_STATUS.DRIVER_OK);
    return queues;
  }

  /** Publish `vq`'s new chains and, if the device wants it, ring the doorbell (a posted message). */
  kick(queue: number, vq: VirtqueueDriver): boolean {
    if (!vq.publish()) return false;
    this.client.doorbell(this.doorbell, queue);
    return true;
  }

  /** Wait for the interrupt, read InterruptStatus and acknowledge it (a guest's handler). */
  async interrupt(): Promise<number> {
    await this.client.waitForIrq(this.irq, true);
    const isr = await this.readl(VIRTIO_MMIO_REG.INTERRUPT_STATUS);
    await this.writel(VIRTIO_MMIO_REG.INTERRUPT_ACK, isr);
    return isr;
  }
}
