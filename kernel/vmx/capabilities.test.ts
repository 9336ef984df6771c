import { describe, expect, it } from 'vitest';
import {
  adjustControls,
  controlsValid,
  EXIT_CAPS,
  FixedCr,
  PIN_CAPS,
  PROC2_CAPS,
  PROC_CAPS,
  readVmxCapabilityMsr,
  VMCS_REVISION_ID,
  VmxMsr,
} from './capabilities.js';
import { ControlDefault1, ExitControls, PinBased, ProcBased, ProcBased2 } from './controls.js';
import { fieldIndex, VmcsField } from './vmcs-fields.js';

const msr = (i: number): { lo: number; hi: number } => {
  const v = readVmxCapabilityMsr(i);
  if (v === undefined) throw new Error(`MSR 0x${i.toString(16)} missing`);
  return v;
};

describe('VMX capability MSRs', () => {
  it('answers every index 0x480-0x491 and nothing else', () => {
    for (let i = 0x480; i <= 0x491; i++) expect(readVmxCapabilityMsr(i)).toBeDefined();
    expect(readVmxCapabilityMsr(0x47f)).toBeUndefined();
    expect(readVmxCapabilityMsr(0x492)).toBeUndefined();
  });

  it('IA32_VMX_BASIC: revision id, 4 KiB region, 32-bit addresses, WB, TRUE controls', () => {
    const b = msr(VmxMsr.IA32_VMX_BASIC);
    expect(b.lo).toBe(VMCS_REVISION_ID);
    expect(b.lo >>> 31).toBe(0);
    expect(b.hi & 0x1fff).toBe(0x1000); // bits 44:32
    expect((b.hi >>> 16) & 1).toBe(1); // bit 48
    expect((b.hi >>> 18) & 0xf).toBe(6); // bits 53:50
    expect((b.hi >>> 23) & 1).toBe(1); // bit 55
  });

  it('non-TRUE control MSRs report the default1 bits as allowed-0', () => {
    expect(msr(VmxMsr.IA32_VMX_PINBASED_CTLS).lo).toBe(ControlDefault1.pin);
    expect(msr(VmxMsr.IA32_VMX_PROCBASED_CTLS).lo).toBe(ControlDefault1.proc);
    expect(msr(VmxMsr.IA32_VMX_EXIT_CTLS).lo).toBe(ControlDefault1.exit);
    expect(msr(VmxMsr.IA32_VMX_ENTRY_CTLS).lo).toBe(ControlDefault1.entry);
    // TRUE MSRs may only relax default1 bits.
    for (const [t, d] of [[VmxMsr.IA32_VMX_TRUE_PROCBASED_CTLS, ControlDefault1.proc], [VmxMsr.IA32_VMX_TRUE_EXIT_CTLS, ControlDefault1.exit]] as const) {
      expect(msr(t).lo & ~d).toBe(0);
    }
  });

  it('allows exactly the controls we implement', () => {
    expect(msr(VmxMsr.IA32_VMX_TRUE_PINBASED_CTLS).hi & ~ControlDefault1.pin).toBe(PinBased.EXT_INTR_EXITING | PinBased.NMI_EXITING | PinBased.VMX_PREEMPTION_TIMER);
    const procExtra = (msr(VmxMsr.IA32_VMX_TRUE_PROCBASED_CTLS).hi & ~ControlDefault1.proc) >>> 0;
    const bits = [2, 3, 7, 9, 11, 12, 23, 24, 25, 28, 31];
    expect(procExtra).toBe(bits.reduce((a, b) => (a | (1 << b)) >>> 0, 0));
    expect(msr(VmxMsr.IA32_VMX_PROCBASED_CTLS2).hi).toBe(ProcBased2.ENABLE_EPT | ProcBased2.ENABLE_VPID | ProcBased2.UNRESTRICTED_GUEST);
    expect(msr(VmxMsr.IA32_VMX_TRUE_EXIT_CTLS).hi & ExitControls.HOST_ADDR_SPACE_SIZE).toBe(0);
    expect(msr(VmxMsr.IA32_VMX_TRUE_ENTRY_CTLS).hi & (1 << 9)).toBe(0); // no IA-32e guests
  });

  it('IA32_VMX_MISC: timer rate 0, HLT and shutdown activity states, 4 CR3 targets', () => {
    const m = msr(VmxMsr.IA32_VMX_MISC);
    expect(m.lo & 0x1f).toBe(0);
    expect((m.lo >>> 6) & 7).toBe(0b011);
    expect((m.lo >>> 16) & 0x1ff).toBe(4);
    expect((m.lo >>> 29) & 1).toBe(0);
  });

  it('CR fixed bits: PE, NE, PG and VMXE must be 1', () => {
    expect(msr(VmxMsr.IA32_VMX_CR0_FIXED0).lo >>> 0).toBe(0x8000_0021);
    expect(msr(VmxMsr.IA32_VMX_CR4_FIXED0).lo).toBe(0x2000);
    expect(msr(VmxMsr.IA32_VMX_CR4_FIXED1).lo & 0x2000).toBe(0x2000);
    expect(FixedCr.UNRESTRICTED_CR0_RELAXED).toBe(0x8000_0001);
  });

  it('EPT_VPID_CAP: 4-level, WB, 2 MiB, INVEPT, A/D; no execute-only', () => {
    const c = msr(VmxMsr.IA32_VMX_EPT_VPID_CAP);
    for (const bit of [6, 14, 16, 20, 21]) expect((c.lo >>> bit) & 1).toBe(1);
    expect(c.lo & 1).toBe(0);
    expect(c.hi & 1).toBe(1); // INVVPID
  });

  it('VMCS_ENUM reports the highest field index', () => {
    const max = Math.max(...Object.values(VmcsField).map(fieldIndex));
    expect(msr(VmxMsr.IA32_VMX_VMCS_ENUM).lo).toBe(max << 1);
  });

  it('checks and adjusts control values against allowed settings', () => {
    expect(controlsValid(PIN_CAPS.allowed0, PIN_CAPS)).toBe(true);
    expect(controlsValid(0, PIN_CAPS)).toBe(false); // default1 bits missing
    expect(controlsValid(PIN_CAPS.allowed0 | PinBased.POSTED_INTR, PIN_CAPS)).toBe(false);
    expect(controlsValid(PROC_CAPS.allowed0 | ProcBased.HLT_EXITING, PROC_CAPS)).toBe(true);
    expect(controlsValid(ProcBased2.ENABLE_PML, PROC2_CAPS)).toBe(false);
    expect(adjustControls(ProcBased.HLT_EXITING, ProcBased.PAUSE_EXITING, PROC_CAPS)).toBe((PROC_CAPS.allowed0 | ProcBased.HLT_EXITING) >>> 0);
    expect(adjustControls(ProcBased.TPR_SHADOW, 0, PROC_CAPS)).toBeUndefined();
    expect(adjustControls(ExitControls.ACK_INTR_ON_EXIT, 0, EXIT_CAPS)! & ExitControls.ACK_INTR_ON_EXIT).toBe(ExitControls.ACK_INTR_ON_EXIT);
  });
});
