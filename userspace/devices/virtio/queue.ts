/**
 * The device side of a split virtqueue (virtio 1.x §2.7 "Split Virtqueues"), depending only on a
 * DmaPort. Guest memory is reached in batches: one read fetches avail.idx together with used.idx,
 * one the new avail.ring slots together with the whole descriptor table, one each indirect table; used
 * entries are written in one call and used.idx after them (§2.7.8: len before idx).
 *
 * Everything the guest can get wrong surfaces as a QueueError; the transport turns it into
 * DEVICE_NEEDS_RESET (§2.1.2) and this queue is then dropped.
 */
import { DmaError, type DmaPort, type DmaSegment } from '../../bus/device.js';

/** Descriptor flags (§2.7.5 "The Virtqueue Descriptor Table"). */
export const VIRTQ_DESC_F = {
  NEXT: 1,
  WRITE: 2,
  INDIRECT: 4,
} as const;

/** Available ring flags (§2.7.6 "The Virtqueue Available Ring"). */
export const VIRTQ_AVAIL_F = {
  NO_INTERRUPT: 1,
} as const;

/** Used ring flags (§2.7.8 "The Virtqueue Used Ring"). */
export const VIRTQ_USED_F = {
  NO_NOTIFY: 1,
} as const;

/**
 * Byte layout of the three split-ring areas (§2.7, table "Virtqueue Part Alignment and Size";
 * facts §4.4). Offsets are from the start of each area.
 */
export const VIRTQ_LAYOUT = {
  /** struct virtq_desc { le64 addr; le32 len; le16 flags; le16 next; } (§2.7.5) */
  DESC_SIZE: 16,
  DESC_ADDR: 0,
  DESC_LEN: 8,
  DESC_FLAGS: 12,
  DESC_NEXT: 14,
  DESC_ALIGN: 16,
  /** struct virtq_avail { le16 flags; le16 idx; le16 ring[N]; le16 used_event; } (§2.7.6) */
  AVAIL_FLAGS: 0,
  AVAIL_IDX: 2,
  AVAIL_RING: 4,
  AVAIL_ELEM_SIZE: 2,
  AVAIL_ALIGN: 2,
  /** struct virtq_used { le16 flags; le16 idx; struct virtq_used_elem ring[N]; le16 avail_event; } (§2.7.8) */
  USED_FLAGS: 0,
  USED_IDX: 2,
  USED_RING: 4,
  /** struct virtq_used_elem { le32 id; le32 len; } */
  USED_ELEM_SIZE: 8,
  USED_ALIGN: 4,
  /** Largest split queue (§2.7: Queue Size ≤ 32768). */
  MAX_SIZE: 32768,
} as const;

/** Ring indices are free-running 16-bit counters (§2.7.6). */
const IDX_MASK = 0xffff;
const U32 = 0x1_0000_0000;

/** The stable codes of QueueError: each names one way a driver broke §2.7. */
export const QUEUE_ERROR = {
  /** A `next` chain revisits a descriptor (§2.7.5.2: chains must terminate). */
  CHAIN_LOOP: 'CHAIN_LOOP',
  /** More descriptors than the queue size, or an indirect table larger than it (§2.7.5.2, §2.7.5.3.1). */
  CHAIN_TOO_LONG: 'CHAIN_TOO_LONG',
  /** A head or `next` index outside the descriptor table. */
  DESC_INDEX_OUT_OF_RANGE: 'DESC_INDEX_OUT_OF_RANGE',
  /** INDIRECT with NEXT, nested, not at the head, or a length that is not a multiple of 16 (§2.7.5.3.1). */
  BAD_INDIRECT: 'BAD_INDIRECT',
  /** A device-readable descriptor after a device-writable one (§2.7.4.2). */
  DESC_ORDER: 'DESC_ORDER',
  /** A ring, table or buffer outside guest RAM (DmaError from the port). */
  DMA_FAULT: 'DMA_FAULT',
  /** avail.idx moved by more than the queue size (§2.7.6: at most N entries outstanding). */
  AVAIL_IDX_JUMP: 'AVAIL_IDX_JUMP',
  /** used.idx in guest memory differs from what the device last published (§2.7.8: device-owned). */
  USED_IDX_CORRUPT: 'USED_IDX_CORRUPT',
  /** A request whose shape the device type forbids (e.g. virtio-blk without header or status byte). */
  BAD_REQUEST: 'BAD_REQUEST',
} as const;
export type QueueErrorCode = (typeof QUEUE_ERROR)[keyof typeof QUEUE_ERROR];

/** A guest-caused virtqueue violation; the transport answers it with DEVICE_NEEDS_RESET. */
export class QueueError extends Error {
  constructor(
    readonly code: QueueErrorCode,
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'QueueError';
  }
}

