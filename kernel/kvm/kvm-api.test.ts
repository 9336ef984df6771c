/**
 * The KVM API end to end on the simulated VT-x processor, in-process (no VMM, no device model):
 * read-only memslots turn guest writes into KVM_EXIT_MMIO, dirty logging reports exactly the
 * pages the guest wrote, HLT with interrupts off reaches userspace — under both MMUs.
 */
import { describe, expect, it } from 'vitest';
import { Kvm } from './kvm.js';
import { KVM_EXIT } from './kvm-run.js';
import { KVM_MEM } from './memslots.js';
import type { KvmSegment, Vcpu } from './vcpu.js';
import type { Vm } from './vm.js';
import type { HostAddressSpace } from '../hw/host-address-space.js';

const MiB = 1024 * 1024;

// as --32:  movl $0x12345678, 0x200000 ; movl 0x200004, %eax ; hlt
const RO_TEST = [0xc7, 0x05, 0x00, 0x00, 0x20, 0x00, 0x78, 0x56, 0x34, 0x12, 0xa1, 0x04, 0x00, 0x20, 0x00, 0xf4];
// as --32:  movl $1, 0x403000 ; movl $2, 0x405004 ; movb $3, 0x407fff ; hlt
const DIRTY_TEST = [
  0xc7, 0x05, 0x00, 0x30, 0x40, 0x00, 0x01, 0x00, 0x00, 0x00, 0xc7, 0x05, 0x04, 0x50, 0x40, 0x00, 0x02, 0x00, 0x00, 0x00, 0xc6, 0x05, 0xff, 0x7f,
  0x40, 0x00, 0x03, 0xf4,
];

function flat(selector: number, type: number): KvmSegment {
  return { base: 0, limit: 0xffff_ffff, selector, type, present: 1, dpl: 0, db: 1, s: 1, g: 1, avl: 0, unusable: 0 };
}

interface Machine {
  vm: Vm;
  vcpu: Vcpu;
  process: HostAddressSpace;
  ramHva: number;
}

/** 2 MiB of RAM at GPA 0 (slot 0), code at 0x1000, flat 32-bit protected mode. */
function machine(mmu: 'ept' | 'shadow', code: number[]): Machine {
  const { vm, process } = new Kvm().createVm({ hostMemory: 64 * MiB, mmu, clock: 'virtual' });
  const ramHva = process.mmap(2 * MiB);
  vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 2 * MiB, userspaceAddr: ramHva });
  process.write(ramHva + 0x1000, Uint8Array.from(code));
  const vcpu = vm.createVcpu(0);
  const s = vcpu.getSregs();
  const data = flat(0x18, 3);
  vcpu.setSregs({
    ...s, cs: flat(0x10, 0xb), ds: data, es: data, fs: data, gs: data, ss: data,
    tr: { base: 0, limit: 0xffff, selector: 0, type: 0xb, present: 1, dpl: 0, db: 0, s: 0, g: 0, avl: 0, unusable: 0 },
    cr0: 0x11,
  });
  vcpu.setRegs({ eax: 0, ebx: 0, ecx: 0, edx: 0, esi: 0, edi: 0, ebp: 0, esp: 0x8000, eip: 0x1000, eflags: 2 });
  return { vm, vcpu, process, ramHva };
}

