import { describe, expect, it } from 'vitest';
import { DMA_CALL_LIMITS, needEvent, QUEUE_ERROR, QueueError, splitDmaSegments, SplitQueue, VIRTQ_DESC_F, type DescriptorChain } from './queue.js';
import { GuestAllocator, GuestMemory } from './testing/guest-memory.js';
import { VirtqueueDriver } from './testing/virtqueue-driver.js';

const RAM = 1 << 20;

function setup(size: number, eventIdx: boolean, ram = RAM) {
  const mem = new GuestMemory(ram);
  const alloc = new GuestAllocator(mem, 0x1000);
  const driver = VirtqueueDriver.allocate(alloc, size, eventIdx);
  const queue = new SplitQueue(mem, {
    size,
    descAddr: driver.layout.descAddr,
    driverAddr: driver.layout.availAddr,
    deviceAddr: driver.layout.usedAddr,
    eventIdx,
  });
  return { mem, alloc, driver, queue };
}

async function popAll(queue: SplitQueue): Promise<DescriptorChain[]> {
  const out: DescriptorChain[] = [];
  for (let c = await queue.pop(); c; c = await queue.pop()) out.push(c);
  return out;
}

async function expectQueueError(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(QueueError);
  expect((err as QueueError).code).toBe(code);
}

describe('needEvent (§2.7.10)', () => {
  it('fires when the new index passes the event index, including across 65536', () => {
    expect(needEvent(0, 1, 0)).toBe(true);
    expect(needEvent(0, 2, 1)).toBe(false);
    expect(needEvent(5, 5, 3)).toBe(false);
    expect(needEvent(5, 6, 3)).toBe(true);
    expect(needEvent(0xffff, 0, 0xfffe)).toBe(true);
    expect(needEvent(0xffff, 0xfffe, 0xfffd)).toBe(false);
    expect(needEvent(0, 1, 0xffff)).toBe(true);
  });
});

describe('SplitQueue chains', () => {
  it('splits a direct chain into readable and writable buffers and returns it in the used ring', async () => {
    const { mem, driver, queue } = setup(8, false);
    const out = driver.buffer(4, Uint8Array.of(1, 2, 3, 4));
    const out2 = driver.buffer(2, Uint8Array.of(5, 6));
    const inp = driver.buffer(8);
    const head = driver.addChain([
      { addr: out, len: 4, write: false },
      { addr: out2, len: 2, write: false },
      { addr: inp, len: 8, write: true },
    ]);
    driver.publish();
    const chain = await queue.pop();
    expect(chain).not.toBeNull();
    if (!chain) return;
    expect(chain.head).toBe(head);
    expect(chain.readableLength).toBe(6);
    expect(chain.writableLength).toBe(8);
    expect(Array.from(await queue.readChain(chain))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await queue.readChain(chain, 3, 2))).toEqual([4, 5]);
    await queue.writeChain(chain, Uint8Array.of(9, 9, 9), 2);
    expect(Array.from(mem.slice(inp, 8))).toEqual([0, 0, 9, 9, 9, 0, 0, 0]);
    queue.addUsed(chain.head, 5);
    expect(await queue.flushUsed()).toBe(1);
    expect(driver.takeUsed()).toEqual([{ id: head, len: 5 }]);
    expect(await queue.pop()).toBeNull();
  });

  it('reads a batch of chains with one index read and one ring-and-table read', async () => {
    const { mem, driver, queue } = setup(16, false);
    const heads = [0, 1, 2, 3, 4].map(() => driver.addChain([{ addr: driver.buffer(16), len: 16, write: true }]));
    driver.publish();
    const before = mem.dmaReads;
    const first = await queue.pop();
    expect(first?.head).toBe(heads[0]);
    expect(mem.dmaReads - before).toBe(2);
    const rest = await popAll(queue);
    expect(rest.map((c) => c.head)).toEqual(heads.slice(1));
    expect(mem.dmaReads - before).toBe(3); // + the final "anything new?" read
    for (const c of [first, ...rest]) if (c) queue.addUsed(c.head, 16);
    const writesBefore = mem.dmaWrites;
    await queue.flushUsed();
    expect(mem.dmaWrites - writesBefore).toBe(2); // elements, then idx
    expect(driver.takeUsed().map((u) => u.id)).toEqual(heads);
  });

  it('follows an indirect table (§2.7.5.3)', async () => {
    const { driver, queue } = setup(8, false);
    const a = driver.buffer(16, new Uint8Array(16).fill(7));
    const b = driver.buffer(32);
    const c = driver.buffer(1);
    const head = driver.addChain(
      [
        { addr: a, len: 16, write: false },
        { addr: b, len: 32, write: true },
        { addr: c, len: 1, write: true },
      ],
      { indirect: true },
    );
    expect(driver.freeCount).toBe(7);
    driver.publish();
    const chain = await queue.pop();
    expect(chain?.head).toBe(head);
    expect(chain?.readable).toEqual([{ addr: a, len: 16 }]);
    expect(chain?.writable).toEqual([
      { addr: b, len: 32 },
      { addr: c, len: 1 },
    ]);
  });

  it('wraps the available and used rings around the queue size', async () => {
    const { driver, queue } = setup(4, false);
    for (let round = 0; round < 3; round++) {
      const heads = [0, 1, 2].map(() => driver.addChain([{ addr: driver.buffer(4), len: 4, write: true }]));
      driver.publish();
      const chains = await popAll(queue);
      expect(chains.map((c) => c.head)).toEqual(heads);
      for (const ch of chains) queue.addUsed(ch.head, round);
      await queue.flushUsed();
      expect(driver.takeUsed()).toEqual(heads.map((id) => ({ id, len: round })));
    }
  });
});

