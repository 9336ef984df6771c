import { beforeEach, describe, expect, it } from 'vitest';
import { Vmx } from './vmx.js';
import { VmcsField } from './vmcs-fields.js';
import { ExitReason } from './exit-reasons.js';
import { ProcBased } from './controls.js';
import { FakeCpu, type FakeStep } from './testing/fake-cpu.js';
import { setupValidGuest, type GuestSetup } from './testing/guest-setup.js';
import { InterruptionType, makeIntrInfo } from './interruption.js';
import { decodeCrQualification, decodeDrQualification, decodeIoQualification, decodeEptViolationQualification } from './exit-qualification.js';
import { EptBuilder } from '../ept/ept-builder.js';
import { EptEntry } from '../ept/ept-format.js';
import { Access, VmExitSignal } from '../cpu/interfaces.js';

let cpu: FakeCpu;
let vmx: Vmx;
beforeEach(() => {
  cpu = new FakeCpu(4 << 20);
  vmx = new Vmx(cpu.mem, cpu, { sliceInstructions: 100 });
});

/** Launch a guest that runs `steps` from RIP 0x1000 and return the exit reason. */
function runGuest(setup: GuestSetup, steps: FakeStep[], extra?: () => void): number {
  setupValidGuest(vmx, setup);
  extra?.();
  cpu.script = steps;
  const r = vmx.vmlaunch();
  if (r.kind !== 'exit') throw new Error(`entry failed: ${JSON.stringify(r)} ${vmx.lastEntryFailure}`);
  return r.reason;
}

const read = (f: number): number => vmx.vmread(f);

describe('unconditional and control-gated instruction exits', () => {
  it('CPUID always exits (10) with its instruction length', () => {
    expect(runGuest({}, [{ len: 2, run: (_c, h) => h.cpuid() }])).toBe(ExitReason.CPUID);
    expect(read(VmcsField.VM_EXIT_INSTRUCTION_LEN)).toBe(2);
    expect(read(VmcsField.GUEST_RIP)).toBe(0x1000);
    expect(read(VmcsField.EXIT_QUALIFICATION)).toBe(0);
    expect(vmx.exitCounts[ExitReason.CPUID]).toBe(1);
  });

  it('HLT exits (12) only with HLT exiting', () => {
    expect(runGuest({ proc: ProcBased.HLT_EXITING }, [{ len: 1, run: (_c, h) => h.hlt() }])).toBe(ExitReason.HLT);
    expect(read(VmcsField.VM_EXIT_INSTRUCTION_LEN)).toBe(1);
    let ran = false;
    runGuest({}, [{ len: 1, run: (_c, h) => { h.hlt(); ran = true; } }]);
    expect(ran).toBe(true);
  });

  it('INVLPG exits (14) with the linear address as qualification', () => {
    expect(runGuest({ proc: ProcBased.INVLPG_EXITING }, [{ len: 3, run: (_c, h) => h.invlpg(0xc000_1234) }])).toBe(ExitReason.INVLPG);
    expect(read(VmcsField.EXIT_QUALIFICATION)).toBe(0xc000_1234);
    expect(read(VmcsField.VM_EXIT_INSTRUCTION_LEN)).toBe(3);
  });

  it('RDTSC (16) and RDPMC (15) exit only with their controls', () => {
    expect(runGuest({ proc: ProcBased.RDTSC_EXITING }, [{ len: 2, run: (_c, h) => h.rdtsc() }])).toBe(ExitReason.RDTSC);
    expect(runGuest({ proc: ProcBased.RDPMC_EXITING }, [{ len: 2, run: (_c, h) => h.rdpmc() }])).toBe(ExitReason.RDPMC);
    expect(runGuest({}, [{ len: 2, run: (_c, h) => { h.rdtsc(); h.rdpmc(); } }, { len: 2, run: (_c, h) => h.cpuid() }])).toBe(ExitReason.CPUID);
  });

  it('VMX instructions exit with their own reasons', () => {
    for (const reason of [18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 50, 53]) {
      expect(runGuest({}, [{ len: 3, run: (_c, h) => h.vmxInstruction(reason, 3) }])).toBe(reason);
      expect(read(VmcsField.VM_EXIT_INSTRUCTION_LEN)).toBe(3);
    }
  });

  it('triple fault exits (2)', () => {
    expect(runGuest({}, [{ len: 1, run: (_c, h) => h.tripleFault() }])).toBe(ExitReason.TRIPLE_FAULT);
  });
});

