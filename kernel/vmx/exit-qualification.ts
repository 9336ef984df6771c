/**
 * Exit-qualification formats (SDM 28.2.1 Tables 28-1..28-7; facts §2.5): builders used by the
 * non-root hooks and small pure decoders, one per exit reason, used by KVM's exit handlers.
 */
import { EptViolationQual } from '../ept/ept-format.js';

/** Bits of the I/O-instruction qualification (exit 30, Table 28-5). */
export const IoQual = {
  SIZE_MASK: 0x7,
  IN: 1 << 3,
  STRING: 1 << 4,
  REP: 1 << 5,
  IMMEDIATE: 1 << 6,
  PORT_SHIFT: 16,
} as const;

/** Bits of the control-register-access qualification (exit 28, Table 28-3). */
export const CrQual = {
  CR_MASK: 0xf,
  ACCESS_SHIFT: 4,
  ACCESS_MASK: 0x30,
  LMSW_MEMORY: 1 << 6,
  GPR_SHIFT: 8,
  GPR_MASK: 0xf00,
  LMSW_SOURCE_SHIFT: 16,
} as const;

/** Access types of a CR-access exit (qualification bits 5:4). */
export const CrAccessType = { MOV_TO_CR: 0, MOV_FROM_CR: 1, CLTS: 2, LMSW: 3 } as const;

/** Bits of the MOV-DR qualification (exit 29, Table 28-4). */
export const DrQual = {
  DR_MASK: 0x7,
  FROM_DR: 1 << 4,
  GPR_SHIFT: 8,
  GPR_MASK: 0xf00,
} as const;

/** Bits of the task-switch qualification (exit 9, Table 28-2). */
export const TaskSwitchQual = {
  SELECTOR_MASK: 0xffff,
  SOURCE_SHIFT: 30,
} as const;

/** Source of a task switch (qualification bits 31:30). */
export const TaskSwitchSource = { CALL: 0, IRET: 1, JMP: 2, IDT_GATE: 3 } as const;

/** Compose an I/O-instruction qualification. */
export function ioQualification(port: number, size: number, isIn: boolean, isString: boolean, isRep: boolean, immediate: boolean): number {
  return (
    (((size - 1) & IoQual.SIZE_MASK) |
      (isIn ? IoQual.IN : 0) |
      (isString ? IoQual.STRING : 0) |
      (isRep ? IoQual.REP : 0) |
      (immediate ? IoQual.IMMEDIATE : 0) |
      ((port & 0xffff) << IoQual.PORT_SHIFT)) >>>
    0
  );
}

/** Compose a CR-access qualification; `lmswSource` only for LMSW, `gpr` < 0 = LMSW memory operand. */
export function crQualification(cr: number, accessType: number, gpr: number, lmswSource = 0): number {
  let q = (cr & CrQual.CR_MASK) | ((accessType & 3) << CrQual.ACCESS_SHIFT);
  if (accessType === CrAccessType.LMSW) {
    q |= ((lmswSource & 0xffff) << CrQual.LMSW_SOURCE_SHIFT) | (gpr < 0 ? CrQual.LMSW_MEMORY : 0);
  } else if (accessType !== CrAccessType.CLTS) {
    q |= (gpr & 0xf) << CrQual.GPR_SHIFT;
  }
  return q >>> 0;
}

/** Compose a MOV-DR qualification. */
export function drQualification(dr: number, toDr: boolean, gpr: number): number {
  return (dr & DrQual.DR_MASK) | (toDr ? 0 : DrQual.FROM_DR) | ((gpr & 0xf) << DrQual.GPR_SHIFT);
}

/** Decoded I/O-instruction qualification (exit 30). */
export interface IoExit {
  port: number;
  size: number;
  isIn: boolean;
  isString: boolean;
  isRep: boolean;
  immediate: boolean;
}