/**
 * Most one DmaPort call may carry: the protocol's per-message limits (protocol/messages.ts
 * LIMITS.DMA_BYTES_MAX and DMA_SEGMENTS_MAX, after vfio-user's max_data_xfer_size). Larger
 * transfers are split into several calls.
 */
export const DMA_CALL_LIMITS = {
  MAX_BYTES: 1024 * 1024,
  MAX_SEGMENTS: 1024,
} as const;

/** Split a scatter-gather list into lists that each respect DMA_CALL_LIMITS-like bounds. */
export function splitDmaSegments(
  segments: readonly DmaSegment[],
  maxBytes: number = DMA_CALL_LIMITS.MAX_BYTES,
  maxSegments: number = DMA_CALL_LIMITS.MAX_SEGMENTS,
): DmaSegment[][] {
  const out: DmaSegment[][] = [];
  let current: DmaSegment[] = [];
  let bytes = 0;
  for (const seg of segments) {
    let addr = seg.addr;
    let left = seg.len;
    do {
      if (current.length === maxSegments || bytes === maxBytes) {
        out.push(current);
        current = [];
        bytes = 0;
      }
      const take = Math.min(left, maxBytes - bytes);
      current.push({ addr, len: take });
      bytes += take;
      addr += take;
      left -= take;
    } while (left > 0);
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Where the three areas of one queue live and how they behave (from the transport registers). */
export interface SplitQueueConfig {
  /** Queue size N, a power of two ≤ 32768. */
  readonly size: number;
  /** Descriptor area GPA (QueueDesc). */
  readonly descAddr: number;
  /** Driver (available) area GPA (QueueDriver). */
  readonly driverAddr: number;
  /** Device (used) area GPA (QueueDevice). */
  readonly deviceAddr: number;
  /** VIRTIO_F_EVENT_IDX negotiated (§2.7.10). */
  readonly eventIdx: boolean;
}

/** One available descriptor chain, split into its device-readable and device-writable buffers. */
export interface DescriptorChain {
  /** Head descriptor index: the id to return in the used ring. */
  readonly head: number;
  readonly readable: readonly DmaSegment[];
  readonly writable: readonly DmaSegment[];
  readonly readableLength: number;
  readonly writableLength: number;
}

/** Bytes the device writes into guest buffers as part of a completion (SplitQueue.complete). */
export interface DeviceWrite {
  readonly segments: readonly DmaSegment[];
  /** Exactly the sum of the segment lengths. */
  readonly data: Uint8Array;
}

/** One entry for the used ring (§2.7.8). */
export interface UsedElement {
  readonly id: number;
  /** Bytes the device wrote into the chain's writable buffers. */
  readonly len: number;
}

/**
 * need_event from §2.7.10 (facts §4.5): whether moving the index from `oldIdx` to `newIdx`
 * crossed `event`, all as free-running u16 values.
 */
export function needEvent(event: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - event - 1) & IDX_MASK) < ((newIdx - oldIdx) & IDX_MASK);
}

/**
 * The same bytes in as few segments as possible: neighbours that continue each other in guest
 * memory become one (a batch's headers, status bytes and sequential data buffers usually do).
 */
export function coalesceSegments(segments: readonly DmaSegment[]): DmaSegment[] {
  const out: DmaSegment[] = [];
  let cur: DmaSegment | undefined;
  for (const s of segments) {
    if (s.len === 0) continue;
    if (cur !== undefined && cur.addr + cur.len === s.addr) {
      cur.len += s.len;
      continue;
    }
    cur = { addr: s.addr, len: s.len };
    out.push(cur);
  }
  return out;
}

