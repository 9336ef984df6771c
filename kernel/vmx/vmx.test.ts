import { beforeEach, describe, expect, it } from 'vitest';
import { Vmx, VmFailError, HOST_TIMER_VECTOR } from './vmx.js';
import { Vmcs, LaunchState } from './vmcs.js';
import { VmcsField } from './vmcs-fields.js';
import { VmInstructionError } from './vm-instruction-errors.js';
import { ExitReason } from './exit-reasons.js';
import { EntryControls, ExitControls, PinBased, ProcBased, ProcBased2 } from './controls.js';
import { FakeCpu } from './testing/fake-cpu.js';
import { setupValidGuest, TestAr } from './testing/guest-setup.js';
import { InterruptionType, makeIntrInfo } from './interruption.js';
import { VmxMisc } from './capabilities.js';
import { EptBuilder } from '../ept/ept-builder.js';

const FAILED_ENTRY_33 = 0x8000_0021;

let cpu: FakeCpu;
let vmx: Vmx;
beforeEach(() => {
  cpu = new FakeCpu();
  vmx = new Vmx(cpu.mem, cpu, { sliceInstructions: 1000 });
});

describe('VMX instructions in root operation', () => {
  it('VMXON twice fails (invalid without a VMCS, error 15 with one)', () => {
    expect(vmx.vmxon()).toEqual({ kind: 'ok' });
    expect(vmx.vmxon()).toEqual({ kind: 'failInvalid' });
    vmx.vmptrld(Vmx.createVmcs());
    expect(vmx.vmxon()).toEqual({ kind: 'fail', error: VmInstructionError.VMXON_IN_VMX_ROOT_OPERATION });
    expect(vmx.vmread(VmcsField.VM_INSTRUCTION_ERROR)).toBe(15);
  });

  it('treats VMX instructions outside VMX operation as bugs', () => {
    expect(() => vmx.vmptrld(Vmx.createVmcs())).toThrow(/outside VMX operation/);
  });

  it('VMPTRLD checks the revision identifier (error 11)', () => {
    vmx.vmxon();
    const good = Vmx.createVmcs();
    expect(vmx.vmptrld(new Vmcs(good.revisionId + 1))).toEqual({ kind: 'failInvalid' });
    vmx.vmptrld(good);
    expect(vmx.vmptrld(new Vmcs(good.revisionId + 1))).toEqual({ kind: 'fail', error: 11 });
    expect(vmx.currentVmcs).toBe(good);
  });

  it('VMREAD/VMWRITE report errors 12 and 13 in VM_INSTRUCTION_ERROR and throw a typed error', () => {
    vmx.vmxon();
    vmx.vmptrld(Vmx.createVmcs());
    expect(() => vmx.vmwrite(VmcsField.VM_EXIT_REASON, 1)).toThrow(VmFailError);
    expect(vmx.vmread(VmcsField.VM_INSTRUCTION_ERROR)).toBe(13);
    try {
      vmx.vmread(0x4830);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(VmFailError);
      expect((e as VmFailError).code).toBe('VMFAIL_VALID');
      expect((e as VmFailError).error).toBe(12);
    }
    expect(vmx.vmread(VmcsField.VM_INSTRUCTION_ERROR)).toBe(12);
    expect(() => vmx.vmwrite(VmcsField.GUEST_RIP + 1, 0)).toThrow(/error 12/);
  });

  it('VMREAD without a current VMCS is VMfailInvalid', () => {
    vmx.vmxon();
    const v = Vmx.createVmcs();
    vmx.vmptrld(v);
    vmx.vmclear(v);
    expect(vmx.currentVmcs).toBeNull();
    expect(() => vmx.vmread(VmcsField.GUEST_RIP)).toThrow(expect.objectContaining({ code: 'VMFAIL_INVALID' }));
  });

  it('vmread64/vmwrite64 move whole 64-bit fields', () => {
    vmx.vmxon();
    vmx.vmptrld(Vmx.createVmcs());
    vmx.vmwrite64(VmcsField.TSC_OFFSET, 0x1_2345_6789);
    expect(vmx.vmread(VmcsField.TSC_OFFSET)).toBe(0x2345_6789);
    expect(vmx.vmread64(VmcsField.TSC_OFFSET)).toBe(0x1_2345_6789);
  });
});

