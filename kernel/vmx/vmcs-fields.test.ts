import { describe, expect, it } from 'vitest';
import { ENCODING_RESERVED_MASK, fieldAccess, FieldAccess, fieldType, FieldType, fieldWidth, FieldWidth, VmcsField, vmcsFieldName, type VmcsFieldName } from './vmcs-fields.js';
import { ExitReason, exitReasonName } from './exit-reasons.js';
import { VmInstructionError } from './vm-instruction-errors.js';
import { decodeIntrInfo, InterruptionType, makeIntrInfo } from './interruption.js';
import { ControlDefault1, ExitControls, ProcBased } from './controls.js';

/** The groups of facts §2.2, declared independently of the encodings. */
const groups: { width: FieldWidth; type: FieldType; names: VmcsFieldName[] }[] = [
  { width: FieldWidth.bits16, type: FieldType.control, names: ['VIRTUAL_PROCESSOR_ID', 'POSTED_INTR_NV'] },
  {
    width: FieldWidth.bits16,
    type: FieldType.guest,
    names: ['GUEST_ES_SELECTOR', 'GUEST_CS_SELECTOR', 'GUEST_SS_SELECTOR', 'GUEST_DS_SELECTOR', 'GUEST_FS_SELECTOR', 'GUEST_GS_SELECTOR', 'GUEST_LDTR_SELECTOR', 'GUEST_TR_SELECTOR', 'GUEST_INTR_STATUS', 'GUEST_PML_INDEX'],
  },
  { width: FieldWidth.bits16, type: FieldType.host, names: ['HOST_ES_SELECTOR', 'HOST_CS_SELECTOR', 'HOST_SS_SELECTOR', 'HOST_DS_SELECTOR', 'HOST_FS_SELECTOR', 'HOST_GS_SELECTOR', 'HOST_TR_SELECTOR'] },
  {
    width: FieldWidth.bits64,
    type: FieldType.control,
    names: [
      'IO_BITMAP_A', 'IO_BITMAP_B', 'MSR_BITMAP', 'VM_EXIT_MSR_STORE_ADDR', 'VM_EXIT_MSR_LOAD_ADDR', 'VM_ENTRY_MSR_LOAD_ADDR', 'EXECUTIVE_VMCS_POINTER', 'PML_ADDRESS', 'TSC_OFFSET',
      'VIRTUAL_APIC_PAGE_ADDR', 'APIC_ACCESS_ADDR', 'POSTED_INTR_DESC_ADDR', 'VM_FUNCTION_CONTROL', 'EPT_POINTER', 'EOI_EXIT_BITMAP0', 'EOI_EXIT_BITMAP1', 'EOI_EXIT_BITMAP2', 'EOI_EXIT_BITMAP3',
      'EPTP_LIST_ADDRESS', 'VMREAD_BITMAP', 'VMWRITE_BITMAP', 'VE_INFORMATION_ADDRESS', 'XSS_EXIT_BITMAP', 'TSC_MULTIPLIER', 'TERTIARY_VM_EXEC_CONTROL',
    ],
  },
  { width: FieldWidth.bits64, type: FieldType.readOnly, names: ['GUEST_PHYSICAL_ADDRESS'] },
  {
    width: FieldWidth.bits64,
    type: FieldType.guest,
    names: ['VMCS_LINK_POINTER', 'GUEST_IA32_DEBUGCTL', 'GUEST_IA32_PAT', 'GUEST_IA32_EFER', 'GUEST_IA32_PERF_GLOBAL_CTRL', 'GUEST_PDPTR0', 'GUEST_PDPTR1', 'GUEST_PDPTR2', 'GUEST_PDPTR3'],
  },
  { width: FieldWidth.bits64, type: FieldType.host, names: ['HOST_IA32_PAT', 'HOST_IA32_EFER', 'HOST_IA32_PERF_GLOBAL_CTRL'] },
  {
    width: FieldWidth.bits32,
    type: FieldType.control,
    names: [
      'PIN_BASED_VM_EXEC_CONTROL', 'CPU_BASED_VM_EXEC_CONTROL', 'EXCEPTION_BITMAP', 'PAGE_FAULT_ERROR_CODE_MASK', 'PAGE_FAULT_ERROR_CODE_MATCH', 'CR3_TARGET_COUNT', 'VM_EXIT_CONTROLS',
      'VM_EXIT_MSR_STORE_COUNT', 'VM_EXIT_MSR_LOAD_COUNT', 'VM_ENTRY_CONTROLS', 'VM_ENTRY_MSR_LOAD_COUNT', 'VM_ENTRY_INTR_INFO_FIELD', 'VM_ENTRY_EXCEPTION_ERROR_CODE', 'VM_ENTRY_INSTRUCTION_LEN',
      'TPR_THRESHOLD', 'SECONDARY_VM_EXEC_CONTROL', 'PLE_GAP', 'PLE_WINDOW',
    ],
  },
  {
    width: FieldWidth.bits32,
    type: FieldType.readOnly,
    names: ['VM_INSTRUCTION_ERROR', 'VM_EXIT_REASON', 'VM_EXIT_INTR_INFO', 'VM_EXIT_INTR_ERROR_CODE', 'IDT_VECTORING_INFO_FIELD', 'IDT_VECTORING_ERROR_CODE', 'VM_EXIT_INSTRUCTION_LEN', 'VMX_INSTRUCTION_INFO'],
  },
  {
    width: FieldWidth.bits32,
    type: FieldType.guest,
    names: [
      'GUEST_ES_LIMIT', 'GUEST_CS_LIMIT', 'GUEST_SS_LIMIT', 'GUEST_DS_LIMIT', 'GUEST_FS_LIMIT', 'GUEST_GS_LIMIT', 'GUEST_LDTR_LIMIT', 'GUEST_TR_LIMIT', 'GUEST_GDTR_LIMIT', 'GUEST_IDTR_LIMIT',
      'GUEST_ES_AR_BYTES', 'GUEST_CS_AR_BYTES', 'GUEST_SS_AR_BYTES', 'GUEST_DS_AR_BYTES', 'GUEST_FS_AR_BYTES', 'GUEST_GS_AR_BYTES', 'GUEST_LDTR_AR_BYTES', 'GUEST_TR_AR_BYTES',
      'GUEST_INTERRUPTIBILITY_INFO', 'GUEST_ACTIVITY_STATE', 'GUEST_SMBASE', 'GUEST_SYSENTER_CS', 'VMX_PREEMPTION_TIMER_VALUE',
    ],
  },
  { width: FieldWidth.bits32, type: FieldType.host, names: ['HOST_IA32_SYSENTER_CS'] },
  {
    width: FieldWidth.natural,
    type: FieldType.control,
    names: ['CR0_GUEST_HOST_MASK', 'CR4_GUEST_HOST_MASK', 'CR0_READ_SHADOW', 'CR4_READ_SHADOW', 'CR3_TARGET_VALUE0', 'CR3_TARGET_VALUE1', 'CR3_TARGET_VALUE2', 'CR3_TARGET_VALUE3'],
  },
  { width: FieldWidth.natural, type: FieldType.readOnly, names: ['EXIT_QUALIFICATION', 'IO_RCX', 'IO_RSI', 'IO_RDI', 'IO_RIP', 'GUEST_LINEAR_ADDRESS'] },
  {
    width: FieldWidth.natural,
    type: FieldType.guest,
    names: [
      'GUEST_CR0', 'GUEST_CR3', 'GUEST_CR4', 'GUEST_ES_BASE', 'GUEST_CS_BASE', 'GUEST_SS_BASE', 'GUEST_DS_BASE', 'GUEST_FS_BASE', 'GUEST_GS_BASE', 'GUEST_LDTR_BASE', 'GUEST_TR_BASE',
      'GUEST_GDTR_BASE', 'GUEST_IDTR_BASE', 'GUEST_DR7', 'GUEST_RSP', 'GUEST_RIP', 'GUEST_RFLAGS', 'GUEST_PENDING_DBG_EXCEPTIONS', 'GUEST_SYSENTER_ESP', 'GUEST_SYSENTER_EIP',
    ],
  },
  {
    width: FieldWidth.natural,
    type: FieldType.host,
    names: ['HOST_CR0', 'HOST_CR3', 'HOST_CR4', 'HOST_FS_BASE', 'HOST_GS_BASE', 'HOST_TR_BASE', 'HOST_GDTR_BASE', 'HOST_IDTR_BASE', 'HOST_IA32_SYSENTER_ESP', 'HOST_IA32_SYSENTER_EIP', 'HOST_RSP', 'HOST_RIP'],
  },
];

