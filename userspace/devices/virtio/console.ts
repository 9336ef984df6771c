/**
 * virtio-console (device id 3; virtio 1.x §5.3 "Console Device"; facts §4.8), single port, no
 * MULTIPORT: receiveq 0 carries backend input into buffers the guest posted, transmitq 1 carries
 * guest output to the CharBackend. Input that arrives before the guest posts buffers waits here
 * (bounded). EMERG_WRITE lets a guest print one character through config space.
 */
import type { CharBackend } from '../../bus/device.js';
import type { VirtioDeviceContext, VirtioDeviceModel } from './device-model.js';
import { readConfigBytes } from './device-model.js';
import { featureBit, VIRTIO_ID } from './features.js';
import type { SplitQueue } from './queue.js';

/** virtio-console feature bits (§5.3.3). */
export const VIRTIO_CONSOLE_F = {
  SIZE: 0,
  MULTIPORT: 1,
  EMERG_WRITE: 2,
} as const;

/** Offsets in struct virtio_console_config (§5.3.4). */
export const VIRTIO_CONSOLE_CONFIG = {
  COLS: 0x0,
  ROWS: 0x2,
  MAX_NR_PORTS: 0x4,
  EMERG_WR: 0x8,
  SIZE: 0xc,
} as const;

/** Queue indices of port 0 (§5.3.2). */
export const VIRTIO_CONSOLE_QUEUE = {
  RECEIVEQ: 0,
  TRANSMITQ: 1,
} as const;

/** Options for VirtioConsole. */
export interface VirtioConsoleOptions {
  readonly queueSize?: number;
  /** Input bytes held while the guest has no receive buffers; beyond that input is dropped. */
  readonly maxPendingInput?: number;
}

/** Counters for --stats and tests. */
export interface VirtioConsoleStats {
  bytesOut: number;
  bytesIn: number;
  droppedInput: number;
}

const DEFAULT_QUEUE_SIZE = 64;
const DEFAULT_MAX_PENDING_INPUT = 64 * 1024;
const TRANSMIT_CHUNK = 64 * 1024;

/** virtio-console device model, port 0 only (§5.3). */
export class VirtioConsole implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID.CONSOLE;
  readonly features = featureBit(VIRTIO_CONSOLE_F.EMERG_WRITE);
  readonly queueMaxSizes: readonly number[];
  readonly configSize = VIRTIO_CONSOLE_CONFIG.SIZE;
  readonly stats: VirtioConsoleStats = { bytesOut: 0, bytesIn: 0, droppedInput: 0 };
  private readonly config = new Uint8Array(VIRTIO_CONSOLE_CONFIG.SIZE);
  private readonly maxPending: number;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private context: VirtioDeviceContext | null = null;

  constructor(
    private readonly backend: CharBackend,
    options: VirtioConsoleOptions = {},
  ) {
    const size = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.queueMaxSizes = [size, size];
    this.maxPending = options.maxPendingInput ?? DEFAULT_MAX_PENDING_INPUT;
    new DataView(this.config.buffer).setUint32(VIRTIO_CONSOLE_CONFIG.MAX_NR_PORTS, 1, true);
    backend.onInput((data) => this.input(data));
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(offset: number, size: number, value: number): void {
    // emerg_wr: the low byte is one character of output (§5.3.4).
    if (offset === VIRTIO_CONSOLE_CONFIG.EMERG_WR && size === 4) {
      this.backend.write(Uint8Array.of(value & 0xff));
      this.stats.bytesOut++;
    }
  }

  activate(context: VirtioDeviceContext): void {
    this.context = context;
    if (this.pendingBytes > 0) context.kick(VIRTIO_CONSOLE_QUEUE.RECEIVEQ);
  }

  /** Input typed before the driver loaded is kept: it is the backend's, not the device's state. */
  reset(): void {
    this.context = null;
  }

  async process(queue: SplitQueue, index: number): Promise<void> {
    if (index === VIRTIO_CONSOLE_QUEUE.TRANSMITQ) {
      for (let chain = await queue.pop(); chain; chain = await queue.pop()) {
        // In pieces, so a huge chain never means a huge buffer here.
        for (let at = 0; at < chain.readableLength; at += TRANSMIT_CHUNK) {
          const data = await queue.readChain(chain, at, Math.min(TRANSMIT_CHUNK, chain.readableLength - at));
          this.backend.write(data);
          this.stats.bytesOut += data.length;
        }
        queue.addUsed(chain.head, 0);
      }
      return;
    }
    // receiveq: take guest buffers only while there is something to put in them.
    while (this.pendingBytes > 0) {
      const chain = await queue.pop();
      if (!chain) return;
      const data = this.take(chain.writableLength);
      await queue.writeChain(chain, data);
      this.stats.bytesIn += data.length;
      queue.addUsed(chain.head, data.length);
    }
  }

  private input(data: Uint8Array): void {
    const room = this.maxPending - this.pendingBytes;
    const keep = Math.min(room, data.length);
    this.stats.droppedInput += data.length - keep;
    if (keep === 0) return;
    this.pending.push(data.slice(0, keep));
    this.pendingBytes += keep;
    this.context?.kick(VIRTIO_CONSOLE_QUEUE.RECEIVEQ);
  }

  /** Up to `max` pending bytes, in arrival order. */
  private take(max: number): Uint8Array {
    const n = Math.min(max, this.pendingBytes);
    const out = new Uint8Array(n);
    let pos = 0;
    while (pos < n) {
      const head = this.pending[0];
      if (!head) break;
      const k = Math.min(head.length, n - pos);
      out.set(head.subarray(0, k), pos);
      pos += k;
      if (k === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(k);
    }
    this.pendingBytes -= n;
    return out;
  }
}