describe('DMA call limits', () => {
  it('splits scatter-gather lists by bytes and by segment count, keeping order', () => {
    const parts = splitDmaSegments([{ addr: 0x1000, len: 10 }, { addr: 0x8000, len: 25 }, { addr: 0x20, len: 3 }], 16, 2);
    expect(parts).toEqual([
      [{ addr: 0x1000, len: 10 }, { addr: 0x8000, len: 6 }],
      [{ addr: 0x8006, len: 16 }],
      [{ addr: 0x8016, len: 3 }, { addr: 0x20, len: 3 }],
    ]);
    expect(splitDmaSegments([])).toEqual([]);
  });

  it('moves a chain larger than one DMA call in several calls, each within the limits', async () => {
    const { mem, driver, queue } = setup(8, false, 8 << 20);
    const size = 3 * DMA_CALL_LIMITS.MAX_BYTES + 5;
    const src = driver.buffer(size, new Uint8Array(size).map((_, i) => (i * 13) & 0xff));
    const dst = driver.buffer(size);
    driver.addChain([
      { addr: src, len: size, write: false },
      { addr: dst, len: size, write: true },
    ]);
    driver.publish();
    const chain = await queue.pop();
    if (!chain) throw new Error('expected a chain');
    const calls: number[] = [];
    const read = mem.read.bind(mem);
    mem.read = async (segs) => {
      calls.push(segs.reduce((n, s) => n + s.len, 0));
      return read(segs);
    };
    const data = await queue.readChain(chain);
    expect(calls).toEqual([DMA_CALL_LIMITS.MAX_BYTES, DMA_CALL_LIMITS.MAX_BYTES, DMA_CALL_LIMITS.MAX_BYTES, 5]);
    const writes = mem.dmaWrites;
    await queue.writeChain(chain, data);
    expect(mem.dmaWrites - writes).toBe(4);
    expect(Buffer.from(mem.slice(dst, size)).equals(Buffer.from(mem.slice(src, size)))).toBe(true);
    expect(mem.u8(dst + size - 1)).toBe(((size - 1) * 13) & 0xff);
  });
});