/** Decode an I/O-instruction qualification (KVM handle_io). */
export function decodeIoQualification(q: number): IoExit {
  return {
    port: q >>> IoQual.PORT_SHIFT,
    size: (q & IoQual.SIZE_MASK) + 1,
    isIn: (q & IoQual.IN) !== 0,
    isString: (q & IoQual.STRING) !== 0,
    isRep: (q & IoQual.REP) !== 0,
    immediate: (q & IoQual.IMMEDIATE) !== 0,
  };
}

/** Decoded control-register-access qualification (exit 28). */
export interface CrAccessExit {
  cr: number;
  accessType: (typeof CrAccessType)[keyof typeof CrAccessType];
  /** General-purpose register (ModRM order) for MOV to/from CR. */
  gpr: number;
  /** LMSW only: operand was in memory. */
  lmswMemory: boolean;
  /** LMSW only: the 16-bit source operand. */
  lmswSource: number;
}

/** Decode a CR-access qualification (KVM handle_cr). */
export function decodeCrQualification(q: number): CrAccessExit {
  return {
    cr: q & CrQual.CR_MASK,
    accessType: ((q & CrQual.ACCESS_MASK) >>> CrQual.ACCESS_SHIFT) as CrAccessExit['accessType'],
    gpr: (q & CrQual.GPR_MASK) >>> CrQual.GPR_SHIFT,
    lmswMemory: (q & CrQual.LMSW_MEMORY) !== 0,
    lmswSource: q >>> CrQual.LMSW_SOURCE_SHIFT,
  };
}

/** Decoded MOV-DR qualification (exit 29). */
export interface MovDrExit {
  dr: number;
  toDr: boolean;
  gpr: number;
}

/** Decode a MOV-DR qualification (KVM handle_dr). */
export function decodeDrQualification(q: number): MovDrExit {
  return { dr: q & DrQual.DR_MASK, toDr: (q & DrQual.FROM_DR) === 0, gpr: (q & DrQual.GPR_MASK) >>> DrQual.GPR_SHIFT };
}

/** Decoded EPT-violation qualification (exit 48). */
export interface EptViolationExit {
  read: boolean;
  write: boolean;
  fetch: boolean;
  readable: boolean;
  writable: boolean;
  executable: boolean;
  linearValid: boolean;
  /** Meaningful when linearValid: access to the final address (else to a guest paging entry). */
  isFinal: boolean;
  nmiUnblockingIret: boolean;
}

/** Decode an EPT-violation qualification (KVM handle_ept_violation). */
export function decodeEptViolationQualification(q: number): EptViolationExit {
  return {
    read: (q & EptViolationQual.ACC_READ) !== 0,
    write: (q & EptViolationQual.ACC_WRITE) !== 0,
    fetch: (q & EptViolationQual.ACC_INSTR) !== 0,
    readable: (q & EptViolationQual.PERM_READABLE) !== 0,
    writable: (q & EptViolationQual.PERM_WRITABLE) !== 0,
    executable: (q & EptViolationQual.PERM_EXECUTABLE) !== 0,
    linearValid: (q & EptViolationQual.GVA_IS_VALID) !== 0,
    isFinal: (q & EptViolationQual.GVA_TRANSLATED) !== 0,
    nmiUnblockingIret: (q & EptViolationQual.NMI_UNBLOCKING_IRET) !== 0,
  };
}

/** Decode an INVLPG qualification (exit 14): the linear-address operand. */
export function decodeInvlpgQualification(q: number): { linear: number } {
  return { linear: q >>> 0 };
}

/** Decoded task-switch qualification (exit 9). */
export interface TaskSwitchExit {
  selector: number;
  source: (typeof TaskSwitchSource)[keyof typeof TaskSwitchSource];
}

/** Decode a task-switch qualification (KVM handle_task_switch). */
export function decodeTaskSwitchQualification(q: number): TaskSwitchExit {
  return { selector: q & TaskSwitchQual.SELECTOR_MASK, source: ((q >>> TaskSwitchQual.SOURCE_SHIFT) & 3) as TaskSwitchExit['source'] };
}