describe('VM entry: launch state', () => {
  it('VMLAUNCH/VMRESUME without a current VMCS is VMfailInvalid', () => {
    vmx.vmxon();
    expect(vmx.vmlaunch()).toEqual({ kind: 'failInvalid' });
  });

  it('VMRESUME of a clear VMCS fails with 5; VMLAUNCH of a launched one with 4', () => {
    const vmcs = setupValidGuest(vmx);
    expect(vmx.vmresume()).toEqual({ kind: 'fail', error: 5 });
    expect(vmx.vmread(VmcsField.VM_INSTRUCTION_ERROR)).toBe(5);
    expect(vmx.vmlaunch().kind).toBe('exit');
    expect(vmcs.launchState).toBe(LaunchState.launched);
    expect(vmx.vmlaunch()).toEqual({ kind: 'fail', error: 4 });
    expect(vmx.vmresume().kind).toBe('exit');
    vmx.vmclear(vmcs);
    vmx.vmptrld(vmcs);
    expect(vmx.vmresume()).toEqual({ kind: 'fail', error: 5 });
  });
});

describe('VM entry: control checks (error 7)', () => {
  const cases: [string, () => void][] = [
    ['pin-based bit not allowed', () => vmx.vmwrite(VmcsField.PIN_BASED_VM_EXEC_CONTROL, vmx.vmread(VmcsField.PIN_BASED_VM_EXEC_CONTROL) | PinBased.POSTED_INTR)],
    ['pin-based default1 bit cleared', () => vmx.vmwrite(VmcsField.PIN_BASED_VM_EXEC_CONTROL, PinBased.EXT_INTR_EXITING)],
    ['primary control not allowed (TPR shadow)', () => vmx.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, vmx.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL) | ProcBased.TPR_SHADOW)],
    [
      'secondary control not allowed (PML)',
      () => {
        vmx.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, vmx.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL) | ProcBased.ACTIVATE_SECONDARY_CONTROLS);
        vmx.vmwrite(VmcsField.SECONDARY_VM_EXEC_CONTROL, ProcBased2.ENABLE_PML);
      },
    ],
    [
      'I/O bitmap not 4 KiB aligned',
      () => {
        vmx.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, vmx.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL) | ProcBased.USE_IO_BITMAPS);
        vmx.vmwrite(VmcsField.IO_BITMAP_A, 0x2000);
        vmx.vmwrite(VmcsField.IO_BITMAP_B, 0x3008);
      },
    ],
    [
      'MSR bitmap beyond host memory',
      () => {
        vmx.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, vmx.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL) | ProcBased.USE_MSR_BITMAPS);
        vmx.vmwrite(VmcsField.MSR_BITMAP, 0x1000_0000);
      },
    ],
    [
      'unrestricted guest without EPT',
      () => {
        vmx.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, vmx.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL) | ProcBased.ACTIVATE_SECONDARY_CONTROLS);
        vmx.vmwrite(VmcsField.SECONDARY_VM_EXEC_CONTROL, ProcBased2.UNRESTRICTED_GUEST);
      },
    ],
    [
      'EPTP with a 5-level walk',
      () => {
        vmx.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, vmx.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL) | ProcBased.ACTIVATE_SECONDARY_CONTROLS);
        vmx.vmwrite(VmcsField.SECONDARY_VM_EXEC_CONTROL, ProcBased2.ENABLE_EPT);
        vmx.vmwrite(VmcsField.EPT_POINTER, 0x5000 | (4 << 3) | 6);
      },
    ],
    [
      'EPTP with memory type WT',
      () => {
        vmx.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, vmx.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL) | ProcBased.ACTIVATE_SECONDARY_CONTROLS);
        vmx.vmwrite(VmcsField.SECONDARY_VM_EXEC_CONTROL, ProcBased2.ENABLE_EPT);
        vmx.vmwrite(VmcsField.EPT_POINTER, 0x5000 | 0x18 | 4);
      },
    ],
    ['VPID 0 with enable VPID', () => {
      vmx.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, vmx.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL) | ProcBased.ACTIVATE_SECONDARY_CONTROLS);
      vmx.vmwrite(VmcsField.SECONDARY_VM_EXEC_CONTROL, ProcBased2.ENABLE_VPID);
    }],
    ['CR3-target count 5', () => vmx.vmwrite(VmcsField.CR3_TARGET_COUNT, 5)],
    ['exit control: 64-bit host', () => vmx.vmwrite(VmcsField.VM_EXIT_CONTROLS, vmx.vmread(VmcsField.VM_EXIT_CONTROLS) | ExitControls.HOST_ADDR_SPACE_SIZE)],
    ['save timer without the timer', () => vmx.vmwrite(VmcsField.VM_EXIT_CONTROLS, vmx.vmread(VmcsField.VM_EXIT_CONTROLS) | ExitControls.SAVE_VMX_PREEMPTION_TIMER)],
    ['entry control: IA-32e guest', () => vmx.vmwrite(VmcsField.VM_ENTRY_CONTROLS, vmx.vmread(VmcsField.VM_ENTRY_CONTROLS) | EntryControls.IA32E_MODE)],
    ['exit MSR-store list misaligned', () => vmx.vmwrite(VmcsField.VM_EXIT_MSR_STORE_ADDR, 0x1004)],
    ['entry event of reserved type 1', () => vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0x8000_0120)],
    ['entry NMI with vector 3', () => vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(3, InterruptionType.NMI, false))],
    ['entry #GP without error code', () => vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(13, InterruptionType.HARDWARE_EXCEPTION, false))],
    ['entry #UD with error code', () => vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(6, InterruptionType.HARDWARE_EXCEPTION, true))],
    ['entry exception vector 40', () => vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(40, InterruptionType.HARDWARE_EXCEPTION, false))],
    ['entry INT n with length 0', () => vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(0x80, InterruptionType.SOFTWARE_INTERRUPT, false))],
    ['entry interruption info reserved bit', () => vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(0x20, InterruptionType.EXTERNAL_INTERRUPT, false) | 0x1000)],
    [
      'entry error code bits 31:16',
      () => {
        vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(13, InterruptionType.HARDWARE_EXCEPTION, true));
        vmx.vmwrite(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE, 0x1_0000);
      },
    ],
  ];
  for (const [name, corrupt] of cases) {
    it(name, () => {
      const vmcs = setupValidGuest(vmx);
      corrupt();
      expect(vmx.vmlaunch()).toEqual({ kind: 'fail', error: 7 });
      expect(vmx.vmread(VmcsField.VM_INSTRUCTION_ERROR)).toBe(7);
      expect(vmx.lastEntryFailure).not.toBeNull();
      expect(vmcs.launchState).toBe(LaunchState.clear);
      expect(cpu.budgetsSeen).toEqual([]);
    });
  }

  it('accepts a valid event injection and a valid EPTP', () => {
    const ept = new EptBuilder(cpu.mem);
    setupValidGuest(vmx, { unrestricted: true, eptp: ept.eptp });
    vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(0x80, InterruptionType.SOFTWARE_INTERRUPT, false));
    vmx.vmwrite(VmcsField.VM_ENTRY_INSTRUCTION_LEN, 2);
    expect(vmx.vmlaunch().kind).toBe('exit');
  });
});

