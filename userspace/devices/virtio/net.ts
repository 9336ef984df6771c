/**
 * virtio-net (device id 1; virtio 1.x §5.1 "Network Device") over a NetBackend: receiveq 0 and
 * transmitq 1, MAC address and link status in config, no offloads, no mergeable buffers, no
 * control queue. Every buffer starts with the 12-byte struct virtio_net_hdr_v1 (§5.1.6); on
 * receive the device writes it with num_buffers = 1, on transmit it strips it.
 */
import type { NetBackend } from '../../backends/net/net-backend.js';
import { ETHERNET_FRAME } from '../../backends/net/net-backend.js';
import type { VirtioDeviceContext, VirtioDeviceModel } from './device-model.js';
import { readConfigBytes } from './device-model.js';
import { featureBit, VIRTIO_ID } from './features.js';
import type { LogSink, OnceLog } from '../../bus/once-log.js';
import { deviceLog } from './prefixed-log.js';
import type { SplitQueue } from './queue.js';

/** virtio-net feature bits (§5.1.3). */
export const VIRTIO_NET_F = {
  CSUM: 0,
  GUEST_CSUM: 1,
  CTRL_GUEST_OFFLOADS: 2,
  MTU: 3,
  MAC: 5,
  GUEST_TSO4: 7,
  GUEST_TSO6: 8,
  GUEST_ECN: 9,
  GUEST_UFO: 10,
  HOST_TSO4: 11,
  HOST_TSO6: 12,
  HOST_ECN: 13,
  HOST_UFO: 14,
  MRG_RXBUF: 15,
  STATUS: 16,
  CTRL_VQ: 17,
} as const;

/** Bits of the config `status` field (§5.1.4). */
export const VIRTIO_NET_S = {
  LINK_UP: 1,
  ANNOUNCE: 2,
} as const;

/** Offsets in struct virtio_net_config (§5.1.4). */
export const VIRTIO_NET_CONFIG = {
  MAC: 0x0,
  STATUS: 0x6,
  MAX_VIRTQUEUE_PAIRS: 0x8,
  MTU: 0xa,
  /** Bytes we expose: through mtu. */
  SIZE: 0xc,
} as const;

/** struct virtio_net_hdr_v1 (§5.1.6; VERSION_1 always includes num_buffers). */
export const VIRTIO_NET_HDR = {
  FLAGS: 0,
  GSO_TYPE: 1,
  HDR_LEN: 2,
  GSO_SIZE: 4,
  CSUM_START: 6,
  CSUM_OFFSET: 8,
  NUM_BUFFERS: 10,
  SIZE: 12,
} as const;

/** Queue indices of the first (only) queue pair (§5.1.2). */
export const VIRTIO_NET_QUEUE = {
  RECEIVEQ: 0,
  TRANSMITQ: 1,
} as const;

const MAC_BYTES = 6;
/** QEMU's default MAC, 52:54:00:12:34:56 (locally administered). */
const DEFAULT_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
const DEFAULT_MTU = 1500;
const DEFAULT_QUEUE_SIZE = 256;
const DEFAULT_MAX_PENDING_FRAMES = 256;

/** Options for VirtioNet. */
export interface VirtioNetOptions {
  /** MAC as 6 bytes or "aa:bb:cc:dd:ee:ff". */
  readonly mac?: Uint8Array | string;
  readonly queueSize?: number;
  /** Received frames held while the guest has no receive buffers; beyond that they are dropped. */
  readonly maxPendingFrames?: number;
  readonly log?: LogSink;
}

/** Counters for --stats and tests. */
export interface VirtioNetStats {
  txFrames: number;
  rxFrames: number;
  /** Transmit buffers too short for a header and an Ethernet header, or too long. */
  txErrors: number;
  /** Received frames dropped: device not running, backlog full or receive buffer too small. */
  rxDropped: number;
}

