/**
 * The virtio-mmio transport, version 2 (virtio 1.x §4.2 "Virtio Over MMIO"; facts §4.1): a 4 KiB
 * register window in front of one VirtioDeviceModel. It negotiates features (§2.2, §3.1.1), runs
 * the status state machine (§2.1), holds per-queue registers, processes queues when notified and
 * drives the level-triggered interrupt from InterruptStatus.
 *
 * Guest mistakes never throw out of here: register misuse is ignored and counted, a malformed
 * queue sets DEVICE_NEEDS_RESET with a config-change interrupt (§2.1.2) and is logged once.
 */
import { DmaError, type BusDevice, type DmaPort, type IrqLine } from '../../bus/device.js';
import type { VirtioDeviceContext, VirtioDeviceModel } from './device-model.js';
import { hasFeature, TRANSPORT_FEATURES, VIRTIO_CONFIG_S, VIRTIO_F } from './features.js';
import type { LogSink, OnceLog } from '../../bus/once-log.js';
import { deviceLog } from './prefixed-log.js';
import { QueueError, SplitQueue, VIRTQ_LAYOUT } from './queue.js';

/** virtio-mmio register offsets (§4.2.2 "MMIO Device Register Layout"; Linux virtio_mmio.h). */
export const VIRTIO_MMIO = {
  MAGIC_VALUE: 0x000,
  VERSION: 0x004,
  DEVICE_ID: 0x008,
  VENDOR_ID: 0x00c,
  DEVICE_FEATURES: 0x010,
  DEVICE_FEATURES_SEL: 0x014,
  DRIVER_FEATURES: 0x020,
  DRIVER_FEATURES_SEL: 0x024,
  GUEST_PAGE_SIZE: 0x028,
  QUEUE_SEL: 0x030,
  QUEUE_NUM_MAX: 0x034,
  QUEUE_NUM: 0x038,
  QUEUE_ALIGN: 0x03c,
  QUEUE_PFN: 0x040,
  QUEUE_READY: 0x044,
  QUEUE_NOTIFY: 0x050,
  INTERRUPT_STATUS: 0x060,
  INTERRUPT_ACK: 0x064,
  STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080,
  QUEUE_DESC_HIGH: 0x084,
  QUEUE_AVAIL_LOW: 0x090,
  QUEUE_AVAIL_HIGH: 0x094,
  QUEUE_USED_LOW: 0x0a0,
  QUEUE_USED_HIGH: 0x0a4,
  SHM_SEL: 0x0ac,
  SHM_LEN_LOW: 0x0b0,
  SHM_LEN_HIGH: 0x0b4,
  SHM_BASE_LOW: 0x0b8,
  SHM_BASE_HIGH: 0x0bc,
  QUEUE_RESET: 0x0c0,
  CONFIG_GENERATION: 0x0fc,
  CONFIG: 0x100,
} as const;

/** "virt" in little-endian (§4.2.2 MagicValue). */
export const VIRTIO_MMIO_MAGIC_VALUE = 0x74726976;
/** Non-legacy virtio-mmio (§4.2.2 Version). */
export const VIRTIO_MMIO_VERSION = 2;
/** Our VendorID: "TSKV" in little-endian (any value is allowed; QEMU uses "QEMU"). */
export const VIRTIO_MMIO_VENDOR_ID = 0x564b5354;
/** InterruptStatus bits (§4.2.2). */
export const VIRTIO_MMIO_INT = {
  VRING: 1,
  CONFIG: 2,
} as const;
/** Size of one device's register window. */
export const VIRTIO_MMIO_WINDOW_SIZE = 0x1000;

/** Where the PC machine puts virtio-mmio device n (DESIGN "Machine"; Linux virtio_mmio.device=). */
export const VIRTIO_MMIO_PLACEMENT = {
  BASE: 0xd000_0000,
  STRIDE: VIRTIO_MMIO_WINDOW_SIZE,
  IRQS: [5, 6, 7, 9, 10, 11],
} as const;

/** Base address, IRQ and Linux command-line announcement of virtio-mmio device `n`. */
export function virtioMmioSlot(n: number): { base: number; irq: number; cmdline: string } {
  const irq = VIRTIO_MMIO_PLACEMENT.IRQS[n];
  if (irq === undefined) throw new Error(`assertion: virtio-mmio slot ${n} does not exist`);
  const base = VIRTIO_MMIO_PLACEMENT.BASE + n * VIRTIO_MMIO_PLACEMENT.STRIDE;
  return { base, irq, cmdline: `virtio_mmio.device=4K@0x${base.toString(16)}:${irq}` };
}