describe('SplitQueue notification suppression', () => {
  it('without EVENT_IDX honours avail.flags NO_INTERRUPT (§2.7.7)', async () => {
    const { driver, queue } = setup(8, false);
    const complete = async () => {
      driver.addChain([{ addr: driver.buffer(4), len: 4, write: true }]);
      driver.publish();
      const c = await queue.pop();
      if (c) queue.addUsed(c.head, 0);
      await queue.flushUsed();
      return queue.needsNotification();
    };
    expect(await complete()).toBe(true);
    driver.setNoInterrupt(true);
    expect(await complete()).toBe(false);
    driver.setNoInterrupt(false);
    expect(await complete()).toBe(true);
    expect(await queue.needsNotification()).toBe(false); // nothing new published
  });

  it('with EVENT_IDX interrupts only when used.idx passes used_event', async () => {
    const { driver, queue } = setup(8, true);
    driver.setUsedEvent(2); // "interrupt me once entry #2 (the third) is used"
    const results: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      driver.addChain([{ addr: driver.buffer(4), len: 4, write: true }]);
      driver.publish();
      const c = await queue.pop();
      if (c) queue.addUsed(c.head, 0);
      await queue.flushUsed();
      results.push(await queue.needsNotification());
    }
    expect(results).toEqual([false, false, true, false]);
  });

  it('with EVENT_IDX publishes avail_event when the ring runs empty, so the driver kicks only then', async () => {
    const { driver, queue } = setup(8, true);
    driver.addChain([{ addr: driver.buffer(4), len: 4, write: true }]);
    expect(driver.publish()).toBe(true); // avail_event 0: first buffer wants a kick
    await popAll(queue);
    expect(driver.availEvent).toBe(1);
    driver.addChain([{ addr: driver.buffer(4), len: 4, write: true }]);
    expect(driver.publish()).toBe(true); // crosses avail_event 1
    driver.addChain([{ addr: driver.buffer(4), len: 4, write: true }]);
    expect(driver.publish()).toBe(false); // device has not caught up: no kick needed
    expect((await popAll(queue)).length).toBe(2);
    expect(driver.availEvent).toBe(3);
    driver.addChain([{ addr: driver.buffer(4), len: 4, write: true }]);
    expect(driver.publish()).toBe(true);
  });

  it('keeps event index arithmetic right across the 65536 wrap on both sides', async () => {
    const size = 256;
    const { driver, queue } = setup(size, true);
    const buf = driver.buffer(4);
    // Go round the 16-bit indices to just before the wrap, in full-queue batches.
    let done = 0;
    const target = 65536 - 3;
    while (done < target) {
      const n = Math.min(size, target - done);
      for (let i = 0; i < n; i++) driver.addChain([{ addr: buf, len: 4, write: true }]);
      driver.publish();
      for (const c of await popAll(queue)) queue.addUsed(c.head, 0);
      await queue.flushUsed();
      driver.takeUsed();
      done += n;
      driver.setUsedEvent(done & 0xffff); // always "next one" so no interrupt is pending
      await queue.needsNotification();
    }
    expect(driver.usedIdx).toBe(65533);
    expect(driver.availEvent).toBe(65533);
    // Ask for an interrupt once entry 0 (post-wrap, the 4th from here) is used.
    driver.setUsedEvent(0);
    const kicks: boolean[] = [];
    const irqs: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      driver.addChain([{ addr: buf, len: 4, write: true }]);
      kicks.push(driver.publish());
      const c = await queue.pop();
      if (c) queue.addUsed(c.head, 0);
      await queue.flushUsed();
      irqs.push(await queue.needsNotification());
      await queue.pop(); // ring empty: device re-arms avail_event
    }
    expect(kicks).toEqual([true, true, true, true, true]);
    expect(irqs).toEqual([false, false, false, true, false]);
    expect(driver.usedIdx).toBe(2);
    expect(driver.takeUsed().length).toBe(5);
  });
});