describe('VM entry: host-state checks (error 8)', () => {
  const cases: [string, number, number][] = [
    ['host CR0 without PG', VmcsField.HOST_CR0, 0x21],
    ['host CR0 without NE', VmcsField.HOST_CR0, 0x8000_0001],
    ['host CR4 without VMXE', VmcsField.HOST_CR4, 0],
    ['host CR4 with an unsupported bit (PCIDE)', VmcsField.HOST_CR4, 0x2000 | 0x20000],
    ['host CS null', VmcsField.HOST_CS_SELECTOR, 0],
    ['host TR null', VmcsField.HOST_TR_SELECTOR, 0],
    ['host SS null with a 32-bit host', VmcsField.HOST_SS_SELECTOR, 0],
    ['host DS with RPL 3', VmcsField.HOST_DS_SELECTOR, 0x13],
    ['host ES with TI set', VmcsField.HOST_ES_SELECTOR, 0x14],
  ];
  for (const [name, field, value] of cases) {
    it(name, () => {
      setupValidGuest(vmx);
      vmx.vmwrite(field, value);
      expect(vmx.vmlaunch()).toEqual({ kind: 'fail', error: 8 });
      expect(vmx.vmread(VmcsField.VM_INSTRUCTION_ERROR)).toBe(8);
    });
  }

  it('checks controls before host state', () => {
    setupValidGuest(vmx);
    vmx.vmwrite(VmcsField.HOST_CS_SELECTOR, 0);
    vmx.vmwrite(VmcsField.CR3_TARGET_COUNT, 9);
    expect(vmx.vmlaunch()).toEqual({ kind: 'fail', error: 7 });
  });
});

