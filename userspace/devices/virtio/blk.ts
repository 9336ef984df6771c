/**
 * virtio-blk (device id 2; virtio 1.x §5.2 "Block Device"; facts §4.7) over a BlockBackend: one
 * request queue; requests IN, OUT, FLUSH and GET_ID; read-only disks offer VIRTIO_BLK_F_RO and
 * fail writes with IOERR.
 */
import type { BlockBackend } from '../../bus/device.js';
import type { VirtioDeviceContext, VirtioDeviceModel } from './device-model.js';
import { readConfigBytes } from './device-model.js';
import { featureBit, VIRTIO_ID } from './features.js';
import type { LogSink, OnceLog } from '../../bus/once-log.js';
import { deviceLog } from './prefixed-log.js';
import { QUEUE_ERROR, QueueError, type DescriptorChain, type SplitQueue } from './queue.js';

/** virtio-blk feature bits (§5.2.3). */
export const VIRTIO_BLK_F = {
  SIZE_MAX: 1,
  SEG_MAX: 2,
  GEOMETRY: 4,
  RO: 5,
  BLK_SIZE: 6,
  FLUSH: 9,
  TOPOLOGY: 10,
  CONFIG_WCE: 11,
  MQ: 12,
  DISCARD: 13,
  WRITE_ZEROES: 14,
} as const;

/** Request types (§5.2.6 struct virtio_blk_req, field `type`). */
export const VIRTIO_BLK_T = {
  IN: 0,
  OUT: 1,
  FLUSH: 4,
  GET_ID: 8,
} as const;

/** Request status byte values (§5.2.6). */
export const VIRTIO_BLK_S = {
  OK: 0,
  IOERR: 1,
  UNSUPP: 2,
} as const;

/** Offsets in struct virtio_blk_config (§5.2.4). */
export const VIRTIO_BLK_CONFIG = {
  CAPACITY: 0x00,
  SIZE_MAX: 0x08,
  SEG_MAX: 0x0c,
  GEOMETRY: 0x10,
  BLK_SIZE: 0x14,
  TOPOLOGY: 0x18,
  WRITEBACK: 0x20,
  NUM_QUEUES: 0x22,
  /** Bytes we expose: through num_queues. */
  SIZE: 0x24,
} as const;

/** Sectors are always 512 bytes in virtio-blk requests and capacity (§5.2.4). */
export const VIRTIO_BLK_SECTOR_SIZE = 512;
/** GET_ID returns a 20-byte, NUL-padded serial string (§5.2.6, VIRTIO_BLK_ID_BYTES). */
export const VIRTIO_BLK_ID_BYTES = 20;
/** struct virtio_blk_outhdr { le32 type; le32 reserved; le64 sector; } (§5.2.6). */
const OUT_HDR = { SIZE: 16, TYPE: 0, SECTOR: 8 } as const;
const STATUS_BYTES = 1;

/** Options for VirtioBlk. */
export interface VirtioBlkOptions {
  /** GET_ID answer (truncated to 20 bytes). */
  readonly serial?: string;
  /** Request queue size (power of two). */
  readonly queueSize?: number;
  readonly log?: LogSink;
}

/** Counters for --stats and tests. */
export interface VirtioBlkStats {
  reads: number;
  writes: number;
  flushes: number;
  getIds: number;
  ioErrors: number;
  unsupported: number;
}

const DEFAULT_QUEUE_SIZE = 256;
/**
 * Largest data transfer per request. Linux caps requests well below this (max_sectors_kb);
 * the limit keeps a hostile chain from making the device model buffer gigabytes.
 */
export const VIRTIO_BLK_MAX_TRANSFER = 4 * 1024 * 1024;
/** Descriptors a request spends on its header and status; the rest may carry data (SEG_MAX). */
const HEADER_AND_STATUS_SEGMENTS = 2;

