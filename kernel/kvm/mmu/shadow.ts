/**
 * The shadow-paging MMU (arch/x86/kvm/mmu/mmu.c + paging_tmpl.h without TDP; Documentation/
 * virt/kvm/x86/mmu.rst): with EPT off the hardware walks tables KVM builds in host-physical
 * memory, mapping guest-virtual addresses straight to host-physical frames. KVM keeps them in
 * step with the guest's own tables by intercepting #PF, MOV to/from CR3, INVLPG and the paging
 * bits of CR0/CR4, and by write-protecting every guest page that holds a page table: a guest
 * write to one faults, is emulated, and drops the shadow entries built from it.
 *
 * Shadow tables are 32-bit two-level tables with 4 KiB pages only (a guest 4 MiB page is shadowed
 * by a 4 KiB table). A guest with paging off is shadowed as an identity map. While the guest has
 * CR0.PE clear (real mode) the processor cannot run it without unrestricted guest, so KVM runs
 * it through the instruction emulator (emulate_invalid_guest_state).
 */
import { PAGE_SIZE } from '../../hw/host-memory.js';
import { Access, MMIO, type AccessKind } from '../../cpu/interfaces.js';
import { VmcsField as F } from '../../vmx/vmcs-fields.js';
import type { Memslot } from '../memslots.js';
import type { Vcpu } from '../vcpu.js';
import type { Vm } from '../vm.js';
import { EXIT_REASON, X86_CR0, X86_CR4 } from '../vmx-consts.js';
import type { Mmu, MmuExitResult } from './mmu.js';

/** 32-bit paging entry bits (SDM 4.3). */
export const PTE = {
  P: 1 << 0,
  W: 1 << 1,
  U: 1 << 2,
  A: 1 << 5,
  D: 1 << 6,
  PS: 1 << 7,
  FRAME: 0xffff_f000,
} as const;

/** #PF error-code bits (SDM 4.7). */
export const PFEC = { P: 1 << 0, W: 1 << 1, U: 1 << 2 } as const;

const PF_VECTOR = 14;

/** A shadow page table: which guest table (gfn) or 4 MiB region it stands for. */
interface ShadowTable {
  hpa: number;
  /** The guest page-table page it shadows; -1 for a guest 4 MiB page or paging off. */
  guestGfn: number;
}

/** The outcome of walking the guest's page tables for one access. */
type GuestWalk =
  | { ok: true; gpa: number; user: boolean; writable: boolean; dirty: boolean; pteHpa: number; pdeHpa: number; large: boolean; tableGfn: number }
  | { ok: false; errorCode: number };

export class ShadowMmu implements Mmu {
  readonly kind = 'shadow';
  readonly exceptionBitmap = 1 << PF_VECTOR;
  /** CR0.PE/PG/WP are KVM's: the hardware always runs paged, protected and with WP set. */
  readonly cr0HostOwned = X86_CR0.PE | X86_CR0.PG | X86_CR0.WP;
  readonly cr4HostOwned = X86_CR4.PSE | X86_CR4.PGE | X86_CR4.PAE;
  private root: number;
  private readonly tables = new Map<number, ShadowTable>(); // by page-directory index
  /** Shadow PTE HPAs by the guest frame they map (the rmap), to write-protect frames later. */
  private readonly rmap = new Map<number, Set<number>>();
  /** Guest frames holding page tables KVM shadows: writes to them must trap. */
  private readonly protectedGfns = new Map<number, number>(); // gfn → number of shadow tables using it
  private pdGfn = -1;
  private guestCr3Value = 0;

  constructor(private readonly vm: Vm) {
    this.root = vm.hostMem.allocFrame();
  }

  eptp(): number {
    return 0;
  }

  hardwareCr0(guest: number): number {
    return guest | X86_CR0.PE | X86_CR0.PG | X86_CR0.WP | X86_CR0.NE;
  }
  hardwareCr4(guest: number): number {
    return guest & ~this.cr4HostOwned;
  }

  guestCr3(): number {
    return this.guestCr3Value >>> 0;
  }

