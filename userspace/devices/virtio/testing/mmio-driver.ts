/**
 * Test double for a guest's virtio-mmio driver (virtio 1.x §4.2.3 "MMIO-specific Initialization
 * And Device Operation", §3.1.1 "Driver Requirements: Device Initialization"): it talks to a
 * transport only through 32-bit register accesses, as Linux's virtio_mmio.c does, and kicks
 * queues through the doorbell (notify) or the QueueNotify register.
 */
import type { BusDevice } from '../../../bus/device.js';
import { hasFeature, VIRTIO_CONFIG_S, VIRTIO_F } from '../features.js';
import { VIRTIO_MMIO } from '../mmio-transport.js';
import type { GuestAllocator } from './guest-memory.js';
import { VirtqueueDriver } from './virtqueue-driver.js';

/** What the driver needs from the device side: registers plus the posted doorbell. */
export interface MmioDevice extends BusDevice {
  notify(queue: number): Promise<void>;
  whenIdle(): Promise<void>;
}

/** Register-level virtio-mmio driver over GuestMemory. */
export class VirtioMmioDriver {
  constructor(
    readonly device: MmioDevice,
    readonly allocator: GuestAllocator,
  ) {}

  readl(offset: number): number {
    return this.device.read(offset, 4);
  }

  writel(offset: number, value: number): void {
    this.device.write(offset, 4, value);
  }

  /** The 64 feature bits the device offers, read through DeviceFeaturesSel. */
  deviceFeatures(): bigint {
    this.writel(VIRTIO_MMIO.DEVICE_FEATURES_SEL, 0);
    const lo = BigInt(this.readl(VIRTIO_MMIO.DEVICE_FEATURES));
    this.writel(VIRTIO_MMIO.DEVICE_FEATURES_SEL, 1);
    const hi = BigInt(this.readl(VIRTIO_MMIO.DEVICE_FEATURES));
    return (hi << 32n) | lo;
  }

  get status(): number {
    return this.readl(VIRTIO_MMIO.STATUS);
  }

  /** Set more status bits (drivers only ever add bits between resets). */
  addStatus(bits: number): void {
    this.writel(VIRTIO_MMIO.STATUS, this.status | bits);
  }

  reset(): void {
    this.writel(VIRTIO_MMIO.STATUS, 0);
  }

  /** §3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, accept `features`, FEATURES_OK, re-read. */
  negotiate(features: bigint): boolean {
    this.reset();
    this.addStatus(VIRTIO_CONFIG_S.ACKNOWLEDGE);
    this.addStatus(VIRTIO_CONFIG_S.DRIVER);
    this.deviceFeatures();
    this.writel(VIRTIO_MMIO.DRIVER_FEATURES_SEL, 0);
    this.writel(VIRTIO_MMIO.DRIVER_FEATURES, Number(features & 0xffff_ffffn));
    this.writel(VIRTIO_MMIO.DRIVER_FEATURES_SEL, 1);
    this.writel(VIRTIO_MMIO.DRIVER_FEATURES, Number((features >> 32n) & 0xffff_ffffn));
    this.addStatus(VIRTIO_CONFIG_S.FEATURES_OK);
    return (this.status & VIRTIO_CONFIG_S.FEATURES_OK) !== 0;
  }

  /** §4.2.3.2 queue setup: select, check not ready, read max, size, addresses, ready. */
  setupQueue(index: number, size?: number, eventIdx = false): VirtqueueDriver {
    this.writel(VIRTIO_MMIO.QUEUE_SEL, index);
    if (this.readl(VIRTIO_MMIO.QUEUE_READY) !== 0) throw new Error(`queue ${index} already ready`);
    const max = this.readl(VIRTIO_MMIO.QUEUE_NUM_MAX);
    if (max === 0) throw new Error(`queue ${index} not available`);
    const n = size ?? max;
    const vq = VirtqueueDriver.allocate(this.allocator, n, eventIdx);
    this.writel(VIRTIO_MMIO.QUEUE_NUM, n);
    this.writel(VIRTIO_MMIO.QUEUE_DESC_LOW, vq.layout.descAddr);
    this.writel(VIRTIO_MMIO.QUEUE_DESC_HIGH, 0);
    this.writel(VIRTIO_MMIO.QUEUE_AVAIL_LOW, vq.layout.availAddr);
    this.writel(VIRTIO_MMIO.QUEUE_AVAIL_HIGH, 0);
    this.writel(VIRTIO_MMIO.QUEUE_USED_LOW, vq.layout.usedAddr);
    this.writel(VIRTIO_MMIO.QUEUE_USED_HIGH, 0);
    this.writel(VIRTIO_MMIO.QUEUE_READY, 1);
    return vq;
  }

  driverOk(): void {
    this.addStatus(VIRTIO_CONFIG_S.DRIVER_OK);
  }

  /**
   * Whole initialisation: negotiate `features` (default: everything offered), set up `queues`
   * queues, DRIVER_OK. Throws if the device refuses.
   */
  init(queues: number, features?: bigint, sizes: readonly number[] = []): VirtqueueDriver[] {
    const accepted = features ?? this.deviceFeatures();
    if (!this.negotiate(accepted)) throw new Error('device refused FEATURES_OK');
    const eventIdx = hasFeature(accepted, VIRTIO_F.EVENT_IDX);
    const vqs: VirtqueueDriver[] = [];
    for (let i = 0; i < queues; i++) vqs.push(this.setupQueue(i, sizes[i], eventIdx));
    this.driverOk();
    return vqs;
  }

  /**
   * Publish `vq`'s new chains and notify queue `index` if the device asked for it; resolves once
   * the device finished the pass. `viaRegister` uses the QueueNotify register instead of the doorbell.
   */
  async kick(index: number, vq: VirtqueueDriver, viaRegister = false): Promise<boolean> {
    if (!vq.publish()) return false;
    if (viaRegister) this.writel(VIRTIO_MMIO.QUEUE_NOTIFY, index);
    else await this.device.notify(index);
    await this.device.whenIdle();
    return true;
  }

  /** Read InterruptStatus and acknowledge all of it, as an interrupt handler does. */
  ackInterrupt(): number {
    const isr = this.readl(VIRTIO_MMIO.INTERRUPT_STATUS);
    this.writel(VIRTIO_MMIO.INTERRUPT_ACK, isr);
    return isr;
  }

  /** Device config space read of `size` bytes at `offset` from 0x100. */
  readConfig(offset: number, size: 1 | 2 | 4): number {
    return this.device.read(VIRTIO_MMIO.CONFIG + offset, size);
  }
}