/** Counters of what the guest did wrong or the transport did, for --stats and tests. */
export interface VirtioMmioStats {
  /** Unaligned, wrong-size, out-of-window or wrong-direction register accesses. */
  badAccesses: number;
  /** QueueNotify ignored: before DRIVER_OK, queue not ready, absent queue or device needs reset. */
  ignoredNotifies: number;
  /** FEATURES_OK refused (features not offered accepted, or VERSION_1 missing). */
  refusedFeatures: number;
  /** Queue register writes refused (bad size, misaligned area, change while ready). */
  invalidQueueConfig: number;
  /** Malformed queues that set DEVICE_NEEDS_RESET. */
  queueErrors: number;
  /** Unexpected exceptions from a device handler (bugs); also set DEVICE_NEEDS_RESET. */
  internalErrors: number;
  /** Queue notifications received (doorbell or register). */
  notifies: number;
  /** Interrupt causes raised (used-buffer and config). */
  interrupts: number;
}

/** Constructor arguments. */
export interface VirtioMmioOptions {
  readonly device: VirtioDeviceModel;
  readonly dma: DmaPort;
  readonly irq: IrqLine;
  /** Diagnostic sink; each kind of guest error is logged once (silent if absent). */
  readonly log?: LogSink;
  /** Name used in log lines, e.g. "virtio-blk@0xd0000000". */
  readonly name?: string;
}

/** Per-queue registers and processing state. */
interface QueueState {
  readonly max: number;
  size: number;
  ready: boolean;
  desc: number;
  driver: number;
  device: number;
  queue: SplitQueue | null;
  running: Promise<void> | null;
  rerun: boolean;
}

const U32 = 0x1_0000_0000;
const REGISTER_SIZE = 4;
/** Every bit of a register (SHM "no region" and the like). */
const ALL_ONES = 0xffff_ffff;
/** Feature words reachable through the Sel registers: 0 → bits 0-31, 1 → bits 32-63. */
const FEATURE_WORDS = 2;

/** A virtio-mmio v2 device window (§4.2). */
export class VirtioMmioTransport implements BusDevice {
  readonly stats: VirtioMmioStats = {
    badAccesses: 0,
    ignoredNotifies: 0,
    refusedFeatures: 0,
    invalidQueueConfig: 0,
    queueErrors: 0,
    internalErrors: 0,
    notifies: 0,
    interrupts: 0,
  };
  private readonly device: VirtioDeviceModel;
  private readonly dma: DmaPort;
  private readonly irq: IrqLine;
  private readonly log: OnceLog;
  private readonly offered: bigint;
  private readonly queues: QueueState[];

  private statusValue = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  /** The driver wrote non-zero feature bits beyond bit 63. */
  private driverFeaturesBeyond64 = false;
  private negotiatedFeatures = 0n;
  private queueSel = 0;
  private interruptStatusValue = 0;
  private configGenerationValue = 0;
  private irqLevel = false;
  /** Bumped at every reset so contexts and handlers of an earlier life are ignored. */
  private epoch = 0;

  constructor(options: VirtioMmioOptions) {
    this.device = options.device;
    this.dma = options.dma;
    this.irq = options.irq;
    this.log = deviceLog(options.name ?? `virtio-mmio(id ${options.device.deviceId})`, options.log);
    this.offered = options.device.features | TRANSPORT_FEATURES;
    this.queues = options.device.queueMaxSizes.map((max) => {
      if (max <= 0 || max > VIRTQ_LAYOUT.MAX_SIZE || (max & (max - 1)) !== 0) {
        throw new Error(`assertion: queue max size ${max} is not a power of two ≤ 32768`);
      }
      return { max, size: max, ready: false, desc: 0, driver: 0, device: 0, queue: null, running: null, rerun: false };
    });
  }

  /** Device status register (§2.1). */
  get status(): number {
    return this.statusValue;
  }

  /** InterruptStatus register. */
  get interruptStatus(): number {
    return this.interruptStatusValue;
  }

  /** Features both sides agreed on at FEATURES_OK (0 before). */
  get features(): bigint {
    return this.negotiatedFeatures;
  }

  /** Features this device offers (device type's plus the transport's). */
  get offeredFeatures(): bigint {
    return this.offered;
  }