describe('interrupt window (7)', () => {
  it('exits before the first instruction when interrupts are open', () => {
    let ran = false;
    const r = runGuest({ proc: ProcBased.INTR_WINDOW_EXITING }, [{ len: 1, run: () => void (ran = true) }], () => vmx.vmwrite(VmcsField.GUEST_RFLAGS, 0x202));
    expect(r).toBe(ExitReason.INTERRUPT_WINDOW);
    expect(ran).toBe(false);
  });

  it('waits for IF to be set (the core re-arms eventCheck on STI)', () => {
    const sti: FakeStep = { len: 1, run: (c) => { c.setEflags(0x202); c.eventCheck = true; } };
    expect(runGuest({ proc: ProcBased.INTR_WINDOW_EXITING }, [{ len: 1, run: () => undefined }, sti, { len: 1, run: () => undefined }])).toBe(ExitReason.INTERRUPT_WINDOW);
    expect(read(VmcsField.GUEST_RIP)).toBe(0x1002);
  });

  it('does not exit without the control', () => {
    expect(runGuest({}, [], () => vmx.vmwrite(VmcsField.GUEST_RFLAGS, 0x202))).toBe(ExitReason.EXTERNAL_INTERRUPT);
  });
});

describe('control-register accesses (28)', () => {
  it('MOV to CR0 exits when a host-owned bit differs from the shadow', () => {
    const setMasks = (): void => {
      vmx.vmwrite(VmcsField.CR0_GUEST_HOST_MASK, 0x8000_0001);
      vmx.vmwrite(VmcsField.CR0_READ_SHADOW, 0x8000_0001);
    };
    expect(runGuest({}, [{ len: 3, run: (_c, h) => h.crWrite(0, 0x0000_0031, 3, 0) }], setMasks)).toBe(ExitReason.CR_ACCESS);
    expect(decodeCrQualification(read(VmcsField.EXIT_QUALIFICATION))).toEqual({ cr: 0, accessType: 0, gpr: 3, lmswMemory: false, lmswSource: 0 });
    expect(read(VmcsField.VM_EXIT_INSTRUCTION_LEN)).toBe(3);
    // Same host-owned bits as the shadow: no exit, guest-owned bits may change freely.
    expect(runGuest({}, [{ len: 3, run: (_c, h) => h.crWrite(0, 0x8000_0033, 3, 0) }, { len: 2, run: (_c, h) => h.cpuid() }], setMasks)).toBe(ExitReason.CPUID);
  });

  it('MOV to CR4 follows the CR4 mask and shadow', () => {
    // The guest sees VMXE = 0 (shadow); writing it as 1 differs from the shadow and exits.
    const hide = (): void => vmx.vmwrite(VmcsField.CR4_GUEST_HOST_MASK, 0x2000);
    expect(runGuest({}, [{ len: 3, run: (_c, h) => h.crWrite(4, 0x20, 1, 0) }, { len: 2, run: (_c, h) => h.cpuid() }], hide)).toBe(ExitReason.CPUID);
    const r = runGuest({}, [{ len: 3, run: (_c, h) => h.crWrite(4, 0x2020, 1, 0) }], hide);
    expect(r).toBe(ExitReason.CR_ACCESS);
    expect(decodeCrQualification(read(VmcsField.EXIT_QUALIFICATION))).toMatchObject({ cr: 4, accessType: 0, gpr: 1 });
  });

  it('CR0/CR4 reads return the shadow for host-owned bits', () => {
    let cr0 = -1;
    let cr4 = -1;
    runGuest({}, [{ len: 3, run: (c, h) => { cr0 = h.crRead(0, 0, c.cr0); cr4 = h.crRead(4, 0, c.cr4); } }], () => {
      vmx.vmwrite(VmcsField.CR0_GUEST_HOST_MASK, 0x20);
      vmx.vmwrite(VmcsField.CR0_READ_SHADOW, 0);
      vmx.vmwrite(VmcsField.CR4_GUEST_HOST_MASK, 0x2000);
      vmx.vmwrite(VmcsField.CR4_READ_SHADOW, 0x10);
    });
    expect(cr0 >>> 0).toBe(0x8000_0001); // NE hidden
    expect(cr4).toBe(0); // VMXE hidden, shadow bit 4 not host-owned so not shown
  });

  it('a non-exiting write keeps host-owned bits (crWriteValue)', () => {
    let v = -1;
    runGuest({}, [{ len: 3, run: (_c, h) => void (v = (h as typeof vmx.hooks).crWriteValue(4, 0x10)) }], () => vmx.vmwrite(VmcsField.CR4_GUEST_HOST_MASK, 0x2000));
    expect(v).toBe(0x2010);
  });

  it('CLTS exits only if TS is host-owned with shadow 1', () => {
    const clts: FakeStep = { len: 2, run: (_c, h) => h.crWrite(0, 0, 0, 2) };
    const cpuid: FakeStep = { len: 2, run: (_c, h) => h.cpuid() };
    expect(runGuest({}, [clts, cpuid], () => vmx.vmwrite(VmcsField.CR0_GUEST_HOST_MASK, 8))).toBe(ExitReason.CPUID);
    expect(runGuest({}, [clts, cpuid], () => { vmx.vmwrite(VmcsField.CR0_GUEST_HOST_MASK, 8); vmx.vmwrite(VmcsField.CR0_READ_SHADOW, 8); })).toBe(ExitReason.CR_ACCESS);
    expect(decodeCrQualification(read(VmcsField.EXIT_QUALIFICATION))).toMatchObject({ cr: 0, accessType: 2 });
  });

  it('LMSW exits with its source operand; it cannot clear PE', () => {
    const masks = (): void => {
      vmx.vmwrite(VmcsField.CR0_GUEST_HOST_MASK, 0xf);
      vmx.vmwrite(VmcsField.CR0_READ_SHADOW, 1);
    };
    const cpuid: FakeStep = { len: 2, run: (_c, h) => h.cpuid() };
    // PE=0 in the operand with shadow PE=1: LMSW cannot clear PE, no exit.
    expect(runGuest({}, [{ len: 3, run: (_c, h) => h.crWrite(0, 0x0, 2, 3) }, cpuid], masks)).toBe(ExitReason.CPUID);
    expect(runGuest({}, [{ len: 3, run: (_c, h) => h.crWrite(0, 0x9, -1, 3) }], masks)).toBe(ExitReason.CR_ACCESS);
    expect(decodeCrQualification(read(VmcsField.EXIT_QUALIFICATION))).toEqual({ cr: 0, accessType: 3, gpr: 0, lmswMemory: true, lmswSource: 9 });
  });

  it('MOV to CR3 exits with CR3-load exiting unless the value is a CR3 target', () => {
    const targets = (): void => {
      vmx.vmwrite(VmcsField.CR3_TARGET_COUNT, 2);
      vmx.vmwrite(VmcsField.CR3_TARGET_VALUE0, 0x1000);
      vmx.vmwrite(VmcsField.CR3_TARGET_VALUE1, 0x2000);
      vmx.vmwrite(VmcsField.CR3_TARGET_VALUE2, 0x3000); // beyond the count: not a target
    };
    const cpuid: FakeStep = { len: 2, run: (_c, h) => h.cpuid() };
    expect(runGuest({ proc: ProcBased.CR3_LOAD_EXITING }, [{ len: 3, run: (_c, h) => h.crWrite(3, 0x2000, 0, 0) }, cpuid], targets)).toBe(ExitReason.CPUID);
    expect(runGuest({ proc: ProcBased.CR3_LOAD_EXITING }, [{ len: 3, run: (_c, h) => h.crWrite(3, 0x3000, 6, 0) }], targets)).toBe(ExitReason.CR_ACCESS);
    expect(decodeCrQualification(read(VmcsField.EXIT_QUALIFICATION))).toMatchObject({ cr: 3, accessType: 0, gpr: 6 });
    expect(runGuest({}, [{ len: 3, run: (_c, h) => h.crWrite(3, 0x3000, 6, 0) }, cpuid])).toBe(ExitReason.CPUID);
  });

  it('MOV from CR3 exits with CR3-store exiting', () => {
    expect(runGuest({ proc: ProcBased.CR3_STORE_EXITING }, [{ len: 3, run: (c, h) => void h.crRead(3, 5, c.cr3) }])).toBe(ExitReason.CR_ACCESS);
    expect(decodeCrQualification(read(VmcsField.EXIT_QUALIFICATION))).toMatchObject({ cr: 3, accessType: 1, gpr: 5 });
  });
});

