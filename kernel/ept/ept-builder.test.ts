import { beforeEach, describe, expect, it } from 'vitest';
import { HostMemory } from '../hw/host-memory.js';
import { EptBuilder } from './ept-builder.js';
import { eptWalk } from './ept-walk.js';
import { EptEntry, EptMemoryType, PAGE_2M } from './ept-format.js';

const R = EptEntry.READ;
const W = EptEntry.WRITE;
const X = EptEntry.EXEC;
const RWX = R | W | X;
const read = 1;
const write = 2;

let mem: HostMemory;
beforeEach(() => {
  mem = new HostMemory(32 << 20);
});

describe('EptBuilder', () => {
  it('allocates the PML4 and tables on demand from host memory', () => {
    const before = mem.framesInUse;
    const b = new EptBuilder(mem);
    expect(b.tableCount).toBe(1);
    b.map4k(0x1000, 0x10_0000, RWX);
    expect(b.tableCount).toBe(4);
    b.map4k(0x2000, 0x10_1000, RWX); // same PT
    expect(b.tableCount).toBe(4);
    b.map4k(0x8000_0000, 0x10_2000, RWX); // another PDPTE: new PD and PT
    expect(b.tableCount).toBe(6);
    expect(mem.framesInUse - before).toBe(6);
  });

  it('writes SDM-format leaves: permissions, memory type, address', () => {
    const b = new EptBuilder(mem);
    b.map4k(0x3000, 0x12_3000, R | X, EptMemoryType.UC);
    const leaf = b.lookup(0x3abc)!;
    expect(leaf.entry).toBe(0x12_3000 | R | X | (0 << 3));
    expect(leaf).toMatchObject({ pageSize: 0x1000, hpa: 0x12_3abc, permissions: R | X });
    b.map4k(0x4000, 0x12_4000, RWX);
    expect(b.lookup(0x4000)!.entry).toBe(0x12_4000 | RWX | (6 << 3));
    expect(mem.read32(b.lookup(0x4000)!.entryHpa + 4)).toBe(0);
  });

  it('maps 2 MiB pages with bit 7 and freeing a PT it replaces', () => {
    const b = new EptBuilder(mem);
    b.map4k(0x20_0000, 0x10_0000, RWX);
    expect(b.tableCount).toBe(4);
    b.map2m(0x20_0000, 0x40_0000, RWX);
    expect(b.tableCount).toBe(3);
    const leaf = b.lookup(0x21_0000)!;
    expect(leaf.entry & EptEntry.LARGE_PAGE).toBe(EptEntry.LARGE_PAGE);
    expect(leaf).toMatchObject({ pageSize: PAGE_2M, hpa: 0x41_0000 });
    expect(() => b.map2m(0x1000, 0x40_0000, RWX)).toThrow(/bug/);
    expect(() => b.map4k(0x1000, 0x1_0000_0000, RWX)).toThrow(/bug/); // HPAs are 32 bits
  });

  it('splits a 2 MiB page when a 4 KiB page inside it is remapped', () => {
    const b = new EptBuilder(mem, { accessedDirty: true });
    b.map2m(0, 0x40_0000, R | X);
    b.map4k(0x5000, 0x10_0000, RWX);
    expect(eptWalk(mem, b.eptp, 0x5010, write)).toMatchObject({ kind: 'ok', hpa: 0x10_0010, pageSize: 0x1000 });
    expect(eptWalk(mem, b.eptp, 0x6010, read)).toMatchObject({ kind: 'ok', hpa: 0x40_6010, permissions: R | X, pageSize: 0x1000 });
    expect(eptWalk(mem, b.eptp, 0x6010, write).kind).toBe('violation');
  });

  it('installs the MMIO marker (W|X without R): every access misconfigures', () => {
    const b = new EptBuilder(mem);
    b.mapMmio(0xfee0_0000);
    expect(b.lookup(0xfee0_0000)!.entry).toBe(W | X);
    for (const access of [1, 2, 4]) expect(eptWalk(mem, b.eptp, 0xfee0_0010, access).kind).toBe('misconfig');
  });

  it('unmaps 4 KiB and 2 MiB leaves', () => {
    const b = new EptBuilder(mem);
    b.map4k(0x1000, 0x10_0000, RWX);
    b.map2m(0x40_0000, 0x60_0000, RWX);
    expect(b.unmap(0x1000)).toBe(0x1000);
    expect(b.unmap(0x1000)).toBe(0);
    expect(b.unmap(0x50_0000)).toBe(PAGE_2M);
    expect(eptWalk(mem, b.eptp, 0x1000, 1).kind).toBe('violation');
    expect(eptWalk(mem, b.eptp, 0x40_0000, 1).kind).toBe('violation');
    expect(b.unmap(0x9000_0000)).toBe(0);
  });

  it('changes permissions of a leaf (write-protect)', () => {
    const b = new EptBuilder(mem);
    b.map4k(0x1000, 0x10_0000, RWX);
    expect(b.setPermissions(0x1000, R | X)).toBe(true);
    expect(eptWalk(mem, b.eptp, 0x1000, 2)).toMatchObject({ kind: 'violation', granted: R | X });
    expect(b.setPermissions(0x2000, R)).toBe(false);
  });

  it('reads and clears dirty flags set by the walker', () => {
    const b = new EptBuilder(mem, { accessedDirty: true });
    b.map4k(0x1000, 0x10_0000, RWX);
    b.map4k(0x2000, 0x10_1000, RWX);
    eptWalk(mem, b.eptp, 0x1008, 2);
    expect(b.testAndClearDirty(0x1000)).toBe(true);
    expect(b.testAndClearDirty(0x1000)).toBe(false);
    expect(b.testAndClearDirty(0x2000)).toBe(false);
    expect(b.lookup(0x1000)!.entry & EptEntry.ACCESSED).toBe(EptEntry.ACCESSED); // A stays
  });

  it('harvests dirty pages into a KVM-style bitmap', () => {
    const b = new EptBuilder(mem, { accessedDirty: true });
    for (let p = 0; p < 16; p++) b.map4k(0x10_0000 + p * 0x1000, 0x20_0000 + p * 0x1000, RWX);
    b.map2m(0x40_0000, 0x60_0000, RWX);
    for (const p of [0, 3, 9]) eptWalk(mem, b.eptp, 0x10_0000 + p * 0x1000, 2);
    eptWalk(mem, b.eptp, 0x40_0000, 1); // read: not dirty
    const bitmap = new Uint8Array(2);
    expect(b.harvestDirty(0x10_0000, 16, bitmap)).toBe(3);
    expect(Array.from(bitmap)).toEqual([0b0000_1001, 0b0000_0010]);
    expect(b.harvestDirty(0x10_0000, 16, new Uint8Array(2))).toBe(0);
    // A dirty 2 MiB leaf marks every page of the range it covers.
    eptWalk(mem, b.eptp, 0x40_1000, 2);
    const big = new Uint8Array(1);
    expect(b.harvestDirty(0x40_0000, 8, big)).toBe(8);
    expect(big[0]).toBe(0xff);
    expect(b.isDirty(0x40_0000)).toBe(false);
  });

  it('destroy returns every table frame', () => {
    const before = mem.framesInUse;
    const b = new EptBuilder(mem);
    b.map4k(0x1000, 0x10_0000, RWX);
    b.map4k(0x8000_0000, 0x10_0000, RWX);
    b.destroy();
    expect(mem.framesInUse).toBe(before);
    expect(b.tableCount).toBe(0);
  });
});