/** The segments covering bytes [offset, offset+length) of a scatter-gather list. */
export function sliceSegments(
  segments: readonly DmaSegment[],
  offset: number,
  length: number,
): DmaSegment[] {
  const out: DmaSegment[] = [];
  let skip = offset;
  let left = length;
  for (const seg of segments) {
    if (left === 0) break;
    if (skip >= seg.len) {
      skip -= seg.len;
      continue;
    }
    const take = Math.min(seg.len - skip, left);
    out.push({ addr: seg.addr + skip, len: take });
    left -= take;
    skip = 0;
  }
  return out;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** A DescriptorChain under construction. */
interface ChainBuilder {
  readable: DmaSegment[];
  writable: DmaSegment[];
  readableLength: number;
  writableLength: number;
  count: number;
}

/** The device side of one split virtqueue (§2.7). Not reusable after stop(). */
export class SplitQueue {
  /** Next avail.ring slot to fetch (free-running u16). */
  private nextAvail = 0;
  /** used.idx as last written by this device. */
  private publishedUsed = 0;
  /** used.idx at the last notification decision (the "old" of need_event). */
  private signalledUsed = 0;
  /** avail_event as last written, or -1 if never. */
  private writtenAvailEvent = -1;
  /** Heads fetched from the ring but not yet handed out. */
  private pendingHeads: number[] = [];
  private pendingPos = 0;
  /** Snapshot of the descriptor table taken after reading avail.idx (so it covers pendingHeads). */
  private table: DataView | null = null;
  private usedBatch: UsedElement[] = [];
  private stoppedFlag = false;
  /**
   * The last snapshot was read after this device's last publication and has not been used yet,
   * so takeAvailable() may trust it without another read.
   */
  private fresh = false;
  /** avail.flags and used_event from the last snapshot. */
  private snapAvailFlags = 0;
  private snapUsedEvent = 0;
  /** Raises the used-buffer interrupt; complete() calls it when the driver wants one. */
  onInterrupt: (() => void) | null = null;
  /** walk()'s visited marks (see there); an indirect table is at most `size` entries. */
  private readonly ringMarks: Uint32Array;
  private readonly indirectMarks: Uint32Array;
  private walkId = 0;

  constructor(
    private readonly dma: DmaPort,
    readonly config: SplitQueueConfig,
  ) {
    if (!isPowerOfTwo(config.size) || config.size > VIRTQ_LAYOUT.MAX_SIZE) {
      throw new Error(`assertion: split queue size ${config.size} is not a power of two ≤ 32768`);
    }
    this.ringMarks = new Uint32Array(config.size);
    this.indirectMarks = new Uint32Array(config.size);
  }

  private nextWalkId(): number {
    if (this.walkId === 0xffff_ffff) {
      this.ringMarks.fill(0);
      this.indirectMarks.fill(0);
      this.walkId = 0;
    }
    return ++this.walkId;
  }

  /** True once stop() was called (device reset): the queue no longer touches guest memory. */
  get stopped(): boolean {
    return this.stoppedFlag;
  }

  /** Detach from guest memory; pending work of an in-flight handler is dropped. */
  stop(): void {
    this.stoppedFlag = true;
  }

  /** Used entries added but not yet published. */
  get unpublished(): number {
    return this.usedBatch.length;
  }

  /**
   * The next available chain, or null if the driver has published nothing new. With EVENT_IDX
   * an empty ring also publishes avail_event = next index (§2.7.10), then looks once more so a
   * buffer added meanwhile is not missed.
   */
  async pop(): Promise<DescriptorChain | null> {
    this.fresh = false;
    if (this.pendingPos >= this.pendingHeads.length) {
      await this.fetchAvail();
      if (this.pendingPos >= this.pendingHeads.length && this.config.eventIdx) {
        if (this.writtenAvailEvent !== this.nextAvail) {
          await this.writeAvailEvent(this.nextAvail);
          await this.fetchAvail();
        }
      }
      if (this.pendingPos >= this.pendingHeads.length) return null;
    }
    const head = this.pendingHeads[this.pendingPos++];
    if (head === undefined) throw new Error('assertion: pending head missing');
    return this.walk(head);
  }

  /** Queue a used entry; it reaches guest memory at the next flushUsed(). */
  addUsed(head: number, len: number): void {
    if (head < 0 || head >= this.config.size || len < 0 || len >= U32) {
      throw new Error(`assertion: bad used entry ${head}/${len}`);
    }
    this.usedBatch.push({ id: head, len });
  }

  /**
   * Publish queued used entries: the elements first, then used.idx (§2.7.8.2). Returns the
   * number of entries published.
   */
  async flushUsed(): Promise<number> {
    const batch = this.usedBatch;
    if (batch.length === 0) return 0;
    this.usedBatch = [];
    const { size, deviceAddr } = this.config;
    const bytes = new Uint8Array(batch.length * VIRTQ_LAYOUT.USED_ELEM_SIZE);
    const view = new DataView(bytes.buffer);
    batch.forEach((e, i) => {
      view.setUint32(i * VIRTQ_LAYOUT.USED_ELEM_SIZE, e.id, true);
      view.setUint32(i * VIRTQ_LAYOUT.USED_ELEM_SIZE + 4, e.len, true);
    });
    await this.dmaWrite(this.ringSegments(deviceAddr + VIRTQ_LAYOUT.USED_RING, VIRTQ_LAYOUT.USED_ELEM_SIZE, this.publishedUsed % size, batch.length), bytes);
    const newIdx = (this.publishedUsed + batch.length) & IDX_MASK;
    await this.dmaWrite([{ addr: deviceAddr + VIRTQ_LAYOUT.USED_IDX, len: 2 }], le16(newIdx));
    this.publishedUsed = newIdx;
    return batch.length;
  }

  /**
   * Whether the driver wants an interrupt for what was published since the last call: used_event
   * and need_event with EVENT_IDX (§2.7.10), else the NO_INTERRUPT flag (§2.7.7).
   */
  async needsNotification(): Promise<boolean> {
    const oldIdx = this.signalledUsed;
    const newIdx = this.publishedUsed;
    this.signalledUsed = newIdx;
    if (oldIdx === newIdx) return false;
    const { driverAddr, size } = this.config;
    if (this.config.eventIdx) {
      const usedEventAddr = driverAddr + VIRTQ_LAYOUT.AVAIL_RING + size * VIRTQ_LAYOUT.AVAIL_ELEM_SIZE;
      const b = await this.dmaRead([{ addr: usedEventAddr, len: 2 }]);
      return needEvent(readLe16(b, 0), newIdx, oldIdx);
    }
    const b = await this.dmaRead([{ addr: driverAddr + VIRTQ_LAYOUT.AVAIL_FLAGS, len: 2 }]);
    return (readLe16(b, 0) & VIRTQ_AVAIL_F.NO_INTERRUPT) === 0;
  }

  /**
   * Every chain the driver has made available, walked (the batch counterpart of pop()). One DMA
   * read takes avail (flags, idx, ring, used_event), used.idx and the descriptor table — or none
   * when complete() has just taken that snapshot; one more takes all the indirect tables. With
   * EVENT_IDX an empty ring first publishes avail_event and looks again in the same round trip.
   */
  async takeAvailable(): Promise<DescriptorChain[]> {
    if (!this.fresh) await this.fetchSnapshot();
    this.fresh = false;
    if (this.pendingPos >= this.pendingHeads.length && this.config.eventIdx && this.writtenAvailEvent !== this.nextAvail) {
      // The write and the read are served in order by the VMM (protocol §4.2): the read sees
      // everything the driver published before it could have seen the new avail_event.
      const value = this.nextAvail;
      const [written, snap] = await Promise.allSettled([this.dmaWriteOnce([this.availEventSegment()], le16(value)), this.dmaReadOnce(this.snapshotSegments())]);
      if (written.status === 'rejected') throw written.reason;
      if (snap.status === 'rejected') throw snap.reason;
      this.writtenAvailEvent = value;
      this.applySnapshot(snap.value);
    }
    const heads = this.pendingHeads.slice(this.pendingPos);
    this.pendingPos = this.pendingHeads.length;
    if (heads.length === 0) return [];
    const indirect = await this.fetchIndirectTables(heads);
    const chains: DescriptorChain[] = [];
    for (const head of heads) chains.push(await this.walk(head, indirect.get(head)));
    return chains;
  }

  /**
   * Complete a batch in one DMA write: `writes` (data and status bytes, in order), then the used
   * elements, used.idx and (EVENT_IDX) avail_event; a write larger than one DMA call goes in
   * several, the ring part last and only after the data parts succeeded. A snapshot read follows
   * in the same round trip; from it the driver's used_event (or NO_INTERRUPT) decides whether
   * onInterrupt is called, and the next takeAvailable() needs no DMA. Returns that decision.
   */
  async complete(used: readonly UsedElement[], writes: readonly DeviceWrite[] = []): Promise<boolean> {
    const { size, deviceAddr, eventIdx } = this.config;
    const segments: DmaSegment[] = [];
    let total = 0;
    for (const w of writes) {
      for (const s of w.segments) segments.push(s);
      total += w.data.length;
    }
    const ringStart = total;
    const elemBytes = used.length * VIRTQ_LAYOUT.USED_ELEM_SIZE;
    const withEvent = eventIdx && this.pendingPos >= this.pendingHeads.length;
    const tail = elemBytes + 2 + (withEvent ? 2 : 0);
    // Every byte is set below (the writes, then the ring part).
    const raw = Buffer.allocUnsafeSlow(total + tail);
    const data = new Uint8Array(raw.buffer, raw.byteOffset, total + tail);
    let at = 0;
    for (const w of writes) {
      data.set(w.data, at);
      at += w.data.length;
    }
    const view = new DataView(data.buffer, data.byteOffset + ringStart, tail);
    used.forEach((e, i) => {
      if (e.id < 0 || e.id >= size || e.len < 0 || e.len >= U32) throw new Error(`assertion: bad used entry ${e.id}/${e.len}`);
      view.setUint32(i * VIRTQ_LAYOUT.USED_ELEM_SIZE, e.id, true);
      view.setUint32(i * VIRTQ_LAYOUT.USED_ELEM_SIZE + 4, e.len, true);
    });
    const newIdx = (this.publishedUsed + used.length) & IDX_MASK;
    view.setUint16(elemBytes, newIdx, true);
    if (used.length > 0) {
      for (const s of this.ringSegments(deviceAddr + VIRTQ_LAYOUT.USED_RING, VIRTQ_LAYOUT.USED_ELEM_SIZE, this.publishedUsed % size, used.length)) segments.push(s);
    }
    segments.push({ addr: deviceAddr + VIRTQ_LAYOUT.USED_IDX, len: 2 });
    const eventValue = this.nextAvail;
    if (withEvent) {
      view.setUint16(elemBytes + 2, eventValue, true);
      segments.push(this.availEventSegment());
    }
    const parts = splitDmaSegments(coalesceSegments(segments));
    let pos = 0;
    const earlier: Promise<void>[] = [];
    for (let i = 0; i + 1 < parts.length; i++) {
      const part = parts[i] as DmaSegment[];
      const len = part.reduce((n, s) => n + s.len, 0);
      earlier.push(this.dmaWriteOnce(part, data.subarray(pos, pos + len)));
      pos += len;
    }
    // A used.idx must never cover data that did not arrive: the last part waits for the others.
    if (earlier.length > 0) await settleAll(earlier);
    const last = parts[parts.length - 1] as DmaSegment[];
    const pending = Promise.allSettled([this.dmaWriteOnce(last, data.subarray(pos)), this.dmaReadOnce(this.snapshotSegments())]);
    // Interrupt now if the driver's last known wish says so: the irq message leaves after the
    // write, and the VMM applies messages in order (protocol §4.2), so the guest cannot see it
    // before the used ring. A wish changed since (read back below) can only add an interrupt;
    // one too many is harmless (the driver finds nothing new).
    const oldIdx = this.signalledUsed;
    this.signalledUsed = newIdx;
    const early = oldIdx !== newIdx && this.wantsInterrupt(newIdx, oldIdx);
    if (early && !this.stoppedFlag) this.onInterrupt?.();
    const [written, snap] = await pending;
    if (written.status === 'rejected') throw written.reason;
    if (snap.status === 'rejected') throw snap.reason;
    this.publishedUsed = newIdx;
    if (withEvent) this.writtenAvailEvent = eventValue;
    this.applySnapshot(snap.value);
    const late = !early && oldIdx !== newIdx && this.wantsInterrupt(newIdx, oldIdx);
    if (late && !this.stoppedFlag) this.onInterrupt?.();
    return early || late;
  }

  /** need_event on used_event (EVENT_IDX) or the NO_INTERRUPT flag, as of the last snapshot. */
  private wantsInterrupt(newIdx: number, oldIdx: number): boolean {
    if (this.config.eventIdx) return needEvent(this.snapUsedEvent, newIdx, oldIdx);
    return (this.snapAvailFlags & VIRTQ_AVAIL_F.NO_INTERRUPT) === 0;
  }

  /** Read the given scatter-gather list (any length; several DMA calls in flight at once if needed). */
  async readSegments(segments: readonly DmaSegment[]): Promise<Uint8Array> {
    return this.dmaRead(segments);
  }

  /** Bytes [offset, offset+length) of the chain's device-readable buffers, in one DMA read. */
  async readChain(chain: DescriptorChain, offset = 0, length = chain.readableLength - offset): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > chain.readableLength) {
      throw new Error('assertion: read beyond the readable part of a chain');
    }
    if (length === 0) return new Uint8Array(0);
    return this.dmaRead(sliceSegments(chain.readable, offset, length));
  }

  /** Write `data` into the chain's device-writable buffers from `offset`, in one DMA write. */
  async writeChain(chain: DescriptorChain, data: Uint8Array, offset = 0): Promise<void> {
    if (offset < 0 || offset + data.length > chain.writableLength) {
      throw new Error('assertion: write beyond the writable part of a chain');
    }
    if (data.length === 0) return;
    await this.dmaWrite(sliceSegments(chain.writable, offset, data.length), data);
  }

  /** Fetch avail.idx (and check used.idx), then the new ring slots and the descriptor table. */
  private async fetchAvail(): Promise<void> {
    const { size, driverAddr, deviceAddr, descAddr } = this.config;
    const head = await this.dmaRead([
      { addr: driverAddr + VIRTQ_LAYOUT.AVAIL_IDX, len: 2 },
      { addr: deviceAddr + VIRTQ_LAYOUT.USED_IDX, len: 2 },
    ]);
    const availIdx = readLe16(head, 0);
    const usedIdx = readLe16(head, 2);
    if (usedIdx !== this.publishedUsed) {
      throw new QueueError(QUEUE_ERROR.USED_IDX_CORRUPT, `used.idx is ${usedIdx}, device published ${this.publishedUsed}`);
    }
    const count = (availIdx - this.nextAvail) & IDX_MASK;
    if (count === 0) return;
    if (count > size) {
      throw new QueueError(QUEUE_ERROR.AVAIL_IDX_JUMP, `avail.idx jumped from ${this.nextAvail} to ${availIdx} (queue size ${size})`);
    }
    // The new ring slots and the whole descriptor table in one scatter-gather read.
    const slotSegments = this.ringSegments(driverAddr + VIRTQ_LAYOUT.AVAIL_RING, VIRTQ_LAYOUT.AVAIL_ELEM_SIZE, this.nextAvail % size, count);
    const tableBytes = size * VIRTQ_LAYOUT.DESC_SIZE;
    const slots = await this.dmaRead([...slotSegments, { addr: descAddr, len: tableBytes }]);
    const slotBytes = count * VIRTQ_LAYOUT.AVAIL_ELEM_SIZE;
    this.table = new DataView(slots.buffer, slots.byteOffset + slotBytes, tableBytes);
    const heads: number[] = [];
    for (let i = 0; i < count; i++) heads.push(readLe16(slots, i * VIRTQ_LAYOUT.AVAIL_ELEM_SIZE));
    this.pendingHeads = heads;
    this.pendingPos = 0;
    this.nextAvail = availIdx;
  }

  /** avail (flags, idx, ring and, with EVENT_IDX, used_event), used.idx, the descriptor table: idx before ring before table. */
  private snapshotSegments(): DmaSegment[] {
    const { size, driverAddr, deviceAddr, descAddr, eventIdx } = this.config;
    return [
      { addr: driverAddr, len: VIRTQ_LAYOUT.AVAIL_RING + size * VIRTQ_LAYOUT.AVAIL_ELEM_SIZE + (eventIdx ? 2 : 0) },
      { addr: deviceAddr + VIRTQ_LAYOUT.USED_IDX, len: 2 },
      { addr: descAddr, len: size * VIRTQ_LAYOUT.DESC_SIZE },
    ];
  }

  private async fetchSnapshot(): Promise<void> {
    this.applySnapshot(await this.dmaReadOnce(this.snapshotSegments()));
  }

  /** Take the new ring slots of a snapshot (after pending ones) and its descriptor table. */
  private applySnapshot(bytes: Uint8Array): void {
    const { size, eventIdx } = this.config;
    const availLen = VIRTQ_LAYOUT.AVAIL_RING + size * VIRTQ_LAYOUT.AVAIL_ELEM_SIZE + (eventIdx ? 2 : 0);
    const tableBytes = size * VIRTQ_LAYOUT.DESC_SIZE;
    this.snapAvailFlags = readLe16(bytes, VIRTQ_LAYOUT.AVAIL_FLAGS);
    const availIdx = readLe16(bytes, VIRTQ_LAYOUT.AVAIL_IDX);
    if (eventIdx) this.snapUsedEvent = readLe16(bytes, availLen - 2);
    const usedIdx = readLe16(bytes, availLen);
    if (usedIdx !== this.publishedUsed) {
      throw new QueueError(QUEUE_ERROR.USED_IDX_CORRUPT, `used.idx is ${usedIdx}, device published ${this.publishedUsed}`);
    }
    const count = (availIdx - this.nextAvail) & IDX_MASK;
    const outstanding = this.pendingHeads.length - this.pendingPos;
    if (count + outstanding > size) {
      throw new QueueError(QUEUE_ERROR.AVAIL_IDX_JUMP, `avail.idx jumped from ${this.nextAvail} to ${availIdx} (queue size ${size})`);
    }
    this.table = new DataView(bytes.buffer, bytes.byteOffset + availLen + 2, tableBytes);
    const heads = this.pendingHeads.slice(this.pendingPos);
    for (let i = 0; i < count; i++) {
      const slot = (this.nextAvail + i) % size;
      heads.push(readLe16(bytes, VIRTQ_LAYOUT.AVAIL_RING + slot * VIRTQ_LAYOUT.AVAIL_ELEM_SIZE));
    }
    this.pendingHeads = heads;
    this.pendingPos = 0;
    this.nextAvail = availIdx;
    this.fresh = true;
  }

  /** The indirect tables of these heads (those whose head descriptor is INDIRECT), in one read. */
  private async fetchIndirectTables(heads: readonly number[]): Promise<Map<number, DataView>> {
    const out = new Map<number, DataView>();
    const table = this.table;
    if (table === null) return out;
    const size = this.config.size;
    const wanted: { head: number; addr: number; len: number }[] = [];
    const seen = new Set<number>();
    for (const head of heads) {
      if (head >= size || seen.has(head)) continue;
      seen.add(head);
      const base = head * VIRTQ_LAYOUT.DESC_SIZE;
      const flags = table.getUint16(base + VIRTQ_LAYOUT.DESC_FLAGS, true);
      const len = table.getUint32(base + VIRTQ_LAYOUT.DESC_LEN, true);
      // Malformed ones are left to walk(), which reports them.
      if ((flags & VIRTQ_DESC_F.INDIRECT) === 0 || (flags & VIRTQ_DESC_F.NEXT) !== 0) continue;
      if (len === 0 || len % VIRTQ_LAYOUT.DESC_SIZE !== 0 || len / VIRTQ_LAYOUT.DESC_SIZE > size) continue;
      wanted.push({ head, addr: readLe64(table, base + VIRTQ_LAYOUT.DESC_ADDR), len });
    }
    if (wanted.length === 0) return out;
    const bytes = await this.dmaRead(wanted.map((w) => ({ addr: w.addr, len: w.len })));
    let at = 0;
    for (const w of wanted) {
      out.set(w.head, new DataView(bytes.buffer, bytes.byteOffset + at, w.len));
      at += w.len;
    }
    return out;
  }

  private availEventSegment(): DmaSegment {
    const { deviceAddr, size } = this.config;
    return { addr: deviceAddr + VIRTQ_LAYOUT.USED_RING + size * VIRTQ_LAYOUT.USED_ELEM_SIZE, len: 2 };
  }

  private async writeAvailEvent(value: number): Promise<void> {
    const { deviceAddr, size } = this.config;
    const addr = deviceAddr + VIRTQ_LAYOUT.USED_RING + size * VIRTQ_LAYOUT.USED_ELEM_SIZE;
    await this.dmaWrite([{ addr, len: 2 }], le16(value));
    this.writtenAvailEvent = value;
  }

  /** Follow a chain from `head` through the table snapshot and at most one indirect table. */
  private async walk(head: number, prefetched?: DataView): Promise<DescriptorChain> {
    const size = this.config.size;
    let table = this.table;
    if (table === null) throw new Error('assertion: descriptor table not fetched');
    if (head >= size) {
      throw new QueueError(QUEUE_ERROR.DESC_INDEX_OUT_OF_RANGE, `head ${head} ≥ queue size ${size}`);
    }
    const chain: ChainBuilder = { readable: [], writable: [], readableLength: 0, writableLength: 0, count: 0 };
    let tableSize = size;
    // Loop detection without an allocation per chain: a descriptor is visited when its mark
    // holds this walk's number (one mark array for the ring's table, one for an indirect table).
    const walkId = this.nextWalkId();
    let visited = this.ringMarks;
    let indirect = false;
    let index = head;
    visited[index] = walkId;
    for (;;) {
      const base = index * VIRTQ_LAYOUT.DESC_SIZE;
      const addr = readLe64(table, base + VIRTQ_LAYOUT.DESC_ADDR);
      const len = table.getUint32(base + VIRTQ_LAYOUT.DESC_LEN, true);
      const flags = table.getUint16(base + VIRTQ_LAYOUT.DESC_FLAGS, true);
      const next = table.getUint16(base + VIRTQ_LAYOUT.DESC_NEXT, true);

      if (flags & VIRTQ_DESC_F.INDIRECT) {
        // §2.7.5.3.1: only as the whole chain (head), never with NEXT, never inside a table.
        if (indirect || index !== head || chain.count > 0) {
          throw new QueueError(QUEUE_ERROR.BAD_INDIRECT, `indirect descriptor ${index} is nested or not at the head`);
        }
        if (flags & VIRTQ_DESC_F.NEXT) {
          throw new QueueError(QUEUE_ERROR.BAD_INDIRECT, `indirect descriptor ${index} has NEXT set`);
        }
        if (len === 0 || len % VIRTQ_LAYOUT.DESC_SIZE !== 0) {
          throw new QueueError(QUEUE_ERROR.BAD_INDIRECT, `indirect table length ${len} is not a non-zero multiple of 16`);
        }
        tableSize = len / VIRTQ_LAYOUT.DESC_SIZE;
        if (tableSize > size) {
          throw new QueueError(QUEUE_ERROR.CHAIN_TOO_LONG, `indirect table of ${tableSize} descriptors exceeds queue size ${size}`);
        }
        if (prefetched !== undefined && prefetched.byteLength === len) {
          table = prefetched;
        } else {
          const bytes = await this.dmaRead([{ addr, len }]);
          table = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        }
        visited = this.indirectMarks;
        indirect = true;
        index = 0;
        visited[0] = walkId;
        continue;
      }

      chain.count++;
      if (chain.count > size) {
        throw new QueueError(QUEUE_ERROR.CHAIN_TOO_LONG, `chain from head ${head} is longer than queue size ${size}`);
      }
      if (len > 0) {
        if (flags & VIRTQ_DESC_F.WRITE) {
          chain.writable.push({ addr, len });
          chain.writableLength += len;
        } else {
          if (chain.writable.length > 0) {
            throw new QueueError(QUEUE_ERROR.DESC_ORDER, `readable descriptor ${index} after a writable one`);
          }
          chain.readable.push({ addr, len });
          chain.readableLength += len;
        }
      }
      if ((flags & VIRTQ_DESC_F.NEXT) === 0) break;
      if (next >= tableSize) {
        throw new QueueError(QUEUE_ERROR.DESC_INDEX_OUT_OF_RANGE, `next ${next} ≥ table size ${tableSize}`);
      }
      if (visited[next] === walkId) {
        throw new QueueError(QUEUE_ERROR.CHAIN_LOOP, `chain from head ${head} loops at descriptor ${next}`);
      }
      visited[next] = walkId;
      index = next;
    }
    return {
      head,
      readable: chain.readable,
      writable: chain.writable,
      readableLength: chain.readableLength,
      writableLength: chain.writableLength,
    };
  }

  /** Segments for `count` ring elements from slot `start`, wrapping at the queue size. */
  private ringSegments(ringAddr: number, elemSize: number, start: number, count: number): DmaSegment[] {
    const first = Math.min(count, this.config.size - start);
    const segs: DmaSegment[] = [{ addr: ringAddr + start * elemSize, len: first * elemSize }];
    if (count > first) segs.push({ addr: ringAddr, len: (count - first) * elemSize });
    return segs;
  }

  private async dmaRead(segments: readonly DmaSegment[]): Promise<Uint8Array> {
    const parts = splitDmaSegments(coalesceSegments(segments));
    if (parts.length === 1 && parts[0]) return this.dmaReadOnce(parts[0]);
    // The parts are independent: all in flight at once.
    const chunks = await settleAll(parts.map((part) => this.dmaReadOnce(part)));
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let pos = 0;
    for (const c of chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }

  private async dmaWrite(segments: readonly DmaSegment[], data: Uint8Array): Promise<void> {
    let pos = 0;
    for (const part of splitDmaSegments(coalesceSegments(segments))) {
      const len = part.reduce((n, s) => n + s.len, 0);
      await this.dmaWriteOnce(part, data.subarray(pos, pos + len));
      pos += len;
    }
  }

  private async dmaReadOnce(segments: readonly DmaSegment[]): Promise<Uint8Array> {
    this.checkRunning();
    try {
      return await this.dma.read(segments);
    } catch (e) {
      throw toQueueError(e);
    }
  }

  private async dmaWriteOnce(segments: readonly DmaSegment[], data: Uint8Array): Promise<void> {
    this.checkRunning();
    try {
      await this.dma.write(segments, data);
    } catch (e) {
      throw toQueueError(e);
    }
  }

  private checkRunning(): void {
    if (this.stoppedFlag) throw new QueueStoppedError();
  }
}

