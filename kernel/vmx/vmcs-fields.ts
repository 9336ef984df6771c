/**
 * VMCS field encodings (SDM Vol. 3D Appendix B; facts §2.2) and the decoding of an encoding into
 * width, type and access (SDM 25.11.2 "VMREAD, VMWRITE, and Encodings of VMCS Fields"; facts §2.1).
 *
 * Names follow Linux `arch/x86/include/asm/vmx.h`. Only the full encoding of a 64-bit field is
 * listed; its high half is `encoding + 1` (access type 1).
 */

/** Every VMCS component this processor supports, by its full-access encoding. */
export const VmcsField = {
  // 16-bit control
  VIRTUAL_PROCESSOR_ID: 0x0000,
  POSTED_INTR_NV: 0x0002,
  // 16-bit guest state
  GUEST_ES_SELECTOR: 0x0800,
  GUEST_CS_SELECTOR: 0x0802,
  GUEST_SS_SELECTOR: 0x0804,
  GUEST_DS_SELECTOR: 0x0806,
  GUEST_FS_SELECTOR: 0x0808,
  GUEST_GS_SELECTOR: 0x080a,
  GUEST_LDTR_SELECTOR: 0x080c,
  GUEST_TR_SELECTOR: 0x080e,
  GUEST_INTR_STATUS: 0x0810,
  GUEST_PML_INDEX: 0x0812,
  // 16-bit host state
  HOST_ES_SELECTOR: 0x0c00,
  HOST_CS_SELECTOR: 0x0c02,
  HOST_SS_SELECTOR: 0x0c04,
  HOST_DS_SELECTOR: 0x0c06,
  HOST_FS_SELECTOR: 0x0c08,
  HOST_GS_SELECTOR: 0x0c0a,
  HOST_TR_SELECTOR: 0x0c0c,
  // 64-bit control
  IO_BITMAP_A: 0x2000,
  IO_BITMAP_B: 0x2002,
  MSR_BITMAP: 0x2004,
  VM_EXIT_MSR_STORE_ADDR: 0x2006,
  VM_EXIT_MSR_LOAD_ADDR: 0x2008,
  VM_ENTRY_MSR_LOAD_ADDR: 0x200a,
  EXECUTIVE_VMCS_POINTER: 0x200c,
  PML_ADDRESS: 0x200e,
  TSC_OFFSET: 0x2010,
  VIRTUAL_APIC_PAGE_ADDR: 0x2012,
  APIC_ACCESS_ADDR: 0x2014,
  POSTED_INTR_DESC_ADDR: 0x2016,
  VM_FUNCTION_CONTROL: 0x2018,
  EPT_POINTER: 0x201a,
  EOI_EXIT_BITMAP0: 0x201c,
  EOI_EXIT_BITMAP1: 0x201e,
  EOI_EXIT_BITMAP2: 0x2020,
  EOI_EXIT_BITMAP3: 0x2022,
  EPTP_LIST_ADDRESS: 0x2024,
  VMREAD_BITMAP: 0x2026,
  VMWRITE_BITMAP: 0x2028,
  VE_INFORMATION_ADDRESS: 0x202a,
  XSS_EXIT_BITMAP: 0x202c,
  TSC_MULTIPLIER: 0x2032,
  TERTIARY_VM_EXEC_CONTROL: 0x2034,
  // 64-bit read-only
  GUEST_PHYSICAL_ADDRESS: 0x2400,
  // 64-bit guest state
  VMCS_LINK_POINTER: 0x2800,
  GUEST_IA32_DEBUGCTL: 0x2802,
  GUEST_IA32_PAT: 0x2804,
  GUEST_IA32_EFER: 0x2806,
  GUEST_IA32_PERF_GLOBAL_CTRL: 0x2808,
  GUEST_PDPTR0: 0x280a,
  GUEST_PDPTR1: 0x280c,
  GUEST_PDPTR2: 0x280e,
  GUEST_PDPTR3: 0x2810,
  // 64-bit host state
  HOST_IA32_PAT: 0x2c00,
  HOST_IA32_EFER: 0x2c02,
  HOST_IA32_PERF_GLOBAL_CTRL: 0x2c04,
  // 32-bit control
  PIN_BASED_VM_EXEC_CONTROL: 0x4000,
  CPU_BASED_VM_EXEC_CONTROL: 0x4002,
  EXCEPTION_BITMAP: 0x4004,
  PAGE_FAULT_ERROR_CODE_MASK: 0x4006,
  PAGE_FAULT_ERROR_CODE_MATCH: 0x4008,
  CR3_TARGET_COUNT: 0x400a,
  VM_EXIT_CONTROLS: 0x400c,
  VM_EXIT_MSR_STORE_COUNT: 0x400e,
  VM_EXIT_MSR_LOAD_COUNT: 0x4010,
  VM_ENTRY_CONTROLS: 0x4012,
  VM_ENTRY_MSR_LOAD_COUNT: 0x4014,
  VM_ENTRY_INTR_INFO_FIELD: 0x4016,
  VM_ENTRY_EXCEPTION_ERROR_CODE: 0x4018,
  VM_ENTRY_INSTRUCTION_LEN: 0x401a,
  TPR_THRESHOLD: 0x401c,
  SECONDARY_VM_EXEC_CONTROL: 0x401e,
  PLE_GAP: 0x4020,
  PLE_WINDOW: 0x4022,
  // 32-bit read-only
  VM_INSTRUCTION_ERROR: 0x4400,
  VM_EXIT_REASON: 0x4402,
  VM_EXIT_INTR_INFO: 0x4404,
  VM_EXIT_INTR_ERROR_CODE: 0x4406,
  IDT_VECTORING_INFO_FIELD: 0x4408,
  IDT_VECTORING_ERROR_CODE: 0x440a,
  VM_EXIT_INSTRUCTION_LEN: 0x440c,
  VMX_INSTRUCTION_INFO: 0x440e,
  // 32-bit guest state
  GUEST_ES_LIMIT: 0x4800,
  GUEST_CS_LIMIT: 0x4802,
  GUEST_SS_LIMIT: 0x4804,
  GUEST_DS_LIMIT: 0x4806,
  GUEST_FS_LIMIT: 0x4808,
  GUEST_GS_LIMIT: 0x480a,
  GUEST_LDTR_LIMIT: 0x480c,
  GUEST_TR_LIMIT: 0x480e,
  GUEST_GDTR_LIMIT: 0x4810,
  GUEST_IDTR_LIMIT: 0x4812,
  GUEST_ES_AR_BYTES: 0x4814,
  GUEST_CS_AR_BYTES: 0x4816,
  GUEST_SS_AR_BYTES: 0x4818,
  GUEST_DS_AR_BYTES: 0x481a,
  GUEST_FS_AR_BYTES: 0x481c,
  GUEST_GS_AR_BYTES: 0x481e,
  GUEST_LDTR_AR_BYTES: 0x4820,
  GUEST_TR_AR_BYTES: 0x4822,
  GUEST_INTERRUPTIBILITY_INFO: 0x4824,
  GUEST_ACTIVITY_STATE: 0x4826,
  GUEST_SMBASE: 0x4828,
  GUEST_SYSENTER_CS: 0x482a,
  VMX_PREEMPTION_TIMER_VALUE: 0x482e,
  // 32-bit host state
  HOST_IA32_SYSENTER_CS: 0x4c00,
  // natural-width control
  CR0_GUEST_HOST_MASK: 0x6000,
  CR4_GUEST_HOST_MASK: 0x6002,
  CR0_READ_SHADOW: 0x6004,
  CR4_READ_SHADOW: 0x6006,
  CR3_TARGET_VALUE0: 0x6008,
  CR3_TARGET_VALUE1: 0x600a,
  CR3_TARGET_VALUE2: 0x600c,
  CR3_TARGET_VALUE3: 0x600e,
  // natural-width read-only
  EXIT_QUALIFICATION: 0x6400,
  IO_RCX: 0x6402,
  IO_RSI: 0x6404,
  IO_RDI: 0x6406,
  IO_RIP: 0x6408,
  GUEST_LINEAR_ADDRESS: 0x640a,
  // natural-width guest state
  GUEST_CR0: 0x6800,
  GUEST_CR3: 0x6802,
  GUEST_CR4: 0x6804,
  GUEST_ES_BASE: 0x6806,
  GUEST_CS_BASE: 0x6808,
  GUEST_SS_BASE: 0x680a,
  GUEST_DS_BASE: 0x680c,
  GUEST_FS_BASE: 0x680e,
  GUEST_GS_BASE: 0x6810,
  GUEST_LDTR_BASE: 0x6812,
  GUEST_TR_BASE: 0x6814,
  GUEST_GDTR_BASE: 0x6816,
  GUEST_IDTR_BASE: 0x6818,
  GUEST_DR7: 0x681a,
  GUEST_RSP: 0x681c,
  GUEST_RIP: 0x681e,
  GUEST_RFLAGS: 0x6820,
  GUEST_PENDING_DBG_EXCEPTIONS: 0x6822,
  GUEST_SYSENTER_ESP: 0x6824,
  GUEST_SYSENTER_EIP: 0x6826,
  // natural-width host state
  HOST_CR0: 0x6c00,
  HOST_CR3: 0x6c02,
  HOST_CR4: 0x6c04,
  HOST_FS_BASE: 0x6c06,
  HOST_GS_BASE: 0x6c08,
  HOST_TR_BASE: 0x6c0a,
  HOST_GDTR_BASE: 0x6c0c,
  HOST_IDTR_BASE: 0x6c0e,
  HOST_IA32_SYSENTER_ESP: 0x6c10,
  HOST_IA32_SYSENTER_EIP: 0x6c12,
  HOST_RSP: 0x6c14,
  HOST_RIP: 0x6c16,
} as const;
export type VmcsFieldName = keyof typeof VmcsField;
export type VmcsEncoding = (typeof VmcsField)[VmcsFieldName];