for (const mmu of ['ept', 'shadow'] as const) {
  describe(`KVM API with --mmu ${mmu}`, () => {
    it('a guest write to a read-only memslot is a KVM_EXIT_MMIO; reads see the slot', async () => {
      const { vm, vcpu, process } = machine(mmu, RO_TEST);
      const romHva = process.mmap(4096);
      process.write(romHva, Uint8Array.from([0, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde]));
      vm.setUserMemoryRegion({ slot: 1, flags: KVM_MEM.READONLY, guestPhysAddr: 0x200000, memorySize: 4096, userspaceAddr: romHva });

      const run = await vcpu.runOnce();
      expect(run.exitReason).toBe(KVM_EXIT.MMIO);
      expect(run.mmio.isWrite).toBe(true);
      expect(run.mmio.physAddr).toBe(0x200000);
      expect(run.mmio.len).toBe(4);
      expect(Array.from(run.mmio.data.subarray(0, 4))).toEqual([0x78, 0x56, 0x34, 0x12]);
      expect(Array.from(process.read(romHva, 4))).toEqual([0, 0, 0, 0]); // the slot is unchanged

      const halt = await vcpu.runOnce();
      expect(halt.exitReason).toBe(KVM_EXIT.HLT);
      expect(vcpu.getRegs().eax).toBe(0xdeadbeef);
    });

    it('dirty logging reports exactly the pages the guest wrote, then clears', async () => {
      const { vm, vcpu, process } = machine(mmu, DIRTY_TEST);
      const logHva = process.mmap(16 * 4096);
      vm.setUserMemoryRegion({ slot: 1, flags: KVM_MEM.LOG_DIRTY_PAGES, guestPhysAddr: 0x400000, memorySize: 16 * 4096, userspaceAddr: logHva });
      expect(Array.from(vm.getDirtyLog(1))).toEqual([0, 0]);

      const run = await vcpu.runOnce();
      expect(run.exitReason).toBe(KVM_EXIT.HLT);
      const bitmap = vm.getDirtyLog(1);
      const pages = [...Array(16).keys()].filter((i) => ((bitmap[i >> 3] as number) >> (i & 7)) & 1);
      expect(pages).toEqual([3, 5, 7]);
      expect(Array.from(vm.getDirtyLog(1))).toEqual([0, 0]);
      expect(Array.from(process.read(logHva + 0x7fff, 1))).toEqual([3]);
    });

    it('counts the exits by reason and where they were handled', async () => {
      const { vcpu } = machine(mmu, DIRTY_TEST.slice(-1)); // just hlt
      const run = await vcpu.runOnce();
      expect(run.exitReason).toBe(KVM_EXIT.HLT);
      expect(vcpu.stats.halt_exits).toBe(1);
      expect(vcpu.stats.exits).toBeGreaterThanOrEqual(1);
    });
  });
}

describe('memory cost', () => {
  it('a 1 GiB VM whose guest touches 4 MiB keeps host frames to about 4 MiB', async () => {
    // as --32: mov $0x100000,%edi ; 1: movl $1,(%edi) ; add $0x1000,%edi ; cmp $0x500000,%edi ; jb 1b ; hlt
    const touch = [0xbf, 0x00, 0x00, 0x10, 0x00, 0xc7, 0x07, 0x01, 0x00, 0x00, 0x00, 0x81, 0xc7, 0x00, 0x10, 0x00, 0x00, 0x81, 0xff, 0x00, 0x00, 0x50, 0x00, 0x72, 0xec, 0xf4];
    const { vm, process } = new Kvm().createVm({ hostMemory: 1024 * MiB + 64 * MiB, mmu: 'ept', clock: 'virtual' });
    const hva = process.mmap(1024 * MiB);
    vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 1024 * MiB, userspaceAddr: hva });
    process.write(hva + 0x1000, Uint8Array.from(touch));
    const vcpu = vm.createVcpu(0);
    const s = vcpu.getSregs();
    const data = flat(0x18, 3);
    vcpu.setSregs({ ...s, cs: flat(0x10, 0xb), ds: data, es: data, fs: data, gs: data, ss: data, cr0: 0x11 });
    vcpu.setRegs({ eax: 0, ebx: 0, ecx: 0, edx: 0, esi: 0, edi: 0, ebp: 0, esp: 0x8000, eip: 0x1000, eflags: 2 });
    const run = await vcpu.runOnce();
    expect(run.exitReason).toBe(KVM_EXIT.HLT);
    expect(process.residentPages).toBe(1025); // the code page + 1024 touched pages
    expect(vm.hostMem.framesInUse * 4096).toBeLessThan(8 * MiB); // RAM + EPT tables + VMCS
  });
});
