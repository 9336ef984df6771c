/**
 * Initial vCPU state for a loaded image: flat 32-bit protected mode as the multiboot
 * specification (§3.2) and the Linux 32-bit boot protocol (facts §7.3) require, or real mode
 * for raw 16-bit binaries (the KVM API example).
 */
import type { StartState } from './loader/boot-image.js';
import type { GuestRam } from './guest-ram.js';
import type { KvmRegs, KvmSegment, KvmSregs, Vcpu } from '../kvm/vcpu.js';

/** A boot GDT the loader leaves at 0x500 (Firecracker's layout): 0x10 code, 0x18 data, flat 4 GiB. */
export const BOOT_GDT_ADDR = 0x500;
export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;

function flat(selector: number, type: number): KvmSegment {
  return { base: 0, limit: 0xffff_ffff, selector, type, present: 1, dpl: 0, db: 1, s: 1, g: 1, avl: 0, unusable: 0 };
}

function real(selector: number, type: number): KvmSegment {
  return { base: selector << 4, limit: 0xffff, selector, type, present: 1, dpl: 0, db: 0, s: 1, g: 0, avl: 0, unusable: 0 };
}

export function writeBootGdt(ram: GuestRam): void {
  const gdt = new Uint8Array(32);
  const v = new DataView(gdt.buffer);
  // 8-byte descriptors: limit 0xFFFFF, G=1, D=1, present, DPL 0.
  v.setUint32(16, 0x0000ffff, true);
  v.setUint32(20, 0x00cf9b00, true); // code: execute/read, accessed
  v.setUint32(24, 0x0000ffff, true);
  v.setUint32(28, 0x00cf9300, true); // data: read/write, accessed
  ram.write(BOOT_GDT_ADDR, gdt);
}

export function applyStartState(vcpu: Vcpu, ram: GuestRam, start: StartState): void {
  const r = start.regs;
  const regs: KvmRegs = {
    eax: r.eax ?? 0, ebx: r.ebx ?? 0, ecx: r.ecx ?? 0, edx: r.edx ?? 0, esi: r.esi ?? 0, edi: r.edi ?? 0,
    ebp: r.ebp ?? 0, esp: r.esp ?? 0, eip: 0, eflags: 0x2,
  };
  const base = vcpu.getSregs();
  let sregs: KvmSregs;
  if (start.mode === 'pm32') {
    writeBootGdt(ram);
    const data = flat(BOOT_DS, 0x3);
    sregs = {
      ...base,
      cs: flat(BOOT_CS, 0xb), ds: data, es: data, fs: data, gs: data, ss: data,
      tr: { base: 0, limit: 0xffff, selector: 0, type: 0xb, present: 1, dpl: 0, db: 0, s: 0, g: 0, avl: 0, unusable: 0 },
      gdt: { base: BOOT_GDT_ADDR, limit: 31 },
      idt: { base: 0, limit: 0 },
      cr0: 0x11, // PE | ET
    };
    regs.eip = start.entry;
  } else {
    const cs = start.entry <= 0xffff ? 0 : (start.entry >>> 4) & 0xf000;
    sregs = {
      ...base,
      cs: real(cs, 0xb), ds: real(0, 0x3), es: real(0, 0x3), fs: real(0, 0x3), gs: real(0, 0x3), ss: real(0, 0x3),
      gdt: { base: 0, limit: 0xffff },
      idt: { base: 0, limit: 0x3ff },
      cr0: 0x10,
    };
    regs.eip = start.entry - cs * 16;
  }
  vcpu.setSregs(sregs);
  vcpu.setRegs(regs);
}
