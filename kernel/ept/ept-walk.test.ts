import { beforeEach, describe, expect, it } from 'vitest';
import { HostMemory } from '../hw/host-memory.js';
import { eptWalk, newEptWalkStats, type EptWalkResult } from './ept-walk.js';
import { EptBuilder } from './ept-builder.js';
import { EptEntry, EptMemoryType, eptpRoot, makeEptp, PAGE_2M } from './ept-format.js';

const R = EptEntry.READ;
const W = EptEntry.WRITE;
const X = EptEntry.EXEC;
const RWX = R | W | X;
const read = 1;
const write = 2;
const fetch = 4;

let mem: HostMemory;
beforeEach(() => {
  mem = new HostMemory(16 << 20);
});

/** Write an entry's low word directly into a table of the builder's hierarchy. */
function pokeLeaf(b: EptBuilder, gpa: number, lo: number, hi = 0): void {
  const leaf = b.lookup(gpa);
  if (!leaf) throw new Error('no leaf');
  mem.write32(leaf.entryHpa, lo >>> 0);
  mem.write32(leaf.entryHpa + 4, hi);
}

describe('eptWalk', () => {
  it('translates a 4 KiB page and reports permissions and page size', () => {
    const b = new EptBuilder(mem);
    b.map4k(0x7000, 0x30_0000, R | X);
    expect(eptWalk(mem, b.eptp, 0x7abc, read)).toEqual({ kind: 'ok', hpa: 0x30_0abc, permissions: R | X, pageSize: 0x1000 });
    expect(eptWalk(mem, b.eptp, 0x7abc, fetch).kind).toBe('ok');
  });

  it('translates a 2 MiB page', () => {
    const b = new EptBuilder(mem);
    b.map2m(0x4000_0000, 0x80_0000, RWX);
    expect(eptWalk(mem, b.eptp, 0x401f_fffc, write)).toEqual({ kind: 'ok', hpa: 0x9f_fffc, permissions: RWX, pageSize: PAGE_2M });
  });

  it('translates a 1 GiB page from a PDPTE with bit 7', () => {
    const b = new EptBuilder(mem);
    // Build PML4E → PDPT by mapping something, then turn PDPTE 1 into a 1 GiB leaf by hand.
    b.map4k(0, 0x1000, R);
    const pml4e = mem.read32(eptpRoot(b.eptp));
    const pdpt = pml4e & ~0xfff;
    mem.write32(pdpt + 8, 0x0000_0000 | RWX | (EptMemoryType.WB << 3) | EptEntry.LARGE_PAGE);
    const r = eptWalk(mem, b.eptp, 0x4000_1234, read);
    expect(r).toEqual({ kind: 'ok', hpa: 0x1234, permissions: RWX, pageSize: 0x4000_0000 });
  });

  it('counts one reference per level and one walk per call', () => {
    const b = new EptBuilder(mem);
    b.map4k(0x1000, 0x1000, RWX);
    b.map2m(0x20_0000, 0x20_0000, RWX);
    const stats = newEptWalkStats();
    eptWalk(mem, b.eptp, 0x1000, read, stats);
    expect(stats).toEqual({ walks: 1, references: 4, violations: 0, misconfigs: 0 });
    eptWalk(mem, b.eptp, 0x20_0000, read, stats);
    expect(stats.references).toBe(7);
    eptWalk(mem, b.eptp, 0x8000_0000, read, stats); // PDPTE not present: stops at level 3
    expect(stats).toEqual({ walks: 3, references: 9, violations: 1, misconfigs: 0 });
  });

  describe('violations', () => {
    it('not present at any level: granted 0', () => {
      const b = new EptBuilder(mem);
      expect(eptWalk(mem, b.eptp, 0x1000, read)).toEqual({ kind: 'violation', access: read, granted: 0, level: 4 });
      b.map4k(0x1000, 0x1000, RWX);
      expect(eptWalk(mem, b.eptp, 0x2000, write)).toEqual({ kind: 'violation', access: write, granted: 0, level: 1 });
    });

    it('read, write and fetch against the permissions of the leaf', () => {
      const b = new EptBuilder(mem);
      b.map4k(0x1000, 0x1000, R);
      expect(eptWalk(mem, b.eptp, 0x1000, write)).toEqual({ kind: 'violation', access: write, granted: R, level: 1 });
      expect(eptWalk(mem, b.eptp, 0x1000, fetch)).toEqual({ kind: 'violation', access: fetch, granted: R, level: 1 });
      b.setPermissions(0x1000, R | W);
      expect(eptWalk(mem, b.eptp, 0x1000, write).kind).toBe('ok');
      expect(eptWalk(mem, b.eptp, 0x1000, fetch)).toMatchObject({ kind: 'violation', granted: R | W });
    });

    it('granted permissions are the AND over all levels', () => {
      const b = new EptBuilder(mem);
      b.map4k(0x1000, 0x1000, RWX);
      // Clear W in the PML4E: the leaf's W no longer counts.
      const root = eptpRoot(b.eptp);
      mem.write32(root, mem.read32(root) & ~W);
      expect(eptWalk(mem, b.eptp, 0x1000, write)).toEqual({ kind: 'violation', access: write, granted: R | X, level: 1 });
      expect(eptWalk(mem, b.eptp, 0x1000, read)).toMatchObject({ kind: 'ok', permissions: R | X });
    });
  });

  describe('misconfigurations', () => {
    const cases: [string, number, number][] = [
      ['W without R', W, 0],
      ['W|X without R (KVM MMIO marker)', W | X, 0],
      ['X without R (no execute-only support)', X, 0],
      ['memory type 2', R | (2 << 3), 0],
      ['memory type 3', R | (3 << 3), 0],
      ['memory type 7', R | (7 << 3), 0],
      ['address bit 32 (beyond 32-bit physical addresses)', R | (6 << 3), 1],
    ];
    for (const [name, lo, hi] of cases) {
      it(name, () => {
        const b = new EptBuilder(mem);
        b.map4k(0x1000, 0x5000, R);
        pokeLeaf(b, 0x1000, 0x5000 | lo, hi);
        const stats = newEptWalkStats();
        const r: EptWalkResult = eptWalk(mem, b.eptp, 0x1000, read, stats);
        expect(r.kind).toBe('misconfig');
        expect(stats.misconfigs).toBe(1);
      });
    }

    it('reserved bits in non-leaf entries and in a 2 MiB leaf', () => {
      const b = new EptBuilder(mem);
      b.map4k(0x1000, 0x5000, R);
      const root = eptpRoot(b.eptp);
      const pml4e = mem.read32(root);
      mem.write32(root, pml4e | EptEntry.LARGE_PAGE); // bit 7 reserved in a PML4E
      expect(eptWalk(mem, b.eptp, 0x1000, read)).toEqual({ kind: 'misconfig', level: 4, why: 'reserved-bit' });
      mem.write32(root, pml4e | (6 << 3)); // bits 5:3 reserved in a PML4E
      expect(eptWalk(mem, b.eptp, 0x1000, read)).toMatchObject({ kind: 'misconfig', level: 4 });
      mem.write32(root, pml4e);
      const b2 = new EptBuilder(mem);
      b2.map2m(0x20_0000, 0x40_0000, R);
      pokeLeaf(b2, 0x20_0000, 0x40_1000 | R | (6 << 3) | EptEntry.LARGE_PAGE); // bit 12 in a 2 MiB leaf
      expect(eptWalk(mem, b2.eptp, 0x20_0000, read)).toEqual({ kind: 'misconfig', level: 2, why: 'reserved-bit' });
    });

    it('a misconfiguration wins over a permission violation', () => {
      const b = new EptBuilder(mem);
      b.mapMmio(0x3000);
      expect(eptWalk(mem, b.eptp, 0x3000, read)).toEqual({ kind: 'misconfig', level: 1, why: 'write-without-read' });
    });
  });

  describe('accessed and dirty flags', () => {
    it('are left alone when EPTP bit 6 is clear', () => {
      const b = new EptBuilder(mem);
      b.map4k(0x1000, 0x5000, RWX);
      eptWalk(mem, b.eptp, 0x1000, write);
      expect(b.lookup(0x1000)!.entry & (EptEntry.ACCESSED | EptEntry.DIRTY)).toBe(0);
    });

    it('set A on every level, D on the leaf for writes only', () => {
      const b = new EptBuilder(mem, { accessedDirty: true });
      expect(b.eptp & 0x40).toBe(0x40);
      b.map4k(0x1000, 0x5000, RWX);
      eptWalk(mem, b.eptp, 0x1000, read);
      expect(b.lookup(0x1000)!.entry & (EptEntry.ACCESSED | EptEntry.DIRTY)).toBe(EptEntry.ACCESSED);
      // Every level on the path got A.
      let table = eptpRoot(b.eptp);
      for (let level = 4; level > 1; level--) {
        const e = mem.read32(table);
        expect(e & EptEntry.ACCESSED).toBe(EptEntry.ACCESSED);
        table = e & ~0xfff;
      }
      expect(b.isDirty(0x1000)).toBe(false);
      eptWalk(mem, b.eptp, 0x1000, write);
      expect(b.isDirty(0x1000)).toBe(true);
    });

    it('are not set by a failing walk', () => {
      const b = new EptBuilder(mem, { accessedDirty: true });
      b.map4k(0x1000, 0x5000, R);
      eptWalk(mem, b.eptp, 0x1000, write);
      expect(b.lookup(0x1000)!.entry & (EptEntry.ACCESSED | EptEntry.DIRTY)).toBe(0);
    });

    it('mark a 2 MiB leaf dirty', () => {
      const b = new EptBuilder(mem, { accessedDirty: true });
      b.map2m(0, 0x20_0000, RWX);
      eptWalk(mem, b.eptp, 0x1234, write);
      expect(b.isDirty(0x1f_f000)).toBe(true);
    });
  });

  it('makeEptp composes WB, 4-level walk and the A/D bit', () => {
    expect(makeEptp(0x5000)).toBe(0x501e);
    expect(makeEptp(0x5000, EptMemoryType.UC, true)).toBe(0x5058);
    expect(() => makeEptp(0x5008)).toThrow(/bug/);
  });
});
