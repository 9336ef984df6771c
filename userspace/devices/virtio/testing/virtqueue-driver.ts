/**
 * Test double for the guest driver side of a split virtqueue (virtio 1.x §2.7.13 "Supplying
 * Buffers to The Device", §2.7.14 "Receiving Used Buffers From The Device"): it lays out the
 * descriptor table, available and used rings in GuestMemory, adds direct and indirect chains,
 * decides whether to kick (avail_event / NO_NOTIFY) and collects used entries. Raw writers let
 * tests build the malformed rings a buggy or hostile guest would.
 */
import { needEvent, VIRTQ_DESC_F, VIRTQ_LAYOUT, VIRTQ_AVAIL_F, VIRTQ_USED_F, type UsedElement } from '../queue.js';
import type { GuestAllocator, GuestMemory } from './guest-memory.js';

/** One buffer of a chain as the driver sees it. */
export interface DriverBuffer {
  addr: number;
  len: number;
  /** Device-writable (VIRTQ_DESC_F_WRITE). */
  write: boolean;
}

/** A raw descriptor for building malformed tables. */
export interface RawDescriptor {
  addr: number;
  len: number;
  flags: number;
  next: number;
}

/** Where the three areas are. */
export interface QueueLayout {
  size: number;
  descAddr: number;
  availAddr: number;
  usedAddr: number;
}

/** Driver side of one split virtqueue in GuestMemory. */
export class VirtqueueDriver {
  /** avail.idx the driver will publish next (shadow). */
  private availShadow = 0;
  /** avail.idx at the last publish (the "old" of need_event for kicks). */
  private publishedAvail = 0;
  private lastUsed = 0;
  private readonly free: number[] = [];
  /** Descriptor count per head, to return them to the free list. */
  private readonly chainLength = new Map<number, number>();

  constructor(
    readonly memory: GuestMemory,
    readonly allocator: GuestAllocator,
    readonly layout: QueueLayout,
    private readonly eventIdx: boolean,
  ) {
    for (let i = 0; i < layout.size; i++) this.free.push(i);
    // The driver zeroes its rings before handing them over (§2.7.13 starts from idx 0).
    memory.bytes.fill(0, layout.descAddr, layout.descAddr + layout.size * VIRTQ_LAYOUT.DESC_SIZE);
    memory.bytes.fill(0, layout.availAddr, layout.availAddr + VIRTQ_LAYOUT.AVAIL_RING + 2 * layout.size + 2);
    memory.bytes.fill(0, layout.usedAddr, layout.usedAddr + VIRTQ_LAYOUT.USED_RING + 8 * layout.size + 2);
  }

  /** Allocate the three areas with their spec alignments (§2.7 table). */
  static allocate(allocator: GuestAllocator, size: number, eventIdx: boolean): VirtqueueDriver {
    const descAddr = allocator.alloc(size * VIRTQ_LAYOUT.DESC_SIZE, VIRTQ_LAYOUT.DESC_ALIGN);
    const availAddr = allocator.alloc(VIRTQ_LAYOUT.AVAIL_RING + 2 * size + 2, VIRTQ_LAYOUT.AVAIL_ALIGN);
    const usedAddr = allocator.alloc(VIRTQ_LAYOUT.USED_RING + 8 * size + 2, VIRTQ_LAYOUT.USED_ALIGN);
    return new VirtqueueDriver(allocator.memory, allocator, { size, descAddr, availAddr, usedAddr }, eventIdx);
  }

  /** A fresh zeroed buffer in guest RAM. */
  buffer(len: number, data?: Uint8Array): number {
    const addr = this.allocator.alloc(Math.max(len, 1), 16);
    this.memory.bytes.fill(0, addr, addr + len);
    if (data) this.memory.fill(addr, data);
    return addr;
  }

  /** Descriptors not in use. */
  get freeCount(): number {
    return this.free.length;
  }

  /**
   * Add a chain to the available ring (not yet visible: see publish()). With `indirect`, the
   * buffers go into a separate table referenced by one INDIRECT descriptor (§2.7.5.3).
   */
  addChain(buffers: readonly DriverBuffer[], options: { indirect?: boolean } = {}): number {
    if (buffers.length === 0) throw new Error('assertion: empty chain');
    if (options.indirect) {
      const tableAddr = this.allocator.alloc(buffers.length * VIRTQ_LAYOUT.DESC_SIZE, VIRTQ_LAYOUT.DESC_ALIGN);
      buffers.forEach((b, i) => {
        const last = i === buffers.length - 1;
        this.writeDescriptorAt(tableAddr, i, {
          addr: b.addr,
          len: b.len,
          flags: (b.write ? VIRTQ_DESC_F.WRITE : 0) | (last ? 0 : VIRTQ_DESC_F.NEXT),
          next: last ? 0 : i + 1,
        });
      });
      const head = this.takeDescriptors(1)[0] as number;
      this.writeDescriptor(head, { addr: tableAddr, len: buffers.length * VIRTQ_LAYOUT.DESC_SIZE, flags: VIRTQ_DESC_F.INDIRECT, next: 0 });
      this.chainLength.set(head, 1);
      this.pushHead(head);
      return head;
    }
    const ids = this.takeDescriptors(buffers.length);
    buffers.forEach((b, i) => {
      const next = ids[i + 1];
      this.writeDescriptor(ids[i] as number, {
        addr: b.addr,
        len: b.len,
        flags: (b.write ? VIRTQ_DESC_F.WRITE : 0) | (next !== undefined ? VIRTQ_DESC_F.NEXT : 0),
        next: next ?? 0,
      });
    });
    const head = ids[0] as number;
    this.chainLength.set(head, ids.length);
    this.pushHead(head);
    return head;
  }