/** Field width, encoding bits 14:13 (SDM 25.11.2). */
export const FieldWidth = { bits16: 0, bits64: 1, bits32: 2, natural: 3 } as const;
export type FieldWidth = (typeof FieldWidth)[keyof typeof FieldWidth];

/** Field type, encoding bits 11:10 (SDM 25.11.2). */
export const FieldType = { control: 0, readOnly: 1, guest: 2, host: 3 } as const;
export type FieldType = (typeof FieldType)[keyof typeof FieldType];

/** Access type, encoding bit 0: the whole field or the high 32 bits of a 64-bit field. */
export const FieldAccess = { full: 0, high: 1 } as const;
export type FieldAccess = (typeof FieldAccess)[keyof typeof FieldAccess];

const WIDTH_SHIFT = 13;
const TYPE_SHIFT = 10;
const TWO_BITS = 3;
/** Bit 12 and bits 31:15 of an encoding are reserved (must be 0). */
export const ENCODING_RESERVED_MASK = 0xffff8000 | 0x1000;

/** Width decoded from an encoding (bits 14:13). */
export function fieldWidth(encoding: number): FieldWidth {
  return ((encoding >>> WIDTH_SHIFT) & TWO_BITS) as FieldWidth;
}

/** Type decoded from an encoding (bits 11:10). */
export function fieldType(encoding: number): FieldType {
  return ((encoding >>> TYPE_SHIFT) & TWO_BITS) as FieldType;
}