describe('MOV DR (29)', () => {
  it('exits with MOV-DR exiting and reports direction, DR and GPR', () => {
    expect(runGuest({ proc: ProcBased.MOV_DR_EXITING }, [{ len: 3, run: (_c, h) => h.movDr(7, false, 2) }])).toBe(ExitReason.DR_ACCESS);
    expect(decodeDrQualification(read(VmcsField.EXIT_QUALIFICATION))).toEqual({ dr: 7, toDr: false, gpr: 2 });
    expect(runGuest({ proc: ProcBased.MOV_DR_EXITING }, [{ len: 3, run: (_c, h) => h.movDr(3, true, 0) }])).toBe(ExitReason.DR_ACCESS);
    expect(read(VmcsField.EXIT_QUALIFICATION)).toBe(3);
    expect(runGuest({}, [{ len: 3, run: (_c, h) => h.movDr(3, true, 0) }, { len: 2, run: (_c, h) => h.cpuid() }])).toBe(ExitReason.CPUID);
  });
});

describe('I/O instructions (30)', () => {
  const out: FakeStep = { len: 2, run: (_c, h) => h.io(0x3f8, 1, false, false, false, true, 2) };

  it('exits unconditionally with unconditional I/O exiting, qualification per §2.5', () => {
    expect(runGuest({ proc: ProcBased.UNCOND_IO_EXITING }, [out])).toBe(ExitReason.IO_INSTRUCTION);
    const q = read(VmcsField.EXIT_QUALIFICATION);
    expect(q).toBe((0x3f8 << 16) | 0x40);
    expect(decodeIoQualification(q)).toEqual({ port: 0x3f8, size: 1, isIn: false, isString: false, isRep: false, immediate: true });
    expect(read(VmcsField.VM_EXIT_INSTRUCTION_LEN)).toBe(2);
    expect(runGuest({ proc: ProcBased.UNCOND_IO_EXITING }, [{ len: 2, run: (_c, h) => h.io(0x1f0, 2, true, true, true, false, 2) }])).toBe(30);
    expect(read(VmcsField.EXIT_QUALIFICATION)).toBe(((0x1f0 << 16) | 0x39) >>> 0);
  });

  it('does not exit with neither control', () => {
    expect(runGuest({}, [out, { len: 2, run: (_c, h) => h.cpuid() }])).toBe(ExitReason.CPUID);
  });

  it('uses bitmaps A and B (ignoring unconditional exiting) and checks every byte of the access', () => {
    const a = 0x10000;
    const b = 0x11000;
    const bitmaps = (): void => {
      vmx.vmwrite(VmcsField.IO_BITMAP_A, a);
      vmx.vmwrite(VmcsField.IO_BITMAP_B, b);
      cpu.mem.write8(a + (0x3f9 >> 3), 1 << (0x3f9 & 7)); // port 0x3F9
      cpu.mem.write8(b + (0x0cfc >> 3), 1 << (0xcfc & 7)); // port 0x8CFC (B covers 0x8000-)
    };
    const proc = ProcBased.USE_IO_BITMAPS | ProcBased.UNCOND_IO_EXITING;
    const cpuid: FakeStep = { len: 2, run: (_c, h) => h.cpuid() };
    expect(runGuest({ proc }, [out, cpuid], bitmaps)).toBe(ExitReason.CPUID); // 0x3F8 clear
    expect(runGuest({ proc }, [{ len: 1, run: (_c, h) => h.io(0x3f8, 2, true, false, false, false, 1) }], bitmaps)).toBe(30); // covers 0x3F9
    expect(decodeIoQualification(read(VmcsField.EXIT_QUALIFICATION))).toMatchObject({ port: 0x3f8, size: 2, isIn: true });
    expect(runGuest({ proc }, [{ len: 1, run: (_c, h) => h.io(0x8cfc, 4, false, false, false, false, 1) }], bitmaps)).toBe(30);
    expect(runGuest({ proc }, [{ len: 1, run: (_c, h) => h.io(0xffff, 2, false, false, false, false, 1) }], bitmaps)).toBe(30); // wraps
  });
});