/** Parse "aa:bb:cc:dd:ee:ff"; throws (a configuration error) if malformed. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== MAC_BYTES || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`invalid MAC address "${text}" (expected aa:bb:cc:dd:ee:ff)`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** virtio-net device model (§5.1). */
export class VirtioNet implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID.NET;
  readonly features = featureBit(VIRTIO_NET_F.MAC) | featureBit(VIRTIO_NET_F.STATUS);
  readonly queueMaxSizes: readonly number[];
  readonly configSize = VIRTIO_NET_CONFIG.SIZE;
  readonly stats: VirtioNetStats = { txFrames: 0, rxFrames: 0, txErrors: 0, rxDropped: 0 };
  private readonly config = new Uint8Array(VIRTIO_NET_CONFIG.SIZE);
  private readonly maxPending: number;
  private readonly log: OnceLog;
  private pending: Uint8Array[] = [];
  private context: VirtioDeviceContext | null = null;

  constructor(
    private readonly backend: NetBackend,
    options: VirtioNetOptions = {},
  ) {
    const mac = typeof options.mac === 'string' ? parseMac(options.mac) : (options.mac ?? DEFAULT_MAC);
    if (mac.length !== MAC_BYTES) throw new Error(`assertion: MAC must be 6 bytes, got ${mac.length}`);
    const size = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.queueMaxSizes = [size, size];
    this.maxPending = options.maxPendingFrames ?? DEFAULT_MAX_PENDING_FRAMES;
    this.log = deviceLog('virtio-net', options.log);
    this.config.set(mac, VIRTIO_NET_CONFIG.MAC);
    const view = new DataView(this.config.buffer);
    view.setUint16(VIRTIO_NET_CONFIG.STATUS, VIRTIO_NET_S.LINK_UP, true);
    view.setUint16(VIRTIO_NET_CONFIG.MAX_VIRTQUEUE_PAIRS, 1, true);
    view.setUint16(VIRTIO_NET_CONFIG.MTU, DEFAULT_MTU, true);
    backend.onFrame((frame) => this.receive(frame));
  }

  /** The MAC address in config space. */
  get mac(): Uint8Array {
    return this.config.slice(VIRTIO_NET_CONFIG.MAC, VIRTIO_NET_CONFIG.MAC + MAC_BYTES);
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(): void {
    // The MAC is writable only with legacy devices or CTRL_MAC_ADDR; neither is offered.
  }

  activate(context: VirtioDeviceContext): void {
    this.context = context;
  }

  /** Frames queued for a driver that is gone are stale: drop them. */
  reset(): void {
    this.context = null;
    this.stats.rxDropped += this.pending.length;
    this.pending = [];
  }

  async process(queue: SplitQueue, index: number): Promise<void> {
    if (index === VIRTIO_NET_QUEUE.TRANSMITQ) await this.transmit(queue);
    else await this.fillReceive(queue);
  }

  private async transmit(queue: SplitQueue): Promise<void> {
    for (let chain = await queue.pop(); chain; chain = await queue.pop()) {
      const frameLen = chain.readableLength - VIRTIO_NET_HDR.SIZE;
      if (frameLen < ETHERNET_FRAME.HEADER_SIZE || frameLen > ETHERNET_FRAME.MAX_SIZE) {
        this.stats.txErrors++;
        this.log.warn('tx-size', `transmit buffer of ${chain.readableLength} bytes dropped`);
      } else {
        const data = await queue.readChain(chain);
        this.backend.send(data.subarray(VIRTIO_NET_HDR.SIZE));
        this.stats.txFrames++;
      }
      queue.addUsed(chain.head, 0);
    }
  }

  /** Put pending frames into posted receive buffers, one frame per buffer (no MRG_RXBUF). */
  private async fillReceive(queue: SplitQueue): Promise<void> {
    while (this.pending.length > 0) {
      const chain = await queue.pop();
      if (!chain) return;
      const frame = this.pending.shift();
      if (!frame) return;
      const total = VIRTIO_NET_HDR.SIZE + frame.length;
      if (chain.writableLength < total) {
        // §5.1.6.3.1 makes the driver post buffers big enough; give this one back empty.
        this.stats.rxDropped++;
        this.log.warn('rx-small', `receive buffer of ${chain.writableLength} bytes too small for a ${frame.length}-byte frame`);
        queue.addUsed(chain.head, 0);
        continue;
      }
      const out = new Uint8Array(total);
      new DataView(out.buffer).setUint16(VIRTIO_NET_HDR.NUM_BUFFERS, 1, true);
      out.set(frame, VIRTIO_NET_HDR.SIZE);
      await queue.writeChain(chain, out);
      this.stats.rxFrames++;
      queue.addUsed(chain.head, total);
    }
  }

  private receive(frame: Uint8Array): void {
    if (!this.context || this.pending.length >= this.maxPending) {
      this.stats.rxDropped++;
      return;
    }
    this.pending.push(frame);
    this.context.kick(VIRTIO_NET_QUEUE.RECEIVEQ);
  }
}