/** Access type decoded from an encoding (bit 0). */
export function fieldAccess(encoding: number): FieldAccess {
  return (encoding & 1) as FieldAccess;
}

/** Index decoded from an encoding (bits 9:1). */
export function fieldIndex(encoding: number): number {
  return (encoding >>> 1) & 0x1ff;
}

/**
 * Bits a field holds on this processor. It does not support Intel 64, so natural-width fields
 * are 32 bits (SDM 25.11.2); 64-bit fields are read and written 32 bits at a time (full = 31:0,
 * high = 63:32), so every VMREAD/VMWRITE operand is at most 32 bits.
 */
export function fieldBits(width: FieldWidth): 16 | 32 | 64 {
  switch (width) {
    case FieldWidth.bits16:
      return 16;
    case FieldWidth.bits32:
    case FieldWidth.natural:
      return 32;
    case FieldWidth.bits64:
      return 64;
  }
}

/** Name of a field by encoding (full or high), for traces and error messages. */
export function vmcsFieldName(encoding: number): string | undefined {
  const full = fieldWidth(encoding) === FieldWidth.bits64 ? encoding & ~1 : encoding;
  return fieldNameByEncoding.get(full);
}

const fieldNameByEncoding = new Map<number, VmcsFieldName>(
  (Object.entries(VmcsField) as [VmcsFieldName, number][]).map(([name, enc]) => [enc, name]),
);
