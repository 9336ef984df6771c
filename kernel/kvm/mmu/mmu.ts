/**
 * What a vCPU needs from the VM's MMU, whichever it is (facts §3.6; Documentation/virt/kvm/x86/mmu.rst):
 * TDP (EPT) or shadow paging, chosen per VM with `--mmu ept|shadow`.
 */
import type { Memslot } from '../memslots.js';
import type { Vcpu } from '../vcpu.js';

export type MmuExitResult = 'retry' | 'emulate' | 'unhandled';

export interface Mmu {
  readonly kind: 'ept' | 'shadow';
  /** Exceptions the MMU must intercept (#PF for shadow paging). */
  readonly exceptionBitmap: number;
  /** CR0/CR4 bits the MMU owns (read shadow shows the guest's value). */
  readonly cr0HostOwned: number;
  readonly cr4HostOwned: number;
  /** EPTP for the VMCS (TDP only). */
  eptp(): number;
  /** CR0/CR4 value the hardware runs with for a guest value. */
  hardwareCr0(guest: number): number;
  hardwareCr4(guest: number): number;
  guestCr3(vcpu: Vcpu): number;
  setGuestCr3(vcpu: Vcpu, value: number): void;
  /** EPT violation/misconfig, #PF and INVLPG exits. */
  handleExit(vcpu: Vcpu, reason: number): MmuExitResult;
  /** CR0.PG/WP/PE or CR4.PSE/PGE/PAE changed (kvm_mmu_reset_context). */
  pagingModeChanged(vcpu: Vcpu): void;
  /** Must the vCPU run through the emulator (guest state the hardware cannot run)? */
  emulationRequired(vcpu: Vcpu): boolean;
  /** The emulator is about to write guest RAM at `gpa` (shadow page tables must follow). */
  guestWrote(gpa: number): void;
  /** Drop every translation of a slot (deleted or moved). */
  zapSlot(slot: Memslot): void;
  /** Memslot generation changed: stale MMIO entries must miss. */
  memslotsChanged(): void;
  /** Move hardware dirty state (EPT D bits) into slot.dirtyBitmap and reset it. */
  collectDirty(slot: Memslot): void;
}