  read(offset: number, size: number): number {
    if (offset >= VIRTIO_MMIO.CONFIG) return this.readConfig(offset - VIRTIO_MMIO.CONFIG, size);
    if (!this.registerAccessOk(offset, size)) return 0;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case VIRTIO_MMIO.MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC_VALUE;
      case VIRTIO_MMIO.VERSION:
        return VIRTIO_MMIO_VERSION;
      case VIRTIO_MMIO.DEVICE_ID:
        return this.device.deviceId;
      case VIRTIO_MMIO.VENDOR_ID:
        return VIRTIO_MMIO_VENDOR_ID;
      case VIRTIO_MMIO.DEVICE_FEATURES:
        return this.deviceFeaturesSel < FEATURE_WORDS ? featureWord(this.offered, this.deviceFeaturesSel) : 0;
      case VIRTIO_MMIO.QUEUE_NUM_MAX:
        return q ? q.max : 0; // 0: queue not available (§4.2.2)
      case VIRTIO_MMIO.QUEUE_READY:
        return q?.ready ? 1 : 0;
      case VIRTIO_MMIO.INTERRUPT_STATUS:
        return this.interruptStatusValue;
      case VIRTIO_MMIO.STATUS:
        return this.statusValue;
      case VIRTIO_MMIO.QUEUE_DESC_LOW:
        return q ? low32(q.desc) : 0;
      case VIRTIO_MMIO.QUEUE_DESC_HIGH:
        return q ? high32(q.desc) : 0;
      case VIRTIO_MMIO.QUEUE_AVAIL_LOW:
        return q ? low32(q.driver) : 0;
      case VIRTIO_MMIO.QUEUE_AVAIL_HIGH:
        return q ? high32(q.driver) : 0;
      case VIRTIO_MMIO.QUEUE_USED_LOW:
        return q ? low32(q.device) : 0;
      case VIRTIO_MMIO.QUEUE_USED_HIGH:
        return q ? high32(q.device) : 0;
      case VIRTIO_MMIO.SHM_LEN_LOW:
      case VIRTIO_MMIO.SHM_LEN_HIGH:
      case VIRTIO_MMIO.SHM_BASE_LOW:
      case VIRTIO_MMIO.SHM_BASE_HIGH:
        return ALL_ONES; // no shared-memory regions
      case VIRTIO_MMIO.QUEUE_RESET:
        return 0; // VIRTIO_F_RING_RESET not offered
      case VIRTIO_MMIO.CONFIG_GENERATION:
        return this.configGenerationValue;
      default:
        return this.badAccess('read', offset, size);
    }
  }

  write(offset: number, size: number, value: number): void {
    if (offset >= VIRTIO_MMIO.CONFIG) {
      this.writeConfig(offset - VIRTIO_MMIO.CONFIG, size, value);
      return;
    }
    if (!this.registerAccessOk(offset, size)) return;
    const v = value >>> 0;
    switch (offset) {
      case VIRTIO_MMIO.DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = v;
        return;
      case VIRTIO_MMIO.DRIVER_FEATURES:
        this.writeDriverFeatures(v);
        return;
      case VIRTIO_MMIO.DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = v;
        return;
      case VIRTIO_MMIO.QUEUE_SEL:
        this.queueSel = v;
        return;
      case VIRTIO_MMIO.QUEUE_NUM:
        this.writeQueueSize(v);
        return;
      case VIRTIO_MMIO.QUEUE_READY:
        this.writeQueueReady(v);
        return;
      case VIRTIO_MMIO.QUEUE_NOTIFY:
        // Fallback path; normally the VMM's doorbell calls notify() directly.
        void this.notify(v);
        return;
      case VIRTIO_MMIO.INTERRUPT_ACK:
        this.interruptStatusValue &= ~v;
        this.updateIrq();
        return;
      case VIRTIO_MMIO.STATUS:
        if (v === 0) this.reset();
        else this.writeStatus(v);
        return;
      case VIRTIO_MMIO.QUEUE_DESC_LOW:
      case VIRTIO_MMIO.QUEUE_DESC_HIGH:
      case VIRTIO_MMIO.QUEUE_AVAIL_LOW:
      case VIRTIO_MMIO.QUEUE_AVAIL_HIGH:
      case VIRTIO_MMIO.QUEUE_USED_LOW:
      case VIRTIO_MMIO.QUEUE_USED_HIGH:
        this.writeQueueAddress(offset, v);
        return;
      case VIRTIO_MMIO.SHM_SEL:
        return; // no regions; selecting one is harmless
      default:
        this.badAccess('write', offset, size);
        return;
    }
  }

  /**
   * QueueNotify for `queue` (the in-kernel doorbell path, posted). Processes the queue unless the
   * device is not live; concurrent notifies of one queue coalesce into one more pass. Never
   * rejects; resolves when the pass it joined is over.
   */
  notify(queue: number): Promise<void> {
    this.stats.notifies++;
    return this.schedule(queue, true);
  }

  /** Resolves once no queue is being processed (tests, orderly shutdown). */
  async whenIdle(): Promise<void> {
    for (;;) {
      const running = this.queues.map((q) => q.running).filter((p): p is Promise<void> => p !== null);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  private schedule(index: number, fromGuest: boolean): Promise<void> {
    const q = this.queues[index];
    if (!q) {
      if (fromGuest) this.ignoreNotify('absent-queue', `notify for absent queue ${index}`);
      return Promise.resolve();
    }
    if (q.running) {
      q.rerun = true;
      return q.running;
    }
    const run = async (): Promise<void> => {
      let guest = fromGuest;
      do {
        q.rerun = false;
        await this.processOnce(index, q, guest);
        guest = false;
      } while (q.rerun);
      q.running = null;
    };
    q.running = run();
    return q.running;
  }

  private async processOnce(index: number, q: QueueState, fromGuest: boolean): Promise<void> {
    const status = this.statusValue;
    if ((status & VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET) !== 0) {
      if (fromGuest) this.stats.ignoredNotifies++;
      return;
    }
    if ((status & VIRTIO_CONFIG_S.DRIVER_OK) === 0) {
      if (fromGuest) this.ignoreNotify('before-driver-ok', `queue ${index} notified before DRIVER_OK; not processed`);
      return;
    }
    if (!q.ready) {
      if (fromGuest) this.ignoreNotify('queue-not-ready', `queue ${index} notified while QueueReady=0; not processed`);
      return;
    }
    let vq = q.queue;
    if (!vq) {
      vq = q.queue = new SplitQueue(this.dma, {
        size: q.size,
        descAddr: q.desc,
        driverAddr: q.driver,
        deviceAddr: q.device,
        eventIdx: hasFeature(this.negotiatedFeatures, VIRTIO_F.EVENT_IDX),
      });
      // Devices that complete batches themselves (SplitQueue.complete) interrupt as they go.
      vq.onInterrupt = () => this.raise(VIRTIO_MMIO_INT.VRING);
    }
    try {
      await this.device.process(vq, index);
      await vq.flushUsed();
      if (await vq.needsNotification()) this.raise(VIRTIO_MMIO_INT.VRING);
    } catch (e) {
      if (vq.stopped) return; // reset while in flight: the work belongs to a dead queue
      if (e instanceof QueueError) {
        this.stats.queueErrors++;
        this.needsReset(e.code, `queue ${index}: ${e.message}`);
      } else if (e instanceof DmaError) {
        this.stats.queueErrors++;
        this.needsReset(e.code, `queue ${index}: ${e.message}`);
      } else {
        // A device bug: keep the process (and the other devices) up, make this one inert.
        this.stats.internalErrors++;
        const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
        this.needsReset('INTERNAL', `queue ${index}: internal error: ${detail}`);
      }
    }
  }

  /** §2.1.2: stop using the queues, set DEVICE_NEEDS_RESET, tell the driver with a config interrupt. */
  private needsReset(code: string, message: string): void {
    if ((this.statusValue & VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET) !== 0) return;
    this.stopQueues();
    this.statusValue |= VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET;
    this.log.warn(`needs-reset:${code}`, `DEVICE_NEEDS_RESET (${code}): ${message}`);
    this.raise(VIRTIO_MMIO_INT.CONFIG);
  }

  private raise(bits: number): void {
    this.interruptStatusValue |= bits;
    this.stats.interrupts++;
    this.updateIrq();
  }

  /** The only place the interrupt line changes: asserted while InterruptStatus ≠ 0 (§4.2.2). */
  private updateIrq(): void {
    const level = this.interruptStatusValue !== 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.irq.set(level);
  }

  /** Status 0: everything back to power-on (§2.4, §4.2.2 "reset clears InterruptStatus and QueueReady"). */
  private reset(): void {
    this.stopQueues();
    this.epoch++;
    this.statusValue = 0;
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.driverFeatures = 0n;
    this.driverFeaturesBeyond64 = false;
    this.negotiatedFeatures = 0n;
    this.queueSel = 0;
    for (const q of this.queues) {
      q.size = q.max;
      q.ready = false;
      q.desc = 0;
      q.driver = 0;
      q.device = 0;
    }
    this.interruptStatusValue = 0;
    this.updateIrq();
    this.device.reset();
  }

  private stopQueues(): void {
    for (const q of this.queues) {
      q.queue?.stop();
      q.queue = null;
    }
  }

  private writeStatus(value: number): void {
    const old = this.statusValue;
    // DEVICE_NEEDS_RESET belongs to the device: the driver can neither set nor clear it.
    let next = (value & ~VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET) | (old & VIRTIO_CONFIG_S.DEVICE_NEEDS_RESET);
    if ((next & VIRTIO_CONFIG_S.FEATURES_OK) !== 0 && (old & VIRTIO_CONFIG_S.FEATURES_OK) === 0) {
      const problem = this.featureProblem();
      if (problem !== null) {
        next &= ~VIRTIO_CONFIG_S.FEATURES_OK; // refused: the driver sees FEATURES_OK clear (§3.1.1 step 6)
        this.stats.refusedFeatures++;
        this.log.warn('features-refused', `FEATURES_OK refused: ${problem}`);
      } else {
        this.negotiatedFeatures = this.driverFeatures;
      }
    }
    let activate = false;
    if ((next & VIRTIO_CONFIG_S.DRIVER_OK) !== 0 && (old & VIRTIO_CONFIG_S.DRIVER_OK) === 0) {
      if ((next & VIRTIO_CONFIG_S.FEATURES_OK) === 0) {
        next &= ~VIRTIO_CONFIG_S.DRIVER_OK;
        this.stats.invalidQueueConfig++;
        this.log.warn('driver-ok-early', 'DRIVER_OK without FEATURES_OK ignored');
      } else {
        activate = true;
      }
    }
    this.statusValue = next;
    if (activate) this.device.activate(this.context());
  }

  /** Why the accepted features cannot be used, or null (§2.2.1, §6.1). */
  private featureProblem(): string | null {
    const extra = this.driverFeatures & ~this.offered;
    if (extra !== 0n || this.driverFeaturesBeyond64) {
      return `driver accepted features not offered (0x${extra.toString(16)})`;
    }
    if (!hasFeature(this.driverFeatures, VIRTIO_F.VERSION_1)) return 'VIRTIO_F_VERSION_1 not accepted';
    return null;
  }

  private context(): VirtioDeviceContext {
    const epoch = this.epoch;
    return {
      features: this.negotiatedFeatures,
      dma: this.dma,
      kick: (queue) => {
        if (epoch === this.epoch) void this.schedule(queue, false);
      },
      configChanged: () => {
        if (epoch !== this.epoch) return;
        this.configGenerationValue = (this.configGenerationValue + 1) >>> 0;
        this.raise(VIRTIO_MMIO_INT.CONFIG);
      },
    };
  }

  private writeDriverFeatures(value: number): void {
    if ((this.statusValue & VIRTIO_CONFIG_S.FEATURES_OK) !== 0) {
      this.stats.invalidQueueConfig++;
      this.log.warn('features-after-ok', 'DriverFeatures written after FEATURES_OK ignored');
      return;
    }
    if (this.driverFeaturesSel >= FEATURE_WORDS) {
      if (value !== 0) this.driverFeaturesBeyond64 = true;
      return;
    }
    const shift = BigInt(32 * this.driverFeaturesSel);
    const mask = 0xffff_ffffn << shift;
    this.driverFeatures = (this.driverFeatures & ~mask) | (BigInt(value) << shift);
  }

  /** The selected queue if it exists and may be configured (not ready). */
  private configurableQueue(what: string): QueueState | null {
    const q = this.queues[this.queueSel];
    if (q && !q.ready) return q;
    this.stats.invalidQueueConfig++;
    this.log.warn(`queue-config:${what}`, q ? `${what} written while queue ${this.queueSel} is ready; ignored` : `${what} for absent queue ${this.queueSel}; ignored`);
    return null;
  }

  private writeQueueSize(value: number): void {
    const q = this.configurableQueue('QueueNum');
    if (!q) return;
    if (value === 0 || value > q.max || (value & (value - 1)) !== 0) {
      this.stats.invalidQueueConfig++;
      this.log.warn('queue-size', `QueueNum ${value} is not a power of two ≤ ${q.max}; ignored`);
      return;
    }
    q.size = value;
  }

  private writeQueueAddress(offset: number, value: number): void {
    const q = this.configurableQueue('queue address');
    if (!q) return;
    switch (offset) {
      case VIRTIO_MMIO.QUEUE_DESC_LOW:
        q.desc = setLow32(q.desc, value);
        return;
      case VIRTIO_MMIO.QUEUE_DESC_HIGH:
        q.desc = setHigh32(q.desc, value);
        return;
      case VIRTIO_MMIO.QUEUE_AVAIL_LOW:
        q.driver = setLow32(q.driver, value);
        return;
      case VIRTIO_MMIO.QUEUE_AVAIL_HIGH:
        q.driver = setHigh32(q.driver, value);
        return;
      case VIRTIO_MMIO.QUEUE_USED_LOW:
        q.device = setLow32(q.device, value);
        return;
      case VIRTIO_MMIO.QUEUE_USED_HIGH:
        q.device = setHigh32(q.device, value);
        return;
      default:
        throw new Error(`assertion: 0x${offset.toString(16)} is not a queue address register`);
    }
  }

  private writeQueueReady(value: number): void {
    const q = this.queues[this.queueSel];
    if (!q) {
      this.stats.invalidQueueConfig++;
      this.log.warn('queue-config:ready', `QueueReady for absent queue ${this.queueSel}; ignored`);
      return;
    }
    if ((value & 1) === 0) {
      q.queue?.stop();
      q.queue = null;
      q.ready = false;
      return;
    }
    if (q.ready) return;
    // §2.7 alignment requirements of the three areas.
    if (q.desc % VIRTQ_LAYOUT.DESC_ALIGN !== 0 || q.driver % VIRTQ_LAYOUT.AVAIL_ALIGN !== 0 || q.device % VIRTQ_LAYOUT.USED_ALIGN !== 0) {
      this.stats.invalidQueueConfig++;
      this.log.warn('queue-align', `queue ${this.queueSel} areas misaligned; QueueReady refused`);
      return;
    }
    q.ready = true;
  }

  private readConfig(offset: number, size: number): number {
    if (!this.configAccessOk(offset, size)) return 0;
    return this.device.readConfig(offset, size) >>> 0;
  }

  private writeConfig(offset: number, size: number, value: number): void {
    if (!this.configAccessOk(offset, size)) return;
    this.device.writeConfig(offset, size, value >>> 0);
  }

  /** Config space: 1, 2 or 4 bytes at natural alignment inside the device's config (§4.2.2.2). */
  private configAccessOk(offset: number, size: number): boolean {
    const sizeOk = size === 1 || size === 2 || size === 4;
    if (sizeOk && offset % size === 0 && offset + size <= this.device.configSize && offset + VIRTIO_MMIO.CONFIG + size <= VIRTIO_MMIO_WINDOW_SIZE) {
      return true;
    }
    this.badAccess('config', offset + VIRTIO_MMIO.CONFIG, size);
    return false;
  }

  /** Registers below 0x100 are 32-bit and aligned only (§4.2.2.2). */
  private registerAccessOk(offset: number, size: number): boolean {
    if (size === REGISTER_SIZE && offset % REGISTER_SIZE === 0 && offset >= 0) return true;
    this.badAccess('register', offset, size);
    return false;
  }

  private badAccess(kind: string, offset: number, size: number): number {
    this.stats.badAccesses++;
    this.log.warn(`bad-access:${kind}`, `ignored ${kind} access of ${size} bytes at 0x${offset.toString(16)}`);
    return 0;
  }

  private ignoreNotify(key: string, message: string): void {
    this.stats.ignoredNotifies++;
    this.log.warn(key, message);
  }
}

function featureWord(features: bigint, word: number): number {
  return Number((features >> BigInt(32 * word)) & 0xffff_ffffn);
}

function low32(v: number): number {
  return v % U32;
}

function high32(v: number): number {
  return Math.floor(v / U32);
}

function setLow32(v: number, lo: number): number {
  return high32(v) * U32 + lo;
}

function setHigh32(v: number, hi: number): number {
  return hi * U32 + low32(v);
}