  setGuestCr3(vcpu: Vcpu, value: number): void {
    this.guestCr3Value = value >>> 0;
    this.zapAll();
    vcpu.vmcsWrite(F.GUEST_CR3, this.root);
  }

  private guestCr0(vcpu: Vcpu): number {
    return vcpu.vmcsRead(F.CR0_READ_SHADOW) >>> 0;
  }
  private guestCr4(vcpu: Vcpu): number {
    return vcpu.vmcsRead(F.CR4_READ_SHADOW) >>> 0;
  }

  /** The guest runs with CR0.PE clear: only the emulator can run it. */
  emulationRequired(vcpu: Vcpu): boolean {
    return (this.guestCr0(vcpu) & X86_CR0.PE) === 0;
  }

  /** Paging mode bits changed (CR0.PG/WP/PE, CR4.PSE/PGE): everything shadowed is stale. */
  pagingModeChanged(vcpu: Vcpu): void {
    this.zapAll();
    vcpu.vmcsWrite(F.GUEST_CR3, this.root);
  }

  // ---- shadow table management ---------------------------------------------------------------

  private flushTlbs(): void {
    for (const v of this.vm.vcpus) {
      v.cpu.flushTlb();
      v.stats.tlb_flush++;
    }
  }

  private freeTable(pdIndex: number, t: ShadowTable): void {
    const mem = this.vm.hostMem;
    for (let i = 0; i < 1024; i++) {
      const spte = mem.read32(t.hpa + i * 4);
      if (spte & PTE.P) this.rmap.get(Math.floor(spte / PAGE_SIZE))?.delete(t.hpa + i * 4);
    }
    mem.freeFrame(t.hpa);
    mem.write32(this.root + pdIndex * 4, 0);
    this.tables.delete(pdIndex);
    if (t.guestGfn >= 0) {
      const n = (this.protectedGfns.get(t.guestGfn) ?? 1) - 1;
      if (n <= 0) this.protectedGfns.delete(t.guestGfn);
      else this.protectedGfns.set(t.guestGfn, n);
    }
    this.vm.stats.mmu_shadow_zapped++;
  }

  /** Drop every shadow table (kvm_mmu_reset_context). */
  private zapAll(): void {
    for (const [i, t] of this.tables) this.freeTable(i, t);
    this.rmap.clear();
    this.protectedGfns.clear();
    this.pdGfn = -1;
    this.flushTlbs();
  }

  /** Drop the shadow tables built from guest frame `gfn` (a guest write changed it). */
  private zapGfn(gfn: number): void {
    if (gfn === this.pdGfn) {
      this.zapAll();
      return;
    }
    for (const [i, t] of this.tables) if (t.guestGfn === gfn) this.freeTable(i, t);
    this.flushTlbs();
  }

  /** A frame becomes a page-table page: remove write access from every shadow PTE mapping it. */
  private writeProtect(gfn: number): void {
    const hpa = this.vm.memslots.find(gfn) ? this.gfnToHpa(gfn) : -1;
    if (hpa < 0) return;
    const frame = Math.floor(hpa / PAGE_SIZE);
    const mem = this.vm.hostMem;
    let changed = false;
    for (const at of this.rmap.get(frame) ?? []) {
      const spte = mem.read32(at);
      if (spte & PTE.W) {
        mem.write32(at, spte & ~PTE.W);
        changed = true;
      }
    }
    if (changed) this.flushTlbs();
  }

  private gfnToHpa(gfn: number): number {
    const slot = this.vm.memslots.find(gfn) as Memslot;
    return this.vm.hostSpace.hvaToHpa(slot.gfnToHva(gfn));
  }

  /** Guest-physical RAM → HPA for reading/writing guest page tables, or -1 if not RAM. */
  private gpaToHpa(gpa: number, access: AccessKind): number {
    const hpa = this.vm.gpaToHpaForEmulator(gpa, access);
    return hpa === MMIO ? -1 : hpa;
  }

  // ---- the guest walk (paging_tmpl.h walk_addr) ----------------------------------------------

