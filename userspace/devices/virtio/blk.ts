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
import { DMA_CALL_LIMITS, QUEUE_ERROR, QueueError, settleAll, sliceSegments, type DescriptorChain, type DeviceWrite, type SplitQueue, type UsedElement } from './queue.js';
import type { DmaSegment } from '../../bus/device.js';

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

/** Deep enough for a few hundred requests of three descriptors in flight without indirect tables. */
const DEFAULT_QUEUE_SIZE = 1024;
/**
 * Largest data transfer per request. Linux caps requests well below this (max_sectors_kb);
 * the limit keeps a hostile chain from making the device model buffer gigabytes.
 */
export const VIRTIO_BLK_MAX_TRANSFER = 4 * 1024 * 1024;
/**
 * Most bytes of guest buffers one batch holds (reads and writes of 1 MiB DMA calls each, in
 * flight together): enough to keep several calls' worth moving per round trip, little enough
 * that a hostile ring cannot make the device model buffer gigabytes.
 */
const BATCH_BYTES = 16 * 1024 * 1024;
/** Most requests merged into one backend call. */
const MERGE_MAX = 256;

/** A request of a batch while it is served. */
interface Req {
  readonly chain: DescriptorChain;
  readonly type: number;
  readonly sector: number;
  /** OUT data (empty for other types or when refused unread). */
  readonly data: Uint8Array;
  /** Offset of the status byte in the writable part = bytes of IN data. */
  readonly statusOffset: number;
  status: number;
  /** Bytes to return at the start of the writable part (IN data, GET_ID serial). */
  inData: Uint8Array | null;
}

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
   * Serve every available request, a batch at a time: the batch's headers and OUT data in DMA
   * reads that are all in flight at once, adjacent reads and writes merged into one backend call
   * each, then its IN data, status bytes and used entries in one completion write
   * (SplitQueue.complete), which also brings the next snapshot of the ring. Round trips per
   * batch, not per request, are the cost. Requests still reach the backend in ring order, so a
   * FLUSH covers every write before it.
   */
  async process(queue: SplitQueue): Promise<void> {
    for (let chains = await queue.takeAvailable(); chains.length > 0; chains = await queue.takeAvailable()) {
      for (const c of chains) {
        if (c.readableLength < OUT_HDR.SIZE || c.writableLength < STATUS_BYTES) {
          throw new QueueError(QUEUE_ERROR.BAD_REQUEST, `virtio-blk request without header or status byte (head ${c.head})`);
        }
      }
      // At most BATCH_BYTES of buffers at a time, so a hostile ring cannot make us hold gigabytes.
      for (let start = 0; start < chains.length; ) {
        let end = start;
        let bytes = 0;
        while (end < chains.length) {
          const c = chains[end]!;
          const b = this.bufferedBytes(c);
          if (end > start && bytes + b > BATCH_BYTES) break;
          bytes += b;
          end++;
        }
        await this.serveBatch(queue, chains.slice(start, end));
        start = end;
      }
    }
  }

  /** Bytes of a request the device holds while serving it (OUT data read, IN data returned). */
  private bufferedBytes(c: DescriptorChain): number {
    return this.tooBig(c) ? OUT_HDR.SIZE + STATUS_BYTES : c.readableLength + c.writableLength;
  }

  /**
   * One batch: its headers and OUT data in DMA reads of one call each, all in flight at once;
   * then the requests in ring order; then one completion.
   */
  private async serveBatch(queue: SplitQueue, chains: readonly DescriptorChain[]): Promise<void> {
    const dataOut = chains.map((c) => (this.tooBig(c) ? 0 : c.readableLength - OUT_HDR.SIZE));
    // Groups of requests whose headers and data fit one DMA call.
    const groups: { from: number; to: number }[] = [];
    for (let from = 0; from < chains.length; ) {
      let to = from;
      let bytes = 0;
      let segments = 0;
      while (to < chains.length) {
        const c = chains[to]!;
        const b = OUT_HDR.SIZE + dataOut[to]!;
        const n = c.readable.length + 1;
        if (to > from && (bytes + b > DMA_CALL_LIMITS.MAX_BYTES || segments + n > DMA_CALL_LIMITS.MAX_SEGMENTS)) break;
        bytes += b;
        segments += n;
        to++;
      }
      groups.push({ from, to });
      from = to;
    }
    const reads = groups.map(({ from, to }) => {
      // Headers first, then the OUT data, so adjacent writes' data is adjacent in the buffer.
      const segments: DmaSegment[] = [];
      for (let i = from; i < to; i++) segments.push(...sliceSegments(chains[i]!.readable, 0, OUT_HDR.SIZE));
      for (let i = from; i < to; i++) if (dataOut[i]! > 0) segments.push(...sliceSegments(chains[i]!.readable, OUT_HDR.SIZE, dataOut[i]!));
      return queue.readSegments(segments);
    });
    const bufs = await settleAll(reads);
    const reqs: Req[] = [];
    groups.forEach(({ from, to }, g) => {
      const buf = bufs[g]!;
      let dataAt = (to - from) * OUT_HDR.SIZE;
      for (let i = from; i < to; i++) {
        const chain = chains[i]!;
        const header = new DataView(buf.buffer, buf.byteOffset + (i - from) * OUT_HDR.SIZE, OUT_HDR.SIZE);
        const n = dataOut[i]!;
        reqs.push({
          chain,
          type: header.getUint32(OUT_HDR.TYPE, true),
          sector: Number(header.getBigUint64(OUT_HDR.SECTOR, true)),
          data: buf.subarray(dataAt, dataAt + n),
          statusOffset: chain.writableLength - STATUS_BYTES,
          status: VIRTIO_BLK_S.OK,
          inData: null,
        });
        dataAt += n;
      }
    });
    for (let i = 0; i < reqs.length; ) i = this.serveRun(reqs, i);

    // All returned data, then all status bytes: neighbours in guest memory merge into few
    // segments (sequential buffers, a driver's array of status bytes).
    const used: UsedElement[] = [];
    const writes: DeviceWrite[] = [];
    const statusSegments: DmaSegment[] = [];
    const statuses = new Uint8Array(reqs.length);
    reqs.forEach((r, i) => {
      if (r.inData !== null && r.inData.length > 0) {
        writes.push({ segments: sliceSegments(r.chain.writable, 0, r.inData.length), data: r.inData });
      }
      statusSegments.push(...sliceSegments(r.chain.writable, r.statusOffset, STATUS_BYTES));
      statuses[i] = r.status;
      used.push({ id: r.chain.head, len: (r.inData?.length ?? 0) + STATUS_BYTES });
    });
    writes.push({ segments: statusSegments, data: statuses });
    await queue.complete(used, writes);
  }

  /**
   * Serve reqs[i] and the requests after it that continue it on disk (same direction, next
   * sector, all valid) with one backend call; returns the index after the run.
   */
  private serveRun(reqs: Req[], i: number): number {
    const first = reqs[i]!;
    let end = i + 1;
    if (first.type === VIRTIO_BLK_T.IN || first.type === VIRTIO_BLK_T.OUT) {
      let next = first.sector * VIRTIO_BLK_SECTOR_SIZE + this.transferLength(first);
      while (end < reqs.length && end - i < MERGE_MAX) {
        const r = reqs[end]!;
        if (r.type !== first.type || r.sector * VIRTIO_BLK_SECTOR_SIZE !== next || !this.mergeable(r)) break;
        next += this.transferLength(r);
        end++;
      }
      if (end - i > 1 && this.mergeable(first)) {
        const start = first.sector * VIRTIO_BLK_SECTOR_SIZE;
        try {
          if (first.type === VIRTIO_BLK_T.IN) {
            const all = this.backend.read(start, next - start);
            let at = 0;
            for (let k = i; k < end; k++) {
              const r = reqs[k]!;
              r.inData = all.subarray(at, at + r.statusOffset);
              at += r.statusOffset;
              this.stats.reads++;
            }
          } else {
            let at = start;
            for (const piece of this.outPieces(reqs, i, end)) {
              this.backend.write(at, piece);
              at += piece.length;
            }
            this.stats.writes += end - i;
          }
          return end;
        } catch {
          // Serve them one by one below, so each gets its own status.
        }
      }
    }
    for (let k = i; k < Math.max(end, i + 1); k++) this.serveOne(reqs[k]!);
    return Math.max(end, i + 1);
  }

  /**
   * OUT data of reqs[i..end) in as few pieces as it lies in the DMA buffers (one per DMA read),
   * as views: no copying to make one buffer.
   */
  private outPieces(reqs: readonly Req[], i: number, end: number): Uint8Array[] {
    const pieces: Uint8Array[] = [];
    let cur: Uint8Array | undefined;
    for (let k = i; k < end; k++) {
      const d = reqs[k]!.data;
      if (cur !== undefined && cur.buffer === d.buffer && cur.byteOffset + cur.length === d.byteOffset) {
        cur = new Uint8Array(cur.buffer, cur.byteOffset, cur.length + d.length);
        pieces[pieces.length - 1] = cur;
      } else {
        cur = d;
        pieces.push(d);
      }
    }
    return pieces;
  }

  /** Bytes an IN or OUT request moves. */
  private transferLength(r: Req): number {
    return r.type === VIRTIO_BLK_T.IN ? r.statusOffset : r.data.length;
  }

  /** Can this IN/OUT request join a merged backend call (i.e. it would succeed on its own)? */
  private mergeable(r: Req): boolean {
    if (this.tooBig(r.chain)) return false;
    if (r.type === VIRTIO_BLK_T.OUT && this.backend.readOnly) return false;
    return this.inBounds(r.sector, this.transferLength(r));
  }

  private tooBig(c: DescriptorChain): boolean {
    return c.readableLength - OUT_HDR.SIZE > VIRTIO_BLK_MAX_TRANSFER || c.writableLength - STATUS_BYTES > VIRTIO_BLK_MAX_TRANSFER;
  }

  /** Serve one request on its own: sets its status and, for IN and GET_ID, the bytes to return. */
  private serveOne(r: Req): void {
    const { type, sector, statusOffset } = r;
    if (this.tooBig(r.chain) && (type === VIRTIO_BLK_T.IN || type === VIRTIO_BLK_T.OUT)) {
      r.status = this.ioError(`transfer larger than ${VIRTIO_BLK_MAX_TRANSFER} bytes`);
      return;
    }
    switch (type) {
      case VIRTIO_BLK_T.IN: {
        if (!this.inBounds(sector, statusOffset)) {
          r.status = this.ioError('read out of range');
          return;
        }
        try {
          r.inData = this.backend.read(sector * VIRTIO_BLK_SECTOR_SIZE, statusOffset);
        } catch (e) {
          r.status = this.ioError(`backend read failed: ${describe(e)}`);
          return;
        }
        this.stats.reads++;
        return;
      }
      case VIRTIO_BLK_T.OUT: {
        if (this.backend.readOnly) {
          r.status = this.ioError('write to a read-only disk');
          return;
        }
        if (!this.inBounds(sector, r.data.length)) {
          r.status = this.ioError('write out of range');
          return;
        }
        try {
          this.backend.write(sector * VIRTIO_BLK_SECTOR_SIZE, r.data);
        } catch (e) {
          r.status = this.ioError(`backend write failed: ${describe(e)}`);
          return;
        }
        this.stats.writes++;
        return;
      }
      case VIRTIO_BLK_T.FLUSH: {
        try {
          this.backend.flush();
        } catch (e) {
          r.status = this.ioError(`backend flush failed: ${describe(e)}`);
          return;
        }
        this.stats.flushes++;
        return;
      }
      case VIRTIO_BLK_T.GET_ID: {
        // The serial goes at the start of the data buffer; the status byte stays at its end.
        r.inData = this.id.subarray(0, Math.min(VIRTIO_BLK_ID_BYTES, statusOffset));
        this.stats.getIds++;
        return;
      }
      default:
        this.stats.unsupported++;
        this.log.warn(`unsupported:${type}`, `unsupported request type ${type}`);
        r.status = VIRTIO_BLK_S.UNSUPP;
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
