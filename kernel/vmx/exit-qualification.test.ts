import { describe, expect, it } from 'vitest';
import {
  CrAccessType,
  crQualification,
  decodeCrQualification,
  decodeDrQualification,
  decodeEptViolationQualification,
  decodeInvlpgQualification,
  decodeIoQualification,
  decodeTaskSwitchQualification,
  drQualification,
  ioQualification,
  TaskSwitchSource,
} from './exit-qualification.js';
import { eptViolationQualification } from '../ept/ept-format.js';

describe('exit-qualification formats (facts §2.5)', () => {
  it('I/O: size-1, direction, string, REP, immediate, port in 31:16', () => {
    expect(ioQualification(0x3f8, 1, false, false, false, true)).toBe(0x03f8_0040);
    expect(ioQualification(0x60, 1, true, false, false, true)).toBe(0x0060_0048);
    expect(ioQualification(0x1f0, 2, true, true, true, false)).toBe(0x01f0_0039);
    expect(ioQualification(0xcfc, 4, false, false, false, false)).toBe(0x0cfc_0003);
    // The way KVM reads it: size = (q & 7) + 1, IN = bit 3, string = bit 4, port = q >> 16.
    const q = 0xffff_0033;
    expect(decodeIoQualification(q)).toEqual({ port: 0xffff, size: 4, isIn: false, isString: true, isRep: true, immediate: false });
    for (const [port, size, isIn, s, r, imm] of [[0x80, 1, true, false, true, false], [0x8000, 2, false, true, false, false]] as const) {
      expect(decodeIoQualification(ioQualification(port, size, isIn, s, r, imm))).toEqual({ port, size, isIn, isString: s, isRep: r, immediate: imm });
    }
  });

  it('CR access: CR number, access type, LMSW operand type, GPR, LMSW source', () => {
    expect(crQualification(3, CrAccessType.MOV_TO_CR, 7)).toBe(0x703);
    expect(crQualification(0, CrAccessType.MOV_FROM_CR, 0)).toBe(0x10);
    expect(crQualification(0, CrAccessType.CLTS, 5)).toBe(0x20); // no GPR for CLTS
    expect(crQualification(0, CrAccessType.LMSW, 2, 0x000f)).toBe(0x000f_0030);
    expect(crQualification(0, CrAccessType.LMSW, -1, 0x8001)).toBe(0x8001_0070);
    expect(decodeCrQualification(0x8001_0070)).toEqual({ cr: 0, accessType: 3, gpr: 0, lmswMemory: true, lmswSource: 0x8001 });
    expect(decodeCrQualification(0x404)).toEqual({ cr: 4, accessType: 0, gpr: 4, lmswMemory: false, lmswSource: 0 });
  });

  it('MOV DR: DR number, direction (bit 4 = from DR), GPR', () => {
    expect(drQualification(7, true, 1)).toBe(0x107);
    expect(drQualification(6, false, 3)).toBe(0x316);
    expect(decodeDrQualification(0x316)).toEqual({ dr: 6, toDr: false, gpr: 3 });
  });

  it('EPT violation: access bits, granted permissions, linear-address bits', () => {
    expect(eptViolationQualification(4, 0b011, true, true)).toBe(0x4 | 0x18 | 0x180);
    expect(decodeEptViolationQualification(0x4 | 0x18 | 0x180)).toEqual({
      read: false, write: false, fetch: true, readable: true, writable: true, executable: false, linearValid: true, isFinal: true, nmiUnblockingIret: false,
    });
    expect(decodeEptViolationQualification(0x1000).nmiUnblockingIret).toBe(true);
    // Bit 8 is only set when bit 7 is.
    expect(eptViolationQualification(1, 0, false, true)).toBe(1);
  });

  it('INVLPG and task switch', () => {
    expect(decodeInvlpgQualification(0xffff_f000)).toEqual({ linear: 0xffff_f000 });
    expect(decodeTaskSwitchQualification(0xc000_0028)).toEqual({ selector: 0x28, source: TaskSwitchSource.IDT_GATE });
    expect(decodeTaskSwitchQualification(0x4000_0030)).toEqual({ selector: 0x30, source: TaskSwitchSource.IRET });
  });
});