describe('VMCS field table', () => {
  it('decodes every field to the width and type of its declared group', () => {
    for (const g of groups) {
      for (const name of g.names) {
        const enc = VmcsField[name];
        expect({ name, width: fieldWidth(enc), type: fieldType(enc) }).toEqual({ name, width: g.width, type: g.type });
        expect(fieldAccess(enc)).toBe(FieldAccess.full);
        expect(enc & ENCODING_RESERVED_MASK).toBe(0);
      }
    }
  });

  it('declares every table entry in exactly one group, with unique encodings', () => {
    const declared = groups.flatMap((g) => g.names);
    expect(new Set(declared).size).toBe(declared.length);
    expect(new Set(declared)).toEqual(new Set(Object.keys(VmcsField)));
    const encodings = Object.values(VmcsField);
    expect(new Set(encodings).size).toBe(encodings.length);
  });

  it('decodes the facts §2.1 example 0x4402 as a 32-bit read-only field', () => {
    expect(fieldWidth(0x4402)).toBe(FieldWidth.bits32);
    expect(fieldType(0x4402)).toBe(FieldType.readOnly);
    expect(vmcsFieldName(0x4402)).toBe('VM_EXIT_REASON');
    expect(vmcsFieldName(0x201b)).toBe('EPT_POINTER'); // the high half names its field
    expect(fieldAccess(0x201b)).toBe(FieldAccess.high);
  });
});