describe('VM entry: guest-state checks (exit 33 with bit 31)', () => {
  const cases: [string, [number, number][]][] = [
    ['guest CR0 without PG (no unrestricted guest)', [[VmcsField.GUEST_CR0, 0x21]]],
    ['guest CR0 without NE', [[VmcsField.GUEST_CR0, 0x8000_0001]]],
    ['guest CR4 without VMXE', [[VmcsField.GUEST_CR4, 0]]],
    ['RFLAGS bit 1 clear', [[VmcsField.GUEST_RFLAGS, 0]]],
    ['RFLAGS reserved bit 15', [[VmcsField.GUEST_RFLAGS, 0x8002]]],
    ['CS type data (no unrestricted guest)', [[VmcsField.GUEST_CS_AR_BYTES, TestAr.DATA32]]],
    ['CS not present', [[VmcsField.GUEST_CS_AR_BYTES, TestAr.CODE32 & ~0x80]]],
    ['CS limit with G clear above 1 MiB', [[VmcsField.GUEST_CS_AR_BYTES, TestAr.CODE32 & ~0x8000]]],
    ['CS limit with G set but low bits not ones', [[VmcsField.GUEST_CS_LIMIT, 0xffff_f000]]],
    ['CS access-rights reserved bit 8', [[VmcsField.GUEST_CS_AR_BYTES, TestAr.CODE32 | 0x100]]],
    ['SS.RPL != CS.RPL', [[VmcsField.GUEST_SS_SELECTOR, 0x13]]],
    ['SS type code', [[VmcsField.GUEST_SS_AR_BYTES, TestAr.CODE32]]],
    ['CS.DPL != SS.DPL for non-conforming code', [[VmcsField.GUEST_CS_AR_BYTES, TestAr.CODE32 | 0x60], [VmcsField.GUEST_CS_SELECTOR, 0x0b], [VmcsField.GUEST_SS_SELECTOR, 0x13]]],
    ['DS not accessed', [[VmcsField.GUEST_DS_AR_BYTES, TestAr.DATA32 & ~1]]],
    ['ES execute-only code', [[VmcsField.GUEST_ES_AR_BYTES, 0xc099]]],
    ['DS.DPL < RPL', [[VmcsField.GUEST_DS_SELECTOR, 0x13]]],
    ['TR type available TSS', [[VmcsField.GUEST_TR_AR_BYTES, 0x89]]],
    ['TR unusable', [[VmcsField.GUEST_TR_AR_BYTES, TestAr.TSS32_BUSY | 0x10000]]],
    ['TR selector with TI', [[VmcsField.GUEST_TR_SELECTOR, 0x1c]]],
    ['LDTR usable with a data type', [[VmcsField.GUEST_LDTR_AR_BYTES, TestAr.DATA32]]],
    ['GDTR limit above 16 bits', [[VmcsField.GUEST_GDTR_LIMIT, 0x1_0000]]],
    ['activity state wait-for-SIPI', [[VmcsField.GUEST_ACTIVITY_STATE, 3]]],
    ['HLT with STI blocking', [[VmcsField.GUEST_ACTIVITY_STATE, 1], [VmcsField.GUEST_INTERRUPTIBILITY_INFO, 1], [VmcsField.GUEST_RFLAGS, 0x202]]],
    ['STI blocking with IF = 0', [[VmcsField.GUEST_INTERRUPTIBILITY_INFO, 1]]],
    ['STI and MOV-SS blocking together', [[VmcsField.GUEST_INTERRUPTIBILITY_INFO, 3], [VmcsField.GUEST_RFLAGS, 0x202]]],
    ['interruptibility reserved bit', [[VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0x20]]],
    ['external interrupt injected with IF = 0', [[VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(0x20, InterruptionType.EXTERNAL_INTERRUPT, false)]]],
    ['#GP injected in HLT state', [[VmcsField.GUEST_ACTIVITY_STATE, 1], [VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(13, InterruptionType.HARDWARE_EXCEPTION, true)]]],
    ['virtual-8086 segment not in V86 form', [[VmcsField.GUEST_RFLAGS, 0x2_0002]]],
    ['pending debug exceptions reserved bit', [[VmcsField.GUEST_PENDING_DBG_EXCEPTIONS, 0x20]]],
  ];
  for (const [name, writes] of cases) {
    it(name, () => {
      const vmcs = setupValidGuest(vmx);
      for (const [f, v] of writes) vmx.vmwrite(f, v);
      expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: FAILED_ENTRY_33 });
      expect(vmx.vmread(VmcsField.VM_EXIT_REASON)).toBe(FAILED_ENTRY_33);
      expect(vmx.vmread(VmcsField.EXIT_QUALIFICATION)).toBe(0);
      expect(vmcs.launchState).toBe(LaunchState.clear);
      expect(cpu.budgetsSeen).toEqual([]);
      expect(vmx.exitCounts[ExitReason.INVALID_STATE]).toBe(1);
    });
  }

  it('reports an invalid VMCS link pointer with qualification 4', () => {
    setupValidGuest(vmx);
    vmx.vmwrite(VmcsField.VMCS_LINK_POINTER, 0x5000);
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: FAILED_ENTRY_33 });
    expect(vmx.vmread(VmcsField.EXIT_QUALIFICATION)).toBe(4);
  });

  it('lets an unrestricted guest run in real mode (CR0.PE = PG = 0)', () => {
    const ept = new EptBuilder(cpu.mem);
    setupValidGuest(vmx, { unrestricted: true, eptp: ept.eptp });
    vmx.vmwrite(VmcsField.GUEST_CR0, 0x20);
    for (let i = 0; i < 6; i++) {
      vmx.vmwrite(VmcsField.GUEST_ES_SELECTOR + 2 * i, 0);
      vmx.vmwrite(VmcsField.GUEST_ES_LIMIT + 2 * i, 0xffff);
      vmx.vmwrite(VmcsField.GUEST_ES_AR_BYTES + 2 * i, i === 1 ? 0x9b : 0x93);
    }
    vmx.vmwrite(VmcsField.GUEST_TR_SELECTOR, 0);
    vmx.vmwrite(VmcsField.GUEST_TR_LIMIT, 0xffff);
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.EXTERNAL_INTERRUPT });
    expect(cpu.cr0).toBe(0x20);
  });

  it('accepts a virtual-8086 guest with V86-form segments', () => {
    setupValidGuest(vmx);
    vmx.vmwrite(VmcsField.GUEST_RFLAGS, 0x2_0002);
    for (let i = 0; i < 6; i++) {
      vmx.vmwrite(VmcsField.GUEST_ES_SELECTOR + 2 * i, 0x1234);
      vmx.vmwrite(VmcsField.GUEST_ES_BASE + 2 * i, 0x12340);
      vmx.vmwrite(VmcsField.GUEST_ES_LIMIT + 2 * i, 0xffff);
      vmx.vmwrite(VmcsField.GUEST_ES_AR_BYTES + 2 * i, 0xf3);
    }
    expect(vmx.vmlaunch().kind).toBe('exit');
    expect(vmx.vmread(VmcsField.VM_EXIT_REASON)).toBe(ExitReason.EXTERNAL_INTERRUPT);
  });
});