/** virtio-blk device model (§5.2). */
export class VirtioBlk implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID.BLOCK;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = VIRTIO_BLK_CONFIG.SIZE;
  readonly stats: VirtioBlkStats = { reads: 0, writes: 0, flushes: 0, getIds: 0, ioErrors: 0, unsupported: 0 };
  private readonly config = new Uint8Array(VIRTIO_BLK_CONFIG.SIZE);
  private readonly id: Uint8Array;
  private readonly log: OnceLog;

  constructor(
    private readonly backend: BlockBackend,
    options: VirtioBlkOptions = {},
  ) {
    if (backend.size % VIRTIO_BLK_SECTOR_SIZE !== 0) {
      throw new Error(`assertion: block backend size ${backend.size} is not a multiple of 512`);
    }
    const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.queueMaxSizes = [queueSize];
    this.features =
      featureBit(VIRTIO_BLK_F.SEG_MAX) |
      featureBit(VIRTIO_BLK_F.BLK_SIZE) |
      featureBit(VIRTIO_BLK_F.FLUSH) |
      (backend.readOnly ? featureBit(VIRTIO_BLK_F.RO) : 0n);
    const view = new DataView(this.config.buffer);
    view.setBigUint64(VIRTIO_BLK_CONFIG.CAPACITY, BigInt(backend.size / VIRTIO_BLK_SECTOR_SIZE), true);
    view.setUint32(VIRTIO_BLK_CONFIG.SEG_MAX, queueSize - HEADER_AND_STATUS_SEGMENTS, true);
    view.setUint32(VIRTIO_BLK_CONFIG.BLK_SIZE, VIRTIO_BLK_SECTOR_SIZE, true);
    view.setUint16(VIRTIO_BLK_CONFIG.NUM_QUEUES, 1, true);
    this.id = new Uint8Array(VIRTIO_BLK_ID_BYTES);
    this.id.set(new TextEncoder().encode(options.serial ?? 'tskvm-virtio-blk').subarray(0, VIRTIO_BLK_ID_BYTES));
    this.log = deviceLog('virtio-blk', options.log);
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(): void {
    // Every field we expose is read-only (writeback needs CONFIG_WCE, not offered).
  }

  activate(_context: VirtioDeviceContext): void {}

  reset(): void {}

  /**
   * Serve every available request. The requests of one batch run concurrently, so their DMA
   * requests are pipelined on the link instead of paying a round trip each in turn; the VMM
   * answers DMA in order, so backend writes and flushes still happen in submission order.
   */
  async process(queue: SplitQueue): Promise<void> {
    for (;;) {
      const chains: DescriptorChain[] = [];
      for (let chain = await queue.pop(); chain; chain = await queue.pop()) chains.push(chain);
      if (chains.length === 0) return;
      const written = await Promise.all(chains.map((chain) => this.request(queue, chain)));
      chains.forEach((chain, i) => queue.addUsed(chain.head, written[i]!));
    }
  }

  /** Serve one request; returns the bytes written into the chain (data + status). */
  private async request(queue: SplitQueue, chain: DescriptorChain): Promise<number> {
    if (chain.readableLength < OUT_HDR.SIZE || chain.writableLength < STATUS_BYTES) {
      throw new QueueError(QUEUE_ERROR.BAD_REQUEST, `virtio-blk request without header or status byte (head ${chain.head})`);
    }
    const dataOut = chain.readableLength - OUT_HDR.SIZE;
    const tooBig = dataOut > VIRTIO_BLK_MAX_TRANSFER || chain.writableLength - STATUS_BYTES > VIRTIO_BLK_MAX_TRANSFER;
    // One DMA read for header and OUT data, unless the data is refused anyway.
    const readable = await queue.readChain(chain, 0, tooBig ? OUT_HDR.SIZE : chain.readableLength);
    const header = new DataView(readable.buffer, readable.byteOffset, OUT_HDR.SIZE);
    const type = header.getUint32(OUT_HDR.TYPE, true);
    const sector = Number(header.getBigUint64(OUT_HDR.SECTOR, true));
    const statusOffset = chain.writableLength - STATUS_BYTES;

    const finish = async (status: number): Promise<number> => {
      await queue.writeChain(chain, Uint8Array.of(status), statusOffset);
      return STATUS_BYTES;
    };

    if (tooBig && (type === VIRTIO_BLK_T.IN || type === VIRTIO_BLK_T.OUT)) {
      return finish(this.ioError(`transfer larger than ${VIRTIO_BLK_MAX_TRANSFER} bytes`));
    }
    switch (type) {
      case VIRTIO_BLK_T.IN: {
        const len = statusOffset;
        if (!this.inBounds(sector, len)) return finish(this.ioError('read out of range'));
        let data: Uint8Array;
        try {
          data = this.backend.read(sector * VIRTIO_BLK_SECTOR_SIZE, len);
        } catch (e) {
          return finish(this.ioError(`backend read failed: ${describe(e)}`));
        }
        const out = new Uint8Array(len + STATUS_BYTES);
        out.set(data);
        out[len] = VIRTIO_BLK_S.OK;
        await queue.writeChain(chain, out, 0);
        this.stats.reads++;
        return out.length;
      }
      case VIRTIO_BLK_T.OUT: {
        if (this.backend.readOnly) return finish(this.ioError('write to a read-only disk'));
        if (!this.inBounds(sector, dataOut)) return finish(this.ioError('write out of range'));
        try {
          this.backend.write(sector * VIRTIO_BLK_SECTOR_SIZE, readable.subarray(OUT_HDR.SIZE));
        } catch (e) {
          return finish(this.ioError(`backend write failed: ${describe(e)}`));
        }
        this.stats.writes++;
        return finish(VIRTIO_BLK_S.OK);
      }
      case VIRTIO_BLK_T.FLUSH: {
        try {
          this.backend.flush();
        } catch (e) {
          return finish(this.ioError(`backend flush failed: ${describe(e)}`));
        }
        this.stats.flushes++;
        return finish(VIRTIO_BLK_S.OK);
      }
      case VIRTIO_BLK_T.GET_ID: {
        const n = Math.min(VIRTIO_BLK_ID_BYTES, statusOffset);
        const out = new Uint8Array(n + STATUS_BYTES);
        out.set(this.id.subarray(0, n));
        out[n] = VIRTIO_BLK_S.OK;
        if (n === statusOffset) {
          await queue.writeChain(chain, out, 0);
        } else {
          await queue.writeChain(chain, out.subarray(0, n), 0);
          await queue.writeChain(chain, out.subarray(n), statusOffset);
        }
        this.stats.getIds++;
        return out.length;
      }
      default:
        this.stats.unsupported++;
        this.log.warn(`unsupported:${type}`, `unsupported request type ${type}`);
        return finish(VIRTIO_BLK_S.UNSUPP);
    }
  }

  /** Whole sectors, inside the disk (§5.2.6.1: a request is a multiple of 512 bytes). */
  private inBounds(sector: number, len: number): boolean {
    if (len % VIRTIO_BLK_SECTOR_SIZE !== 0) return false;
    const start = sector * VIRTIO_BLK_SECTOR_SIZE;
    return Number.isSafeInteger(start) && start + len <= this.backend.size;
  }

  private ioError(reason: string): number {
    this.stats.ioErrors++;
    this.log.warn(`ioerr:${reason.split(':')[0] ?? reason}`, `IOERR: ${reason}`);
    return VIRTIO_BLK_S.IOERR;
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