/** Thrown into an in-flight handler whose queue was reset under it; not a guest error. */
export class QueueStoppedError extends Error {
  readonly code = 'QUEUE_STOPPED';
  constructor() {
    super('virtqueue stopped by device reset');
    this.name = 'QueueStoppedError';
  }
}

/**
 * A DmaError from the port (or an error reply carrying the same DMA_FAULT code, as a protocol
 * DmaPort may surface it) is the guest's fault: a buffer outside its RAM.
 */
function toQueueError(e: unknown): unknown {
  const code = typeof e === 'object' && e !== null && 'code' in e ? (e as { code: unknown }).code : undefined;
  if (e instanceof DmaError || code === QUEUE_ERROR.DMA_FAULT) {
    return new QueueError(QUEUE_ERROR.DMA_FAULT, e instanceof Error ? e.message : String(e), { cause: e });
  }
  return e;
}

/** Promise.all that lets every promise settle (no unhandled rejections), then throws the first error. */
export async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

function readLe16(b: Uint8Array, off: number): number {
  return (b[off] ?? 0) | ((b[off + 1] ?? 0) << 8);
}

function readLe64(view: DataView, off: number): number {
  return view.getUint32(off, true) + view.getUint32(off + 4, true) * U32;
}

function le16(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff, (value >>> 8) & 0xff);
}
