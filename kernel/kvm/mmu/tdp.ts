/**
 * The TDP MMU (arch/x86/kvm/mmu/tdp_mmu.c, facts §3.6): EPT tables in host-physical memory,
 * filled lazily on EPT violations. A GPA with no memslot gets KVM's MMIO marker — a W|X leaf
 * without R, an intentional EPT misconfiguration tagged with the memslot generation — and the
 * access is emulated; later touches take the misconfiguration exit straight to the emulator.
 * Dirty logging reads and clears the EPT dirty bits (EPTP A/D enabled).
 */
import { EptEntry, EptMemoryType, EPT_MISCONFIG_WX_VALUE, makeEptp } from '../../ept/ept-format.js';
import { PAGE_SIZE } from '../../hw/host-memory.js';
import { VmcsField as F } from '../../vmx/vmcs-fields.js';
import type { Memslot } from '../memslots.js';
import type { Vcpu } from '../vcpu.js';
import type { Vm } from '../vm.js';
import { EXIT_REASON, X86_CR0 } from '../vmx-consts.js';
import type { Mmu, MmuExitResult } from './mmu.js';

/** Where a 4 KiB leaf lives, and what it maps. */
interface Leaf {
  entryHpa: number;
  mmio: boolean;
  generation: number;
}

const LEAF_RAM = EptEntry.READ | EptEntry.EXEC | (EptMemoryType.WB << EptEntry.MEMORY_TYPE_SHIFT) | EptEntry.IGNORE_PAT;
const NONLEAF = EptEntry.READ | EptEntry.WRITE | EptEntry.EXEC;
/** The MMIO marker keeps the memslot generation in ignored bits 52+ of the high word (bits 20-30). */
const MMIO_GEN_SHIFT = 20;

export class TdpMmu implements Mmu {
  readonly kind = 'ept';
  readonly exceptionBitmap = 0;
  readonly cr0HostOwned = 0;
  readonly cr4HostOwned = 0;
  private readonly root: number;
  private readonly leaves = new Map<number, Leaf>(); // by gfn

  constructor(private readonly vm: Vm) {
    this.root = vm.hostMem.allocFrame();
  }

  eptp(): number {
    return makeEptp(this.root, EptMemoryType.WB, true);
  }

  hardwareCr0(guest: number): number {
    return guest | X86_CR0.NE;
  }
  hardwareCr4(guest: number): number {
    return guest;
  }
  guestCr3(vcpu: Vcpu): number {
    return vcpu.vmcsRead(F.GUEST_CR3) >>> 0;
  }
  setGuestCr3(vcpu: Vcpu, value: number): void {
    vcpu.vmcsWrite(F.GUEST_CR3, value >>> 0);
  }

  pagingModeChanged(): void {
    // The hardware walks the guest's own tables under EPT: nothing of ours depends on them.
  }
  emulationRequired(): boolean {
    return false; // unrestricted guest runs real mode in hardware
  }
  guestWrote(): void {}

  /** Walk down to the PT entry for `gfn`, allocating tables on the way. Returns its HPA. */
  private leafEntry(gfn: number): number {
    const mem = this.vm.hostMem;
    let table = this.root;
    for (const shift of [27, 18, 9]) {
      const e = table + ((Math.floor(gfn / 2 ** shift) % 512) * 8);
      let lo = mem.read32(e);
      if ((lo & EptEntry.PERM_MASK) === 0) {
        const next = mem.allocFrame();
        lo = next | NONLEAF;
        mem.write32(e, lo);
        mem.write32(e + 4, 0);
      }
      table = lo & EptEntry.ADDRESS_MASK_LOW;
    }
    return table + (gfn % 512) * 8;
  }

  private flushAll(): void {
    for (const v of this.vm.vcpus) v.cpu.flushTlb();
    this.vm.stats.remote_tlb_flush++;
  }

  handleExit(vcpu: Vcpu, reason: number): MmuExitResult {
    if (reason !== EXIT_REASON.EPT_VIOLATION && reason !== EXIT_REASON.EPT_MISCONFIG) return 'unhandled';
    const gpa = vcpu.vmcsRead(F.GUEST_PHYSICAL_ADDRESS);
    const gfn = Math.floor(gpa / PAGE_SIZE);
    const isWrite = reason === EXIT_REASON.EPT_VIOLATION && (vcpu.vmcsRead(F.EXIT_QUALIFICATION) & EptEntry.WRITE) !== 0;
    const slot = this.vm.memslots.find(gfn);
    const leaf = this.leaves.get(gfn);
    if (reason === EXIT_REASON.EPT_MISCONFIG) {
      // A stale MMIO marker (the memslots changed since it was made) is zapped and retried.
      if (leaf?.mmio && leaf.generation !== this.vm.memslots.generation) {
        this.zapGfn(gfn);
        this.flushAll();
        return 'retry';
      }
      return 'emulate';
    }
    if (!slot) {
      const entry = this.leafEntry(gfn);
      const mem = this.vm.hostMem;
      mem.write32(entry, EPT_MISCONFIG_WX_VALUE);
      mem.write32(entry + 4, (this.vm.memslots.generation & 0x7ff) << MMIO_GEN_SHIFT);
      this.leaves.set(gfn, { entryHpa: entry, mmio: true, generation: this.vm.memslots.generation });
      vcpu.stats.pf_mmio_spte_created++;
      return 'emulate';
    }
    if (isWrite && slot.readOnly) return 'emulate'; // a write to a read-only slot becomes KVM_EXIT_MMIO
    const hpa = this.vm.hostSpace.hvaToHpa(slot.gfnToHva(gfn));
    const entry = this.leafEntry(gfn);
    const mem = this.vm.hostMem;
    mem.write32(entry, (hpa | LEAF_RAM | (slot.readOnly ? 0 : EptEntry.WRITE)) >>> 0);
    mem.write32(entry + 4, 0);
    if (!leaf) this.vm.stats.pages_4k++;
    this.leaves.set(gfn, { entryHpa: entry, mmio: false, generation: this.vm.memslots.generation });
    vcpu.stats.pf_fixed++;
    return 'retry';
  }

  private zapGfn(gfn: number): void {
    const leaf = this.leaves.get(gfn);
    if (!leaf) return;
    if (!leaf.mmio) this.collectOne(gfn, leaf);
    this.vm.hostMem.write32(leaf.entryHpa, 0);
    this.vm.hostMem.write32(leaf.entryHpa + 4, 0);
    this.leaves.delete(gfn);
    if (!leaf.mmio) this.vm.stats.pages_4k--;
  }

  zapSlot(slot: Memslot): void {
    for (let gfn = slot.baseGfn; gfn < slot.baseGfn + slot.npages; gfn++) this.zapGfn(gfn);
    this.flushAll();
  }

  memslotsChanged(): void {
    for (const [gfn, leaf] of this.leaves) if (leaf.mmio) this.zapGfn(gfn);
    this.flushAll();
  }

  private collectOne(gfn: number, leaf: Leaf): void {
    const mem = this.vm.hostMem;
    const lo = mem.read32(leaf.entryHpa);
    if (lo & EptEntry.DIRTY) {
      mem.write32(leaf.entryHpa, lo & ~EptEntry.DIRTY);
      this.vm.memslots.markDirty(gfn * PAGE_SIZE);
    }
  }

  collectDirty(slot: Memslot): void {
    for (let gfn = slot.baseGfn; gfn < slot.baseGfn + slot.npages; gfn++) {
      const leaf = this.leaves.get(gfn);
      if (leaf && !leaf.mmio) this.collectOne(gfn, leaf);
    }
    this.flushAll();
  }
}