describe('SplitQueue rejects malformed rings with QueueError', () => {
  it('a chain that loops', async () => {
    const { driver, queue } = setup(8, false);
    const b = driver.buffer(4);
    driver.writeDescriptor(0, { addr: b, len: 4, flags: VIRTQ_DESC_F.NEXT, next: 1 });
    driver.writeDescriptor(1, { addr: b, len: 4, flags: VIRTQ_DESC_F.NEXT, next: 0 });
    driver.pushHead(0);
    driver.publish();
    await expectQueueError(queue.pop(), QUEUE_ERROR.CHAIN_LOOP);
  });

  it('a loop inside an indirect table', async () => {
    const { driver, queue } = setup(8, false);
    const b = driver.buffer(4);
    const table = driver.buffer(32);
    driver.writeDescriptorAt(table, 0, { addr: b, len: 4, flags: VIRTQ_DESC_F.NEXT, next: 1 });
    driver.writeDescriptorAt(table, 1, { addr: b, len: 4, flags: VIRTQ_DESC_F.NEXT, next: 1 });
    driver.writeDescriptor(0, { addr: table, len: 32, flags: VIRTQ_DESC_F.INDIRECT, next: 0 });
    driver.pushHead(0);
    driver.publish();
    await expectQueueError(queue.pop(), QUEUE_ERROR.CHAIN_LOOP);
  });

  it('an indirect table larger than the queue size', async () => {
    const { driver, queue } = setup(4, false);
    const table = driver.buffer(16 * 8);
    driver.writeDescriptor(0, { addr: table, len: 16 * 8, flags: VIRTQ_DESC_F.INDIRECT, next: 0 });
    driver.pushHead(0);
    driver.publish();
    await expectQueueError(queue.pop(), QUEUE_ERROR.CHAIN_TOO_LONG);
  });

  it('bad indirect descriptors: with NEXT, odd length, nested', async () => {
    const cases: Array<(d: VirtqueueDriver) => void> = [
      (d) => d.writeDescriptor(0, { addr: d.buffer(32), len: 32, flags: VIRTQ_DESC_F.INDIRECT | VIRTQ_DESC_F.NEXT, next: 1 }),
      (d) => d.writeDescriptor(0, { addr: d.buffer(32), len: 15, flags: VIRTQ_DESC_F.INDIRECT, next: 0 }),
      (d) => {
        const inner = d.buffer(16);
        const outer = d.buffer(16);
        d.writeDescriptorAt(outer, 0, { addr: inner, len: 16, flags: VIRTQ_DESC_F.INDIRECT, next: 0 });
        d.writeDescriptor(0, { addr: outer, len: 16, flags: VIRTQ_DESC_F.INDIRECT, next: 0 });
      },
      (d) => {
        d.writeDescriptor(0, { addr: d.buffer(4), len: 4, flags: VIRTQ_DESC_F.NEXT, next: 1 });
        d.writeDescriptor(1, { addr: d.buffer(16), len: 16, flags: VIRTQ_DESC_F.INDIRECT, next: 0 });
      },
    ];
    for (const build of cases) {
      const { driver, queue } = setup(8, false);
      build(driver);
      driver.pushHead(0);
      driver.publish();
      await expectQueueError(queue.pop(), QUEUE_ERROR.BAD_INDIRECT);
    }
  });

  it('descriptor and ring addresses outside guest RAM', async () => {
    {
      const { driver, queue } = setup(8, false);
      driver.writeDescriptor(0, { addr: RAM - 2, len: 16, flags: 0, next: 0 });
      driver.pushHead(0);
      driver.publish();
      const chain = await queue.pop();
      if (!chain) throw new Error('expected a chain');
      await expectQueueError(queue.readChain(chain), QUEUE_ERROR.DMA_FAULT);
    }
    {
      const { driver, queue } = setup(8, false);
      driver.writeDescriptor(0, { addr: 2 ** 40, len: 32, flags: VIRTQ_DESC_F.INDIRECT, next: 0 });
      driver.pushHead(0);
      driver.publish();
      await expectQueueError(queue.pop(), QUEUE_ERROR.DMA_FAULT);
    }
    {
      const mem = new GuestMemory(RAM);
      const queue = new SplitQueue(mem, { size: 8, descAddr: 0x1000, driverAddr: RAM + 0x1000, deviceAddr: 0x2000, eventIdx: false });
      await expectQueueError(queue.pop(), QUEUE_ERROR.DMA_FAULT);
    }
  });

  it('an error reply with code DMA_FAULT from a protocol DmaPort counts as a guest fault', async () => {
    const port = {
      read: async () => {
        throw Object.assign(new Error('remote: DMA outside guest RAM'), { code: 'DMA_FAULT' });
      },
      write: async () => {},
    };
    const queue = new SplitQueue(port, { size: 8, descAddr: 0, driverAddr: 0x100, deviceAddr: 0x200, eventIdx: false });
    await expectQueueError(queue.pop(), QUEUE_ERROR.DMA_FAULT);
    const other = new SplitQueue(
      {
        read: async () => {
          throw Object.assign(new Error('connection lost'), { code: 'CLOSED' });
        },
        write: async () => {},
      },
      { size: 8, descAddr: 0, driverAddr: 0x100, deviceAddr: 0x200, eventIdx: false },
    );
    await expect(other.pop()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a head or next index outside the table, and readable after writable', async () => {
    {
      const { driver, queue } = setup(8, false);
      driver.pushHead(8);
      driver.publish();
      await expectQueueError(queue.pop(), QUEUE_ERROR.DESC_INDEX_OUT_OF_RANGE);
    }
    {
      const { driver, queue } = setup(8, false);
      driver.writeDescriptor(0, { addr: driver.buffer(4), len: 4, flags: VIRTQ_DESC_F.NEXT, next: 9 });
      driver.pushHead(0);
      driver.publish();
      await expectQueueError(queue.pop(), QUEUE_ERROR.DESC_INDEX_OUT_OF_RANGE);
    }
    {
      const { driver, queue } = setup(8, false);
      driver.writeDescriptor(0, { addr: driver.buffer(4), len: 4, flags: VIRTQ_DESC_F.NEXT | VIRTQ_DESC_F.WRITE, next: 1 });
      driver.writeDescriptor(1, { addr: driver.buffer(4), len: 4, flags: 0, next: 0 });
      driver.pushHead(0);
      driver.publish();
      await expectQueueError(queue.pop(), QUEUE_ERROR.DESC_ORDER);
    }
  });

  it('an available index that jumps by more than the queue size', async () => {
    const { driver, queue } = setup(8, false);
    driver.setAvailIdx(9);
    await expectQueueError(queue.pop(), QUEUE_ERROR.AVAIL_IDX_JUMP);
  });

  it('a used index the guest overwrote', async () => {
    const { driver, queue } = setup(8, false);
    driver.addChain([{ addr: driver.buffer(4), len: 4, write: true }]);
    driver.publish();
    const c = await queue.pop();
    if (c) queue.addUsed(c.head, 0);
    await queue.flushUsed();
    driver.setUsedIdx(7);
    driver.addChain([{ addr: driver.buffer(4), len: 4, write: true }]);
    driver.publish();
    await expectQueueError(queue.pop(), QUEUE_ERROR.USED_IDX_CORRUPT);
  });

  it('stops touching guest memory once stopped', async () => {
    const { mem, driver, queue } = setup(8, false);
    driver.addChain([{ addr: driver.buffer(4), len: 4, write: true }]);
    driver.publish();
    const c = await queue.pop();
    if (c) queue.addUsed(c.head, 4);
    queue.stop();
    const writes = mem.dmaWrites;
    await expect(queue.flushUsed()).rejects.toMatchObject({ code: 'QUEUE_STOPPED' });
    expect(mem.dmaWrites).toBe(writes);
    expect(driver.usedIdx).toBe(0);
  });
});

describe('SplitQueue batches (takeAvailable / complete)', () => {
  it('takes every new chain with one read, indirect tables with one more, and completes in one write plus one read', async () => {
    const { mem, driver, queue } = setup(16, true);
    const direct = driver.addChain([
      { addr: driver.buffer(16), len: 16, write: false },
      { addr: driver.buffer(8), len: 8, write: true },
    ]);
    const ind = [0, 1].map(() =>
      driver.addChain(
        [
          { addr: driver.buffer(16), len: 16, write: false },
          { addr: driver.buffer(4), len: 4, write: true },
        ],
        { indirect: true },
      ),
    );
    driver.setUsedEvent(2); // interrupt once the third entry is used
    driver.publish();
    const reads = mem.dmaReads;
    const chains = await queue.takeAvailable();
    expect(chains.map((c) => c.head)).toEqual([direct, ...ind]);
    expect(chains[1]?.writable).toHaveLength(1);
    expect(mem.dmaReads - reads).toBe(2); // snapshot, then both indirect tables together

    // Status-like bytes in three adjacent buffers go out as one segment.
    const target = driver.buffer(3);
    let interrupts = 0;
    queue.onInterrupt = () => interrupts++;
    const before = { r: mem.dmaReads, w: mem.dmaWrites };
    const notified = await queue.complete(
      chains.map((c) => ({ id: c.head, len: 1 })),
      [0, 1, 2].map((i) => ({ segments: [{ addr: target + i, len: 1 }], data: Uint8Array.of(0x10 + i) })),
    );
    expect(notified).toBe(true);
    expect(interrupts).toBe(1);
    expect({ r: mem.dmaReads - before.r, w: mem.dmaWrites - before.w }).toEqual({ r: 1, w: 1 });
    expect(Array.from(mem.bytes.subarray(target, target + 3))).toEqual([0x10, 0x11, 0x12]);
    expect(driver.takeUsed().map((u) => u.id)).toEqual([direct, ...ind]);
    expect(driver.availEvent).toBe(3); // published with the completion: kick me for the next one

    // The snapshot taken after the completion serves the next takeAvailable without DMA.
    const reads2 = mem.dmaReads;
    expect(await queue.takeAvailable()).toEqual([]);
    expect(mem.dmaReads).toBe(reads2);
  });

  it('interrupts early from the known used_event, and late when the driver asked after the fetch', async () => {
    const { driver, queue } = setup(8, true);
    let interrupts = 0;
    queue.onInterrupt = () => interrupts++;
    const buf = driver.buffer(4);
    driver.addChain([{ addr: buf, len: 4, write: true }]);
    driver.setUsedEvent(5); // not yet
    driver.publish();
    const [c] = await queue.takeAvailable();
    driver.setUsedEvent(0); // changed after the device's fetch: wants the first one after all
    expect(await queue.complete([{ id: c!.head, len: 0 }])).toBe(true);
    expect(interrupts).toBe(1);
    // Nothing published: no interrupt at all.
    expect(await queue.complete([])).toBe(false);
    expect(interrupts).toBe(1);
  });

  it('a completion larger than one DMA call writes the data first and the used ring last', async () => {
    const { mem, driver, queue } = setup(8, false, 8 << 20);
    const big = DMA_CALL_LIMITS.MAX_BYTES + 4096;
    const addr = driver.buffer(big);
    driver.addChain([{ addr, len: big, write: true }]);
    driver.publish();
    const [c] = await queue.takeAvailable();
    const writes: number[] = [];
    const write = mem.write.bind(mem);
    mem.write = async (segments, data) => {
      writes.push(data.length);
      return write(segments, data);
    };
    await queue.complete([{ id: c!.head, len: big }], [{ segments: c!.writable, data: new Uint8Array(big).fill(0x5a) }]);
    expect(writes).toEqual([DMA_CALL_LIMITS.MAX_BYTES, big - DMA_CALL_LIMITS.MAX_BYTES + 8 + 2]);
    expect(mem.bytes[addr + big - 1]).toBe(0x5a);
    expect(driver.takeUsed()).toEqual([{ id: c!.head, len: big }]);
  });

  it('a DMA fault in the data of a large completion leaves the used ring alone', async () => {
    const { driver, queue } = setup(8, false);
    const ok = driver.buffer(16);
    driver.addChain([{ addr: ok, len: 16, write: true }]);
    driver.publish();
    const [c] = await queue.takeAvailable();
    const outside = { addr: RAM - 4096, len: DMA_CALL_LIMITS.MAX_BYTES }; // runs past the end of RAM
    await expectQueueError(queue.complete([{ id: c!.head, len: 16 }], [{ segments: [outside], data: new Uint8Array(outside.len) }]), QUEUE_ERROR.DMA_FAULT);
    expect(driver.usedIdx).toBe(0);
  });
});