describe('RDMSR/WRMSR (31/32)', () => {
  const msr = 0x10000 + 0x4000;
  const bitmap = (): void => {
    vmx.vmwrite(VmcsField.MSR_BITMAP, msr);
    cpu.mem.write8(msr + (0x174 >> 3), 1 << (0x174 & 7)); // read SYSENTER_CS
    cpu.mem.write8(msr + 3072 + (0x80 >> 3), 1 << 0); // write 0xC0000080 (EFER)
  };
  const rd = (m: number): FakeStep => ({ len: 2, run: (_c, h) => h.rdmsr(m) });
  const wr = (m: number): FakeStep => ({ len: 2, run: (_c, h) => h.wrmsr(m) });
  const cpuid: FakeStep = { len: 2, run: (_c, h) => h.cpuid() };
  const p = { proc: ProcBased.USE_MSR_BITMAPS };

  it('always exits without MSR bitmaps', () => {
    expect(runGuest({}, [rd(0x10)])).toBe(ExitReason.MSR_READ);
    expect(runGuest({}, [wr(0x10)])).toBe(ExitReason.MSR_WRITE);
    expect(read(VmcsField.VM_EXIT_INSTRUCTION_LEN)).toBe(2);
  });

  it('consults the four bitmap quarters', () => {
    expect(runGuest(p, [rd(0x174)], bitmap)).toBe(ExitReason.MSR_READ);
    expect(runGuest(p, [wr(0x174), rd(0x175), rd(0xc000_0080), cpuid], bitmap)).toBe(ExitReason.CPUID);
    expect(runGuest(p, [wr(0xc000_0080)], bitmap)).toBe(ExitReason.MSR_WRITE);
  });

  it('always exits for ECX outside both ranges', () => {
    expect(runGuest(p, [rd(0x2000)], bitmap)).toBe(ExitReason.MSR_READ);
    expect(runGuest(p, [wr(0x4000_0000)], bitmap)).toBe(ExitReason.MSR_WRITE);
  });
});