  private walkGuest(vcpu: Vcpu, gva: number, pfec: number): GuestWalk {
    const cr0 = this.guestCr0(vcpu);
    if (!(cr0 & X86_CR0.PG)) {
      return { ok: true, gpa: gva >>> 0, user: true, writable: true, dirty: true, pteHpa: -1, pdeHpa: -1, large: false, tableGfn: -1 };
    }
    const mem = this.vm.hostMem;
    const write = (pfec & PFEC.W) !== 0;
    const user = (pfec & PFEC.U) !== 0;
    const pdeGpa = (this.guestCr3Value & PTE.FRAME) + ((gva >>> 22) << 2);
    const pdeHpa = this.gpaToHpa(pdeGpa, Access.read);
    if (pdeHpa < 0) return { ok: false, errorCode: pfec & (PFEC.W | PFEC.U) };
    const pde = mem.read32(pdeHpa);
    if (!(pde & PTE.P)) return { ok: false, errorCode: pfec & (PFEC.W | PFEC.U) };
    const large = (pde & PTE.PS) !== 0 && (this.guestCr4(vcpu) & X86_CR4.PSE) !== 0;
    let entry = pde;
    let pteHpa = pdeHpa;
    let allowUser = (pde & PTE.U) !== 0;
    let allowWrite = (pde & PTE.W) !== 0;
    let gpa: number;
    let tableGfn = -1;
    if (large) {
      gpa = ((pde & 0xffc0_0000) >>> 0) + (gva & 0x3f_ffff);
    } else {
      const ptGpa = (pde & PTE.FRAME) >>> 0;
      tableGfn = ptGpa / PAGE_SIZE;
      pteHpa = this.gpaToHpa(ptGpa + (((gva >>> 12) & 0x3ff) << 2), Access.read);
      if (pteHpa < 0) return { ok: false, errorCode: pfec & (PFEC.W | PFEC.U) };
      entry = mem.read32(pteHpa);
      if (!(entry & PTE.P)) return { ok: false, errorCode: pfec & (PFEC.W | PFEC.U) };
      allowUser &&= (entry & PTE.U) !== 0;
      allowWrite &&= (entry & PTE.W) !== 0;
      gpa = ((entry & PTE.FRAME) >>> 0) + (gva & 0xfff);
    }
    const wp = (cr0 & X86_CR0.WP) !== 0;
    if ((user && !allowUser) || (write && !allowWrite && (user || wp))) {
      return { ok: false, errorCode: PFEC.P | (pfec & (PFEC.W | PFEC.U)) };
    }
    // The walk succeeded: set the accessed bits, and the dirty bit for a write, as the CPU would.
    mem.write32(pdeHpa, pde | PTE.A | (large && write ? PTE.D : 0));
    if (!large) mem.write32(pteHpa, entry | PTE.A | (write ? PTE.D : 0));
    const dirty = write || (entry & PTE.D) !== 0;
    return { ok: true, gpa, user: allowUser, writable: allowWrite, dirty, pteHpa, pdeHpa, large, tableGfn };
  }

  // ---- exits -----------------------------------------------------------------------------------

  handleExit(vcpu: Vcpu, reason: number): MmuExitResult {
    if (reason === EXIT_REASON.EXCEPTION_NMI) {
      const info = vcpu.vmcsRead(F.VM_EXIT_INTR_INFO);
      if ((info & 0xff) !== PF_VECTOR) return 'unhandled';
      return this.pageFault(vcpu, vcpu.vmcsRead(F.EXIT_QUALIFICATION) >>> 0, vcpu.vmcsRead(F.VM_EXIT_INTR_ERROR_CODE));
    }
    if (reason === EXIT_REASON.INVLPG) {
      const gva = vcpu.vmcsRead(F.EXIT_QUALIFICATION) >>> 0;
      this.invalidateGva(gva);
      vcpu.cpu.invalidatePage(gva);
      vcpu.stats.invlpg++;
      vcpu.skip();
      return 'retry';
    }
    return 'unhandled';
  }

  private invalidateGva(gva: number): void {
    const t = this.tables.get(gva >>> 22);
    if (!t) return;
    const at = t.hpa + ((gva >>> 12) & 0x3ff) * 4;
    const spte = this.vm.hostMem.read32(at);
    if (spte & PTE.P) this.rmap.get(Math.floor(spte / PAGE_SIZE))?.delete(at);
    this.vm.hostMem.write32(at, 0);
  }