describe('VM entry and exit: state transfer', () => {
  it('loads guest state into the processor and installs the hooks only while running', () => {
    setupValidGuest(vmx, { rip: 0x4321 });
    vmx.vmwrite(VmcsField.GUEST_RFLAGS, 0x246);
    vmx.vmwrite(VmcsField.GUEST_CR3, 0x9000);
    vmx.vmwrite(VmcsField.GUEST_SYSENTER_EIP, 0xc0de);
    vmx.vmwrite(VmcsField.GUEST_GDTR_BASE, 0x800);
    vmx.vmwrite(VmcsField.GUEST_FS_BASE, 0xf000_0000);
    vmx.vmlaunch();
    expect(cpu.hooksSeenByRun).toBe(vmx.hooks);
    expect(cpu.nonRoot).toBeNull();
    expect(cpu.cr0 >>> 0).toBe(0x8000_0021);
    expect(cpu.cr3).toBe(0x9000);
    expect(cpu.cr4).toBe(0x2000);
    expect(cpu.sysenterEip).toBe(0xc0de);
    expect(cpu.gdtrBase).toBe(0x800);
    expect(cpu.segBase[4]! >>> 0).toBe(0xf000_0000);
    expect(cpu.segSel[1]).toBe(0x08);
    expect(cpu.segAr[6]).toBe(TestAr.UNUSABLE);
    expect(cpu.segLimit[7]).toBe(0x67);
    expect(cpu.regs[4]).toBe(0x8000);
    expect(cpu.getEflags()).toBe(0x246);
    expect(cpu.eip).toBe(0x4321);
  });

  it('saves guest state back into the VMCS on exit', () => {
    setupValidGuest(vmx);
    cpu.script = [
      {
        len: 1,
        run: (c) => {
          c.regs[4] = 0x7ff0;
          c.cr3 = 0xa000;
          c.segSel[3] = 0x23;
          c.segBase[3] = 0x1000;
          c.setEflags(0x202);
          c.interruptibility = 1;
          c.sysenterCs = 0x10;
        },
      },
      { len: 1, run: (_c, h) => h.cpuid() },
    ];
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.CPUID });
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(0x1001);
    expect(vmx.vmread(VmcsField.GUEST_RSP)).toBe(0x7ff0);
    expect(vmx.vmread(VmcsField.GUEST_CR3)).toBe(0xa000);
    expect(vmx.vmread(VmcsField.GUEST_DS_SELECTOR)).toBe(0x23);
    expect(vmx.vmread(VmcsField.GUEST_DS_BASE)).toBe(0x1000);
    expect(vmx.vmread(VmcsField.GUEST_RFLAGS)).toBe(0x202);
    expect(vmx.vmread(VmcsField.GUEST_INTERRUPTIBILITY_INFO)).toBe(1);
    expect(vmx.vmread(VmcsField.GUEST_SYSENTER_CS)).toBe(0x10);
    expect(vmx.vmread(VmcsField.VM_EXIT_INSTRUCTION_LEN)).toBe(1);
  });

  describe('guest state held in the processor between exit and entry (SDM 25.11.1)', () => {
    const cpuidThenSpin = (): void => {
      cpu.script = [{ len: 2, run: (_c, h) => h.cpuid() }];
    };

    it('VMWRITE of RIP after an exit moves the processor, and the next entry resumes there', () => {
      setupValidGuest(vmx);
      cpuidThenSpin();
      expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.CPUID });
      vmx.vmwrite(VmcsField.GUEST_RIP, vmx.vmread(VmcsField.GUEST_RIP) + vmx.vmread(VmcsField.VM_EXIT_INSTRUCTION_LEN));
      expect(cpu.eip).toBe(0x1002);
      cpu.script = [{ len: 1, run: (_c, h) => h.cpuid() }];
      expect(vmx.vmresume()).toEqual({ kind: 'exit', reason: ExitReason.CPUID });
      expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(0x1002);
    });

    it('the VMCS region gets the held state back on VMCLEAR, and a later entry loads it', () => {
      const vmcs = setupValidGuest(vmx);
      cpu.script = [{ len: 1, run: (c) => void (c.segBase[3] = 0x5000) }, { len: 1, run: (_c, h) => h.cpuid() }];
      vmx.vmlaunch();
      vmx.vmclear(vmcs);
      expect(vmcs.read(VmcsField.GUEST_DS_BASE)).toBe(0x5000);
      expect(vmcs.read(VmcsField.GUEST_RIP)).toBe(0x1001);
      cpu.segBase[3] = 0; // a different guest ran on this processor meanwhile
      vmx.vmptrld(vmcs);
      cpu.script = [{ len: 1, run: (_c, h) => h.cpuid() }];
      expect(vmx.vmlaunch().kind).toBe('exit');
      expect(vmx.vmread(VmcsField.GUEST_DS_BASE)).toBe(0x5000);
    });

    it('writing a checked guest field after an exit makes the next entry check guest state again', () => {
      setupValidGuest(vmx);
      cpuidThenSpin();
      vmx.vmlaunch();
      vmx.vmwrite(VmcsField.GUEST_RFLAGS, 0); // bit 1 must be 1
      expect(vmx.vmresume()).toEqual({ kind: 'exit', reason: FAILED_ENTRY_33 });
      vmx.vmwrite(VmcsField.GUEST_RFLAGS, 2);
      vmx.vmwrite(VmcsField.GUEST_CS_AR_BYTES, TestAr.DATA32);
      expect(vmx.vmresume()).toEqual({ kind: 'exit', reason: FAILED_ENTRY_33 });
      expect(vmx.lastEntryFailure).toBe('guest CS type');
    });

    it('a second VMCS made current writes the first one back; each resumes with its own state', () => {
      const a = setupValidGuest(vmx, { rip: 0x1000 });
      cpuidThenSpin();
      vmx.vmlaunch();
      const b = setupValidGuest(vmx, { rip: 0x2000 });
      expect(a.read(VmcsField.GUEST_RIP)).toBe(0x1000);
      cpuidThenSpin();
      vmx.vmlaunch();
      vmx.vmptrld(a);
      expect(b.read(VmcsField.GUEST_RIP)).toBe(0x2000);
      expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(0x1000);
    });
  });

  it('keeps host-owned CR0/CR4 bits across non-root operation', () => {
    setupValidGuest(vmx);
    vmx.vmwrite(VmcsField.CR4_GUEST_HOST_MASK, 0x2000);
    vmx.vmwrite(VmcsField.CR0_GUEST_HOST_MASK, 0x20);
    // A core that wrote the raw operand of a non-exiting MOV to CR4/CR0.
    cpu.script = [{ len: 3, run: (c) => { c.cr4 = 0x10; c.cr0 = 0x8000_0001 | 0x8; } }];
    vmx.vmlaunch();
    expect(vmx.vmread(VmcsField.GUEST_CR4)).toBe(0x2010);
    expect(vmx.vmread(VmcsField.GUEST_CR0)).toBe(0x8000_0029);
    expect(cpu.cr4).toBe(0x2010);
    expect(vmx.vmresume().kind).toBe('exit'); // the saved state still passes the entry checks
    expect(vmx.vmread(VmcsField.VM_EXIT_REASON)).toBe(ExitReason.EXTERNAL_INTERRUPT);
  });

  it('loads and saves DR7 only with the debug-controls entry/exit controls', () => {
    setupValidGuest(vmx);
    vmx.vmwrite(VmcsField.GUEST_DR7, 0x400);
    cpu.dr[7] = 0x777;
    vmx.vmlaunch();
    expect(cpu.dr[7]).toBe(0x777);
    expect(vmx.vmread(VmcsField.GUEST_DR7)).toBe(0x400);
    vmx.vmwrite(VmcsField.VM_ENTRY_CONTROLS, vmx.vmread(VmcsField.VM_ENTRY_CONTROLS) | EntryControls.LOAD_DEBUG_CONTROLS);
    vmx.vmwrite(VmcsField.VM_EXIT_CONTROLS, vmx.vmread(VmcsField.VM_EXIT_CONTROLS) | ExitControls.SAVE_DEBUG_CONTROLS);
    cpu.script = [{ len: 1, run: (c) => void (c.dr[7] = 0x401) }];
    vmx.vmresume();
    expect(vmx.vmread(VmcsField.GUEST_DR7)).toBe(0x401);
  });

  it('ends a slice with exit 1 (host tick), acknowledging the host vector if asked', () => {
    setupValidGuest(vmx, { exit: ExitControls.ACK_INTR_ON_EXIT });
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.EXTERNAL_INTERRUPT });
    expect(cpu.budgetsSeen).toEqual([1000]);
    expect(cpu.instructionCount).toBe(1000);
    expect(vmx.vmread(VmcsField.VM_EXIT_INTR_INFO)).toBe(makeIntrInfo(HOST_TIMER_VECTOR, InterruptionType.EXTERNAL_INTERRUPT, false));
    vmx.vmwrite(VmcsField.VM_EXIT_CONTROLS, vmx.vmread(VmcsField.VM_EXIT_CONTROLS) & ~ExitControls.ACK_INTR_ON_EXIT);
    vmx.vmresume();
    expect(vmx.vmread(VmcsField.VM_EXIT_INTR_INFO)).toBe(0);
    expect(vmx.exitCounts[ExitReason.EXTERNAL_INTERRUPT]).toBe(2);
    expect(vmx.exits).toBe(2);
    expect(vmx.entries).toBe(2);
  });

  it('runs the preemption timer: budget = value << rate, exit 52, saved value', () => {
    setupValidGuest(vmx, { pin: PinBased.VMX_PREEMPTION_TIMER, exit: ExitControls.SAVE_VMX_PREEMPTION_TIMER });
    vmx.vmwrite(VmcsField.VMX_PREEMPTION_TIMER_VALUE, 10);
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.PREEMPTION_TIMER });
    expect(cpu.budgetsSeen).toEqual([10 << VmxMisc.PREEMPTION_TIMER_RATE]);
    expect(vmx.vmread(VmcsField.VMX_PREEMPTION_TIMER_VALUE)).toBe(0);
    // An active timer alone bounds the run, even beyond the host slice (1000 here).
    vmx.vmwrite(VmcsField.VMX_PREEMPTION_TIMER_VALUE, 5000);
    expect(vmx.vmresume()).toEqual({ kind: 'exit', reason: ExitReason.PREEMPTION_TIMER });
    expect(cpu.budgetsSeen[1]).toBe(5000 << VmxMisc.PREEMPTION_TIMER_RATE);
    // A cpuid exit before expiry saves what is left.
    vmx.vmwrite(VmcsField.VMX_PREEMPTION_TIMER_VALUE, 100);
    cpu.script = Array.from({ length: 64 }, () => ({ len: 1, run: () => undefined }));
    cpu.script.push({ len: 2, run: (_c, h) => h.cpuid() });
    expect(vmx.vmresume()).toEqual({ kind: 'exit', reason: ExitReason.CPUID });
    expect(vmx.vmread(VmcsField.VMX_PREEMPTION_TIMER_VALUE)).toBe(100 - (64 >> VmxMisc.PREEMPTION_TIMER_RATE));
  });

  it('exits at once when the timer starts at 0', () => {
    setupValidGuest(vmx, { pin: PinBased.VMX_PREEMPTION_TIMER });
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.PREEMPTION_TIMER });
    expect(cpu.budgetsSeen).toEqual([]);
  });

  it('syncCpuFromVmcs/syncVmcsFromCpu move guest state for root-mode emulation', () => {
    setupValidGuest(vmx, { rip: 0x5555 });
    vmx.syncCpuFromVmcs();
    expect(cpu.eip).toBe(0x5555);
    cpu.eip = 0x5557;
    cpu.regs[4] = 0x7000;
    vmx.syncVmcsFromCpu();
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(0x5557);
    expect(vmx.vmread(VmcsField.GUEST_RSP)).toBe(0x7000);
    vmx.vmclear(vmx.currentVmcs!);
    expect(() => vmx.syncCpuFromVmcs()).toThrow(VmFailError);
  });

  it('a halted guest leaves with exit 52 under the timer and exit 1 without it', () => {
    setupValidGuest(vmx, { pin: PinBased.VMX_PREEMPTION_TIMER });
    vmx.vmwrite(VmcsField.VMX_PREEMPTION_TIMER_VALUE, 100);
    cpu.haltWhenDone();
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.PREEMPTION_TIMER });
    expect(vmx.vmread(VmcsField.GUEST_ACTIVITY_STATE)).toBe(1);
    vmx.vmwrite(VmcsField.PIN_BASED_VM_EXEC_CONTROL, vmx.vmread(VmcsField.PIN_BASED_VM_EXEC_CONTROL) & ~PinBased.VMX_PREEMPTION_TIMER);
    expect(vmx.vmresume()).toEqual({ kind: 'exit', reason: ExitReason.EXTERNAL_INTERRUPT });
  });

  it('injects the VM-entry event and clears its valid bit on exit', () => {
    setupValidGuest(vmx);
    vmx.vmwrite(VmcsField.GUEST_RFLAGS, 0x202);
    vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(13, InterruptionType.HARDWARE_EXCEPTION, true));
    vmx.vmwrite(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE, 0x18);
    vmx.vmwrite(VmcsField.VM_ENTRY_INSTRUCTION_LEN, 3);
    vmx.vmlaunch();
    expect(cpu.delivered).toEqual([{ vector: 13, type: 3, errorCode: 0x18, hasErrorCode: true, instrLen: 3 }]);
    expect(vmx.vmread(VmcsField.VM_ENTRY_INTR_INFO_FIELD)).toBe(makeIntrInfo(13, InterruptionType.HARDWARE_EXCEPTION, true) & 0x7fff_ffff);
    vmx.vmresume();
    expect(cpu.delivered.length).toBe(1);
  });

  it('an injected external interrupt wakes a HLT activity state', () => {
    setupValidGuest(vmx);
    vmx.vmwrite(VmcsField.GUEST_RFLAGS, 0x202);
    vmx.vmwrite(VmcsField.GUEST_ACTIVITY_STATE, 1);
    vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(0x20, InterruptionType.EXTERNAL_INTERRUPT, false));
    cpu.script = [{ len: 1, run: (_c, h) => h.cpuid() }];
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.CPUID });
    expect(vmx.vmread(VmcsField.GUEST_ACTIVITY_STATE)).toBe(0);
    expect(cpu.delivered[0]!.vector).toBe(0x20);
  });

  it('a VM exit during injection rolls the guest back and reports IDT vectoring from the core', () => {
    setupValidGuest(vmx, { rip: 0x2000 });
    vmx.vmwrite(VmcsField.GUEST_RFLAGS, 0x202);
    vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, makeIntrInfo(0x20, InterruptionType.EXTERNAL_INTERRUPT, false));
    cpu.deliverExitReason = ExitReason.EPT_VIOLATION;
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.EPT_VIOLATION });
    expect(cpu.budgetsSeen).toEqual([]);
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(0x2000);
    expect(vmx.vmread(VmcsField.GUEST_RSP)).toBe(0x8000);
  });

  it('applies TSC offsetting to readTsc only in non-root operation', () => {
    setupValidGuest(vmx, { proc: ProcBased.USE_TSC_OFFSETTING });
    vmx.vmwrite64(VmcsField.TSC_OFFSET, 1_000_000);
    let seen = -1;
    cpu.script = [{ len: 2, run: (c) => void (seen = c.readTsc()) }];
    vmx.vmlaunch();
    expect(seen).toBe(1_000_000);
    expect(cpu.readTsc()).toBe(cpu.instructionCount);
    // A negative offset (two's complement in the high half).
    vmx.vmwrite(VmcsField.TSC_OFFSET, 0xffff_fff0);
    vmx.vmwrite(VmcsField.TSC_OFFSET + 1, 0xffff_ffff);
    const before = cpu.instructionCount;
    cpu.script = [{ len: 2, run: (c) => void (seen = c.readTsc()) }];
    vmx.vmresume();
    expect(seen).toBe(before - 16);
  });

  it('flushes the TLB on every entry without VPID, and only on context change with one', () => {
    setupValidGuest(vmx);
    vmx.vmlaunch();
    vmx.vmresume();
    expect(cpu.tlbFlushes).toBe(2);
    setupValidGuest(vmx, { proc2: ProcBased2.ENABLE_VPID });
    vmx.vmwrite(VmcsField.VIRTUAL_PROCESSOR_ID, 1);
    vmx.vmlaunch();
    vmx.vmresume();
    expect(cpu.tlbFlushes).toBe(3);
    vmx.vmwrite(VmcsField.VIRTUAL_PROCESSOR_ID, 2);
    vmx.vmresume();
    expect(cpu.tlbFlushes).toBe(4);
    vmx.invept();
    vmx.invvpid();
    expect(cpu.tlbFlushes).toBe(6);
  });
});