describe('exceptions (0)', () => {
  const raise = (vector: number, code: number, has: boolean): FakeStep => ({ len: 1, run: (_c, h) => h.exception(vector, code, has) });
  const cpuid: FakeStep = { len: 2, run: (_c, h) => h.cpuid() };
  const bitmap = (bits: number, mask = 0, match = 0) => (): void => {
    vmx.vmwrite(VmcsField.EXCEPTION_BITMAP, bits);
    vmx.vmwrite(VmcsField.PAGE_FAULT_ERROR_CODE_MASK, mask);
    vmx.vmwrite(VmcsField.PAGE_FAULT_ERROR_CODE_MATCH, match);
  };

  it('exits per the exception bitmap with hardware-exception interruption info', () => {
    expect(runGuest({}, [raise(13, 0x10, true)], bitmap(1 << 13))).toBe(ExitReason.EXCEPTION_NMI);
    expect(read(VmcsField.VM_EXIT_INTR_INFO)).toBe(makeIntrInfo(13, InterruptionType.HARDWARE_EXCEPTION, true));
    expect(read(VmcsField.VM_EXIT_INTR_ERROR_CODE)).toBe(0x10);
    expect(runGuest({}, [raise(6, 0, false)], bitmap(1 << 6))).toBe(0);
    expect(read(VmcsField.VM_EXIT_INTR_INFO)).toBe(makeIntrInfo(6, InterruptionType.HARDWARE_EXCEPTION, false));
    expect(runGuest({}, [raise(13, 0, true), cpuid], bitmap(1 << 6))).toBe(ExitReason.CPUID);
  });

  it('reports #BP and #OF as software exceptions (type 6)', () => {
    expect(runGuest({}, [raise(3, 0, false)], bitmap(1 << 3))).toBe(0);
    expect(read(VmcsField.VM_EXIT_INTR_INFO)).toBe(makeIntrInfo(3, InterruptionType.SOFTWARE_EXCEPTION, false));
    expect(runGuest({}, [raise(4, 0, false)], bitmap(1 << 4))).toBe(0);
    expect((read(VmcsField.VM_EXIT_INTR_INFO) >> 8) & 7).toBe(6);
  });

  it('#PF: qualification is the faulting address and CR2 is not written', () => {
    cpu.cr2 = 0x1111;
    const pf: FakeStep = { len: 1, run: (c, h) => { c.pfLinear = 0xdead_b000; h.exception(14, 2, true); } };
    expect(runGuest({}, [pf], bitmap(1 << 14))).toBe(0);
    expect(read(VmcsField.EXIT_QUALIFICATION)).toBe(0xdead_b000);
    expect(read(VmcsField.VM_EXIT_INTR_ERROR_CODE)).toBe(2);
    expect(cpu.cr2).toBe(0x1111);
  });

  it('#PF: error-code mask/match filter with bit 14 set and clear', () => {
    // Bit 14 set: exit only when (PFEC & mask) == match — here only present-bit faults (P=1).
    expect(runGuest({}, [raise(14, 0x3, true)], bitmap(1 << 14, 1, 1))).toBe(0);
    expect(runGuest({}, [raise(14, 0x2, true), cpuid], bitmap(1 << 14, 1, 1))).toBe(ExitReason.CPUID);
    // Bit 14 clear: exit only when they differ.
    expect(runGuest({}, [raise(14, 0x2, true)], bitmap(0, 1, 1))).toBe(0);
    expect(runGuest({}, [raise(14, 0x3, true), cpuid], bitmap(0, 1, 1))).toBe(ExitReason.CPUID);
    // Mask 0 and match 0 with bit 14 clear: #PF never exits.
    expect(runGuest({}, [raise(14, 0x7, true), cpuid], bitmap(0))).toBe(ExitReason.CPUID);
  });
});