  /**
   * Make added chains visible (write avail.idx) and say whether the device wants a notification:
   * avail_event with EVENT_IDX, else used.flags NO_NOTIFY (§2.7.10, §2.7.7).
   */
  publish(): boolean {
    const { availAddr, usedAddr, size } = this.layout;
    this.memory.setU16(availAddr + VIRTQ_LAYOUT.AVAIL_IDX, this.availShadow);
    const oldIdx = this.publishedAvail;
    const newIdx = this.availShadow;
    this.publishedAvail = newIdx;
    if (oldIdx === newIdx) return false;
    if (this.eventIdx) {
      const availEvent = this.memory.u16(usedAddr + VIRTQ_LAYOUT.USED_RING + size * VIRTQ_LAYOUT.USED_ELEM_SIZE);
      return needEvent(availEvent, newIdx, oldIdx);
    }
    return (this.memory.u16(usedAddr + VIRTQ_LAYOUT.USED_FLAGS) & VIRTQ_USED_F.NO_NOTIFY) === 0;
  }

  /**
   * Used entries the device published since the last call; their descriptors are freed. With
   * EVENT_IDX, used_event then asks for an interrupt at the next completion.
   */
  takeUsed(): UsedElement[] {
    const { usedAddr, size } = this.layout;
    const usedIdx = this.memory.u16(usedAddr + VIRTQ_LAYOUT.USED_IDX);
    const out: UsedElement[] = [];
    while (this.lastUsed !== usedIdx) {
      const slot = usedAddr + VIRTQ_LAYOUT.USED_RING + (this.lastUsed % size) * VIRTQ_LAYOUT.USED_ELEM_SIZE;
      const id = this.memory.u32(slot);
      const len = this.memory.u32(slot + 4);
      out.push({ id, len });
      this.releaseChain(id);
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    // Re-enable interrupts for the next completion, as Linux's virtqueue_enable_cb does.
    if (this.eventIdx) this.setUsedEvent(this.lastUsed);
    return out;
  }

  /** used_event (avail.ring[N]): interrupt me when used.idx passes this (§2.7.10). */
  setUsedEvent(value: number): void {
    const { availAddr, size } = this.layout;
    this.memory.setU16(availAddr + VIRTQ_LAYOUT.AVAIL_RING + size * VIRTQ_LAYOUT.AVAIL_ELEM_SIZE, value);
  }

  /** avail.flags NO_INTERRUPT (§2.7.7), the hint used without EVENT_IDX. */
  setNoInterrupt(on: boolean): void {
    this.memory.setU16(this.layout.availAddr + VIRTQ_LAYOUT.AVAIL_FLAGS, on ? VIRTQ_AVAIL_F.NO_INTERRUPT : 0);
  }

  /** avail_event as the device last wrote it. */
  get availEvent(): number {
    const { usedAddr, size } = this.layout;
    return this.memory.u16(usedAddr + VIRTQ_LAYOUT.USED_RING + size * VIRTQ_LAYOUT.USED_ELEM_SIZE);
  }

  get usedIdx(): number {
    return this.memory.u16(this.layout.usedAddr + VIRTQ_LAYOUT.USED_IDX);
  }

  /**
   * Start every index at `value` (as if 'value' entries had already gone round): the queue must
   * be fresh on both sides. Used to test wrap-around at 65536 without 65536 requests.
   */
  startIndicesAt(value: number): void {
    this.availShadow = value & 0xffff;
    this.publishedAvail = this.availShadow;
    this.lastUsed = this.availShadow;
  }

  // --- raw access for malformed-ring tests ---

  writeDescriptor(index: number, d: RawDescriptor): void {
    this.writeDescriptorAt(this.layout.descAddr, index, d);
  }

  writeDescriptorAt(tableAddr: number, index: number, d: RawDescriptor): void {
    const base = tableAddr + index * VIRTQ_LAYOUT.DESC_SIZE;
    this.memory.setU64(base + VIRTQ_LAYOUT.DESC_ADDR, d.addr);
    this.memory.setU32(base + VIRTQ_LAYOUT.DESC_LEN, d.len);
    this.memory.setU16(base + VIRTQ_LAYOUT.DESC_FLAGS, d.flags);
    this.memory.setU16(base + VIRTQ_LAYOUT.DESC_NEXT, d.next);
  }

  /** Put `head` in the next avail.ring slot (visible after publish()). */
  pushHead(head: number): void {
    const { availAddr, size } = this.layout;
    this.memory.setU16(availAddr + VIRTQ_LAYOUT.AVAIL_RING + (this.availShadow % size) * VIRTQ_LAYOUT.AVAIL_ELEM_SIZE, head);
    this.availShadow = (this.availShadow + 1) & 0xffff;
  }

  /** Write avail.idx directly (e.g. a jump larger than the queue). */
  setAvailIdx(value: number): void {
    this.memory.setU16(this.layout.availAddr + VIRTQ_LAYOUT.AVAIL_IDX, value);
  }

  /** Write used.idx directly (a guest corrupting the device-owned index). */
  setUsedIdx(value: number): void {
    this.memory.setU16(this.layout.usedAddr + VIRTQ_LAYOUT.USED_IDX, value);
  }

  private takeDescriptors(n: number): number[] {
    if (this.free.length < n) throw new Error(`assertion: only ${this.free.length} free descriptors, need ${n}`);
    return this.free.splice(0, n);
  }

  private releaseChain(head: number): void {
    const n = this.chainLength.get(head);
    if (n === undefined) return;
    this.chainLength.delete(head);
    let index = head;
    for (let i = 0; i < n; i++) {
      this.free.push(index);
      index = this.memory.u16(this.layout.descAddr + index * VIRTQ_LAYOUT.DESC_SIZE + VIRTQ_LAYOUT.DESC_NEXT);
    }
  }
}
