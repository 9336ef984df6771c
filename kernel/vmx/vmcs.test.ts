import { describe, expect, it } from 'vitest';
import { LaunchState, Vmcs } from './vmcs.js';
import { VmcsField } from './vmcs-fields.js';
import { VmInstructionError } from './vm-instruction-errors.js';

describe('Vmcs region', () => {
  const fresh = (): Vmcs => new Vmcs(1);

  it('starts clear with every field zero', () => {
    const v = fresh();
    expect(v.launchState).toBe(LaunchState.clear);
    for (const enc of Object.values(VmcsField)) expect(v.read(enc)).toBe(0);
  });

  it('masks values to the field width', () => {
    const v = fresh();
    expect(v.write(VmcsField.GUEST_CS_SELECTOR, 0x12345)).toBe(0);
    expect(v.read(VmcsField.GUEST_CS_SELECTOR)).toBe(0x2345);
    expect(v.write(VmcsField.GUEST_RIP, -1)).toBe(0);
    expect(v.read(VmcsField.GUEST_RIP)).toBe(0xffff_ffff); // natural width is 32 bits on IA-32
    expect(v.write(VmcsField.EXCEPTION_BITMAP, 0x1_0000_4000)).toBe(0);
    expect(v.read(VmcsField.EXCEPTION_BITMAP)).toBe(0x4000);
  });

  it('reaches 64-bit fields as full and high halves; a full write clears the high half', () => {
    const v = fresh();
    expect(v.write(VmcsField.VMCS_LINK_POINTER + 1, 0xffff_ffff)).toBe(0);
    expect(v.write(VmcsField.VMCS_LINK_POINTER, 0xffff_fffe)).toBe(0);
    expect(v.read(VmcsField.VMCS_LINK_POINTER)).toBe(0xffff_fffe);
    expect(v.read(VmcsField.VMCS_LINK_POINTER + 1)).toBe(0);
    v.write(VmcsField.TSC_OFFSET, 0x89ab_cdef);
    v.write(VmcsField.TSC_OFFSET + 1, 0x1234);
    expect(v.read64(VmcsField.TSC_OFFSET)).toBe(0x1234_89ab_cdef);
    expect(v.readHigh(VmcsField.TSC_OFFSET)).toBe(0x1234);
    v.write64Internal(VmcsField.GUEST_PHYSICAL_ADDRESS, 0x5_0000_1000);
    expect(v.read(VmcsField.GUEST_PHYSICAL_ADDRESS)).toBe(0x1000);
    expect(v.read(VmcsField.GUEST_PHYSICAL_ADDRESS + 1)).toBe(5);
  });

  it('rejects unsupported components with error 12', () => {
    const v = fresh();
    for (const bad of [0x0001 /* high access of a 16-bit field */, VmcsField.GUEST_RIP + 1, VmcsField.VM_EXIT_REASON + 1, 0x0004, 0x1000 | 0x0800, 0x4830, 0x8000, -2]) {
      expect(Vmcs.supports(bad)).toBe(false);
      expect(v.read(bad)).toBe(-1);
      expect(v.write(bad, 0)).toBe(VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
    }
  });

  it('rejects writes to read-only fields with error 13 but lets the processor write them', () => {
    const v = fresh();
    for (const ro of [VmcsField.VM_EXIT_REASON, VmcsField.EXIT_QUALIFICATION, VmcsField.GUEST_PHYSICAL_ADDRESS, VmcsField.GUEST_PHYSICAL_ADDRESS + 1, VmcsField.VM_INSTRUCTION_ERROR]) {
      expect(v.write(ro, 1)).toBe(VmInstructionError.VMWRITE_READ_ONLY_VMCS_COMPONENT);
      expect(v.read(ro)).toBe(0);
    }
    v.writeInternal(VmcsField.VM_EXIT_REASON, 30);
    expect(v.read(VmcsField.VM_EXIT_REASON)).toBe(30);
  });

  it('keeps separate storage per VMCS', () => {
    const a = fresh();
    const b = fresh();
    a.write(VmcsField.GUEST_RSP, 5);
    expect(b.read(VmcsField.GUEST_RSP)).toBe(0);
  });
});