describe('guest-physical translation', () => {
  it('is the identity without EPT, and an out-of-memory access is a bug', () => {
    let hpa = -1;
    runGuest({}, [{ len: 1, run: (_c, h) => void (hpa = h.translateGpa(0x5000, Access.read, 0, true, true)) }]);
    expect(hpa).toBe(0x5000);
    cpu.script = [{ len: 1, run: (_c, h) => void h.translateGpa(64 << 20, Access.read, 0, true, true) }];
    expect(() => vmx.vmresume()).toThrow(/bug/);
    expect(cpu.nonRoot).toBeNull(); // left non-root cleanly
  });

  it('translates through EPT and counts walk references', () => {
    const ept = new EptBuilder(cpu.mem);
    ept.map4k(0x1000, 0x20_0000, EptEntry.READ | EptEntry.WRITE | EptEntry.EXEC);
    let hpa = -1;
    runGuest({ unrestricted: true, eptp: ept.eptp }, [{ len: 1, run: (_c, h) => void (hpa = h.translateGpa(0x1234, Access.write, 0, true, true)) }]);
    expect(hpa).toBe(0x20_0234);
    expect(vmx.hooks.eptStats.references).toBe(4);
  });

  it('EPT violation (48): qualification, GPA and linear address fields', () => {
    const ept = new EptBuilder(cpu.mem);
    ept.map4k(0x1000, 0x20_0000, EptEntry.READ);
    const r = runGuest({ unrestricted: true, eptp: ept.eptp }, [{ len: 2, run: (_c, h) => void h.translateGpa(0x1ffc, Access.write, 0x40_1ffc, true, true) }]);
    expect(r).toBe(ExitReason.EPT_VIOLATION);
    const q = read(VmcsField.EXIT_QUALIFICATION);
    expect(decodeEptViolationQualification(q)).toMatchObject({ read: false, write: true, fetch: false, readable: true, writable: false, executable: false, linearValid: true, isFinal: true });
    expect(q).toBe(0x2 | 0x8 | 0x80 | 0x100);
    expect(vmx.vmread64(VmcsField.GUEST_PHYSICAL_ADDRESS)).toBe(0x1ffc);
    expect(read(VmcsField.GUEST_LINEAR_ADDRESS)).toBe(0x40_1ffc);
    expect(read(VmcsField.GUEST_RIP)).toBe(0x1000);
  });

  it('EPT violation on a guest paging-structure access: bit 8 clear; no linear address: bit 7 clear', () => {
    const ept = new EptBuilder(cpu.mem);
    expect(runGuest({ unrestricted: true, eptp: ept.eptp }, [{ len: 1, run: (_c, h) => void h.translateGpa(0x9000, Access.read, 0xc000_0000, false, true) }])).toBe(48);
    expect(read(VmcsField.EXIT_QUALIFICATION)).toBe(0x1 | 0x80);
    expect(runGuest({ unrestricted: true, eptp: ept.eptp }, [{ len: 1, run: (_c, h) => void h.translateGpa(0x9000, Access.fetch, 0x1234, true, false) }])).toBe(48);
    expect(read(VmcsField.EXIT_QUALIFICATION)).toBe(0x4);
    expect(read(VmcsField.GUEST_LINEAR_ADDRESS)).toBe(0);
  });

  it('EPT misconfiguration (49): GPA only', () => {
    const ept = new EptBuilder(cpu.mem);
    ept.mapMmio(0xd000_0000);
    const r = runGuest({ unrestricted: true, eptp: ept.eptp }, [{ len: 3, run: (_c, h) => void h.translateGpa(0xd000_0050, Access.write, 0xd000_0050, true, true) }]);
    expect(r).toBe(ExitReason.EPT_MISCONFIG);
    expect(read(VmcsField.EXIT_QUALIFICATION)).toBe(0);
    expect(vmx.vmread64(VmcsField.GUEST_PHYSICAL_ADDRESS)).toBe(0xd000_0050);
    expect(vmx.hooks.eptStats.misconfigs).toBe(1);
  });

  it('instruction hooks record the exit and return true; other exits unwind with the VmExitSignal singleton', () => {
    setupValidGuest(vmx);
    vmx.hooks.configure(vmx.currentVmcs!);
    expect(vmx.hooks.cpuid()).toBe(true);
    expect(cpu.exit.reason).toBe(ExitReason.CPUID);
    expect(vmx.hooks.hlt()).toBe(false); // HLT exiting is off in the valid guest's controls
    let thrown: unknown;
    try {
      vmx.hooks.tripleFault();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe(VmExitSignal.instance);
    expect(cpu.exit.reason).toBe(ExitReason.TRIPLE_FAULT);
  });
});