  /** kvm_mmu_page_fault with a shadow MMU. */
  private pageFault(vcpu: Vcpu, gva: number, pfec: number): MmuExitResult {
    const walk = this.walkGuest(vcpu, gva, pfec);
    if (!walk.ok) {
      // The guest's own tables forbid it: the fault is the guest's (pf_guest), CR2 = address.
      vcpu.cpu.cr2 = gva;
      vcpu.queueException(PF_VECTOR, walk.errorCode);
      vcpu.stats.pf_guest++;
      return 'retry';
    }
    const gfn = Math.floor(walk.gpa / PAGE_SIZE);
    const write = (pfec & PFEC.W) !== 0;
    const user = (pfec & PFEC.U) !== 0;
    const slot = this.vm.memslots.find(gfn);
    // MMIO, a read-only slot, a write to a guest page table, or a supervisor write the guest's
    // CR0.WP=0 allows but a shadow entry cannot express: emulate the instruction.
    if (!slot || (write && (slot.readOnly || this.isPageTable(gfn) || (!walk.writable && !user)))) {
      if (write && this.isPageTable(gfn)) this.vm.stats.mmu_pte_write++;
      return 'emulate';
    }
    const pdIndex = gva >>> 22;
    let table = this.tables.get(pdIndex);
    const wantGfn = walk.tableGfn;
    if (table && table.guestGfn !== wantGfn) {
      this.freeTable(pdIndex, table);
      table = undefined;
    }
    const mem = this.vm.hostMem;
    if (!table) {
      table = { hpa: mem.allocFrame(), guestGfn: wantGfn };
      this.tables.set(pdIndex, table);
      mem.write32(this.root + pdIndex * 4, table.hpa | PTE.P | PTE.W | PTE.U);
      if (wantGfn >= 0) {
        this.protectedGfns.set(wantGfn, (this.protectedGfns.get(wantGfn) ?? 0) + 1);
        this.writeProtect(wantGfn);
      }
      if ((this.guestCr0(vcpu) & X86_CR0.PG) !== 0 && this.pdGfn < 0) {
        this.pdGfn = Math.floor((this.guestCr3Value & PTE.FRAME) / PAGE_SIZE);
        this.writeProtect(this.pdGfn);
      }
    }
    const hpa = this.gfnToHpa(gfn);
    if (write && slot.logDirty) this.vm.memslots.markDirty(walk.gpa);
    // Writable only once the guest PTE is dirty, and with dirty logging only after a write fault.
    const canWrite = walk.writable && walk.dirty && !this.isPageTable(gfn) && !slot.readOnly && (write || !slot.logDirty);
    const at = table.hpa + ((gva >>> 12) & 0x3ff) * 4;
    mem.write32(at, ((hpa & PTE.FRAME) | PTE.P | (walk.user ? PTE.U : 0) | (canWrite ? PTE.W : 0)) >>> 0);
    const frame = Math.floor(hpa / PAGE_SIZE);
    let set = this.rmap.get(frame);
    if (!set) this.rmap.set(frame, (set = new Set()));
    set.add(at);
    vcpu.cpu.invalidatePage(gva);
    vcpu.stats.pf_fixed++;
    return 'retry';
  }

  /** Does this guest frame hold a page directory or table that is shadowed (write-protected)? */
  private isPageTable(gfn: number): boolean {
    return gfn === this.pdGfn || this.protectedGfns.has(gfn);
  }

  /** The emulator wrote guest RAM: a write to a shadowed page table drops what was built from it. */
  guestWrote(gpa: number): void {
    const gfn = Math.floor(gpa / PAGE_SIZE);
    if (this.isPageTable(gfn)) this.zapGfn(gfn);
  }

  zapSlot(): void {
    this.zapAll();
  }

  memslotsChanged(): void {
    this.zapAll();
  }

  /** Dirty pages are recorded as they are made writable (markDirty on write faults). */
  collectDirty(): void {
    this.zapAll(); // the next write to each page faults again and is logged
  }
}
