/**
 * Interruption-information format shared by VM_ENTRY_INTR_INFO_FIELD, VM_EXIT_INTR_INFO and
 * IDT_VECTORING_INFO_FIELD (SDM 25.8.3, 28.2.2, 28.2.4; facts §2.6).
 */

/** Interruption types, bits 10:8. */
export const InterruptionType = {
  EXTERNAL_INTERRUPT: 0,
  NMI: 2,
  HARDWARE_EXCEPTION: 3,
  SOFTWARE_INTERRUPT: 4,
  PRIVILEGED_SOFTWARE_EXCEPTION: 5,
  SOFTWARE_EXCEPTION: 6,
  OTHER_EVENT: 7,
} as const;
export type InterruptionType = (typeof InterruptionType)[keyof typeof InterruptionType];

/** Field layout of the interruption-information format. */
export const IntrInfo = {
  VECTOR_MASK: 0xff,
  TYPE_SHIFT: 8,
  TYPE_MASK: 0x700,
  DELIVER_ERROR_CODE: 1 << 11,
  NMI_UNBLOCKING_IRET: 1 << 12,
  /** Bits 30:12 must be 0 on VM entry (Linux INTR_INFO_RESVD_BITS_MASK). */
  ENTRY_RESERVED_MASK: 0x7fff_f000,
  VALID: 0x8000_0000,
} as const;

/** Exception vectors the VMX unit needs by name (SDM 6.15). */
export const Vector = {
  DE: 0,
  DB: 1,
  NMI: 2,
  BP: 3,
  OF: 4,
  DF: 8,
  TS: 10,
  NP: 11,
  SS: 12,
  GP: 13,
  PF: 14,
  AC: 17,
  MC: 18,
} as const;

/** Hardware exceptions that push an error code (SDM 6.15; used by the VM-entry check 26.2.1.3). */
export const ERROR_CODE_VECTORS: ReadonlySet<number> = new Set([Vector.DF, Vector.TS, Vector.NP, Vector.SS, Vector.GP, Vector.PF, Vector.AC]);

/** Compose an interruption-information value (valid bit set). */
export function makeIntrInfo(vector: number, type: InterruptionType, deliverErrorCode: boolean): number {
  return ((IntrInfo.VALID | (type << IntrInfo.TYPE_SHIFT) | (deliverErrorCode ? IntrInfo.DELIVER_ERROR_CODE : 0) | (vector & IntrInfo.VECTOR_MASK)) >>> 0);
}

/** Decoded interruption information. */
export interface DecodedIntrInfo {
  valid: boolean;
  vector: number;
  type: number;
  deliverErrorCode: boolean;
  nmiUnblockingIret: boolean;
}

/** Decode an interruption-information value. */
export function decodeIntrInfo(info: number): DecodedIntrInfo {
  return {
    valid: (info & IntrInfo.VALID) !== 0,
    vector: info & IntrInfo.VECTOR_MASK,
    type: (info & IntrInfo.TYPE_MASK) >>> IntrInfo.TYPE_SHIFT,
    deliverErrorCode: (info & IntrInfo.DELIVER_ERROR_CODE) !== 0,
    nmiUnblockingIret: (info & IntrInfo.NMI_UNBLOCKING_IRET) !== 0,
  };
}