describe('exit reasons, errors, interruption format, controls', () => {
  it('has the SDM numbers for the reasons KVM handles', () => {
    expect([ExitReason.EXCEPTION_NMI, ExitReason.EXTERNAL_INTERRUPT, ExitReason.TRIPLE_FAULT, ExitReason.INTERRUPT_WINDOW]).toEqual([0, 1, 2, 7]);
    expect([ExitReason.CPUID, ExitReason.HLT, ExitReason.INVLPG, ExitReason.RDPMC, ExitReason.RDTSC]).toEqual([10, 12, 14, 15, 16]);
    expect([ExitReason.CR_ACCESS, ExitReason.DR_ACCESS, ExitReason.IO_INSTRUCTION, ExitReason.MSR_READ, ExitReason.MSR_WRITE, ExitReason.INVALID_STATE]).toEqual([28, 29, 30, 31, 32, 33]);
    expect([ExitReason.EPT_VIOLATION, ExitReason.EPT_MISCONFIG, ExitReason.INVEPT, ExitReason.PREEMPTION_TIMER, ExitReason.INVVPID]).toEqual([48, 49, 50, 52, 53]);
    const values = Object.values(ExitReason);
    expect(new Set(values).size).toBe(values.length);
    for (const unused of [35, 38, 42, 71]) expect(values).not.toContain(unused);
    expect(exitReasonName(0x8000_0021)).toBe('INVALID_STATE');
  });

  it('has the VM-instruction error numbers of facts §2.10', () => {
    expect(VmInstructionError.VMLAUNCH_NONCLEAR_VMCS).toBe(4);
    expect(VmInstructionError.VMRESUME_NONLAUNCHED_VMCS).toBe(5);
    expect(VmInstructionError.ENTRY_INVALID_CONTROL_FIELD).toBe(7);
    expect(VmInstructionError.ENTRY_INVALID_HOST_STATE_FIELD).toBe(8);
    expect(VmInstructionError.UNSUPPORTED_VMCS_COMPONENT).toBe(12);
    expect(VmInstructionError.VMWRITE_READ_ONLY_VMCS_COMPONENT).toBe(13);
  });

  it('round-trips interruption information', () => {
    const info = makeIntrInfo(14, InterruptionType.HARDWARE_EXCEPTION, true);
    expect(info).toBe(0x8000_0b0e);
    expect(decodeIntrInfo(info)).toEqual({ valid: true, vector: 14, type: 3, deliverErrorCode: true, nmiUnblockingIret: false });
    expect(makeIntrInfo(3, InterruptionType.SOFTWARE_EXCEPTION, false)).toBe(0x8000_0603);
  });

  it('has control bits at the SDM positions', () => {
    expect(ProcBased.HLT_EXITING).toBe(0x80);
    expect(ProcBased.ACTIVATE_SECONDARY_CONTROLS >>> 0).toBe(0x8000_0000);
    expect(ExitControls.SAVE_DEBUG_CONTROLS).toBe(0x4); // bit 2, not the old Linux 0x2
    expect(ControlDefault1.proc).toBe(0x0401e172);
  });
});
