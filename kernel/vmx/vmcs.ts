/**
 * A VMCS region (SDM 25.1-25.2, 25.11). Its layout is implementation specific: here each
 * supported component has a dense slot of two 32-bit words (bits 31:0 and 63:32) in one
 * Uint32Array, and software reaches them only by encoding through `read`/`write` (what VMREAD and
 * VMWRITE do once the current VMCS is known; the Vmx class adds the instruction semantics).
 */
import { fieldAccess, FieldAccess, fieldBits, fieldType, FieldType, fieldWidth, FieldWidth, VmcsField } from './vmcs-fields.js';
import { VmInstructionError } from './vm-instruction-errors.js';

/** Launch state of a VMCS (SDM 25.1): set to clear by VMCLEAR, to launched by VMLAUNCH. */
export const LaunchState = { clear: 0, launched: 1 } as const;
export type LaunchState = (typeof LaunchState)[keyof typeof LaunchState];

const TWO_POW_32 = 0x1_0000_0000;
const NO_SLOT = -1;
const MASK16 = 0xffff;
/** Encodings of supported fields are below 0x8000 (bits 31:15 reserved), so `enc >>> 1` < 0x4000. */
const SLOT_TABLE_SIZE = 0x4000;

/** Dense slot of each supported encoding, indexed by `encoding >>> 1` (shared by every VMCS). */
const slotOf = new Int16Array(SLOT_TABLE_SIZE).fill(NO_SLOT);
let slotCount = 0;
for (const enc of Object.values(VmcsField)) slotOf[enc >>> 1] = slotCount++;

/**
 * Classes of fields whose changes make VM entry re-run checks (see Vmcs.dirty): controls,
 * host state, and the guest state the segment/CR/descriptor-table checks read. Guest fields
 * that change on nearly every exit (RIP, RSP, RFLAGS, interruptibility, activity, the
 * preemption timer, pending debug exceptions) are checked on every entry anyway.
 */
export const VmcsDirty = { controls: 1, host: 2, guestStructure: 4, all: 7 } as const;

const EVERY_ENTRY_GUEST_FIELDS = new Set<number>([
  VmcsField.GUEST_RIP,
  VmcsField.GUEST_RSP,
  VmcsField.GUEST_RFLAGS,
  VmcsField.GUEST_INTERRUPTIBILITY_INFO,
  VmcsField.GUEST_ACTIVITY_STATE,
  VmcsField.VMX_PREEMPTION_TIMER_VALUE,
  VmcsField.GUEST_PENDING_DBG_EXCEPTIONS,
]);

/** Dirty class of each slot (0 for read-only exit information). */
const dirtyClassOf = new Uint8Array(slotCount);
for (const enc of Object.values(VmcsField)) {
  const t = fieldType(enc);
  dirtyClassOf[slotOf[enc >>> 1]!] =
    t === FieldType.control ? VmcsDirty.controls : t === FieldType.host ? VmcsDirty.host : t === FieldType.guest && !EVERY_ENTRY_GUEST_FIELDS.has(enc) ? VmcsDirty.guestStructure : 0;
}

/**
 * Per encoding (full and high access): the index of its word in a VMCS's data, or -1, and how a
 * store of a 32-bit operand lands there (StoreKind). Precomputed so that the accesses made on
 * every VM entry and exit are one or two array loads.
 */
const StoreKind = { bits16: 0, bits32: 1, full64: 2, high64: 3 } as const;
const wordOf = new Int32Array(SLOT_TABLE_SIZE * 2).fill(NO_SLOT);
const kindOf = new Uint8Array(SLOT_TABLE_SIZE * 2);
const classOfEncoding = new Uint8Array(SLOT_TABLE_SIZE * 2);
for (const enc of Object.values(VmcsField)) {
  const slot = slotOf[enc >>> 1]!;
  const width = fieldWidth(enc);
  wordOf[enc] = slot * 2;
  kindOf[enc] = width === FieldWidth.bits64 ? StoreKind.full64 : fieldBits(width) === 16 ? StoreKind.bits16 : StoreKind.bits32;
  classOfEncoding[enc] = dirtyClassOf[slot]!;
  if (width === FieldWidth.bits64) {
    wordOf[enc + 1] = slot * 2 + 1;
    kindOf[enc + 1] = StoreKind.high64;
    classOfEncoding[enc + 1] = dirtyClassOf[slot]!;
  }
}

/** VMWRITE's error per encoding (0 = writable), precomputed: VMWRITE runs on every VM entry. */
const writeErrorOf = new Uint8Array(SLOT_TABLE_SIZE * 2).fill(VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
for (let enc = 0; enc < SLOT_TABLE_SIZE * 2; enc++) {
  if (wordOf[enc]! < 0) continue;
  writeErrorOf[enc] = fieldType(enc) === FieldType.readOnly ? VmInstructionError.VMWRITE_READ_ONLY_VMCS_COMPONENT : 0;
}

/** Words of the exit-information fields (Vmcs.writeExitInformation). */
const EXIT_WORDS = {
  reason: wordOf[VmcsField.VM_EXIT_REASON]!,
  qualification: wordOf[VmcsField.EXIT_QUALIFICATION]!,
  linear: wordOf[VmcsField.GUEST_LINEAR_ADDRESS]!,
  physical: wordOf[VmcsField.GUEST_PHYSICAL_ADDRESS]!,
  instrLen: wordOf[VmcsField.VM_EXIT_INSTRUCTION_LEN]!,
  instrInfo: wordOf[VmcsField.VMX_INSTRUCTION_INFO]!,
  intrInfo: wordOf[VmcsField.VM_EXIT_INTR_INFO]!,
  intrError: wordOf[VmcsField.VM_EXIT_INTR_ERROR_CODE]!,
  idtInfo: wordOf[VmcsField.IDT_VECTORING_INFO_FIELD]!,
  idtError: wordOf[VmcsField.IDT_VECTORING_ERROR_CODE]!,
};

/** Slot of an encoding, or -1 if it names no supported component (incl. a bad access type). */
function slotFor(encoding: number): number {
  if (encoding < 0 || encoding >= SLOT_TABLE_SIZE * 2 || !Number.isInteger(encoding)) return NO_SLOT;
  // Access type "high" is only defined for 64-bit fields (SDM 25.11.2).
  if (fieldAccess(encoding) === FieldAccess.high && fieldWidth(encoding) !== FieldWidth.bits64) return NO_SLOT;
  return slotOf[encoding >>> 1] ?? NO_SLOT;
}

/** The VMCS region: revision identifier, launch state, and the field data. */
export class Vmcs {
  /** VMCS revision identifier in the first 31 bits of the region (SDM 25.2). */
  revisionId: number;
  launchState: LaunchState = LaunchState.clear;
  /** Two words per slot: [2·slot] = bits 31:0, [2·slot + 1] = bits 63:32. */
  private readonly data = new Uint32Array(slotCount * 2);
  /**
   * VmcsDirty classes with a field whose value changed since the last successful VM entry.
   * Entry checks of a class whose fields are all as they were when last checked cannot fail
   * differently, so VM entry skips them (a model shortcut with the SDM's results).
   */
  dirty: number = VmcsDirty.all;

  constructor(revisionId: number) {
    this.revisionId = revisionId;
  }

  /** Does this processor support the component with this encoding (full or high access)? */
  static supports(encoding: number): boolean {
    return slotFor(encoding) !== NO_SLOT;
  }

  /** Number of supported components. */
  static get fieldCount(): number {
    return slotCount;
  }

  /**
   * VMREAD data path with a 32-bit operand: the field value (16-bit fields zero-extended,
   * 64-bit fields bits 31:0 for full access, 63:32 for high access), or -1 if unsupported.
   */
  read(encoding: number): number {
    const w = wordOf[encoding];
    if (w === undefined || w < 0) return -1;
    return this.data[w]!;
  }

  /**
   * VMWRITE data path with a 32-bit operand. Returns 0 on success or the VM-instruction error:
   * 12 for an unsupported component, 13 for a read-only one (IA32_VMX_MISC bit 29 is 0).
   * A full-access write to a 64-bit field clears bits 63:32 (SDM 25.11.2).
   */
  write(encoding: number, value: number): 0 | VmInstructionError {
    const error = writeErrorOf[encoding];
    if (error === undefined) return VmInstructionError.UNSUPPORTED_VMCS_COMPONENT;
    if (error !== 0) return error as VmInstructionError;
    this.store(encoding, value);
    return 0;
  }

  /** Processor-internal write, allowed on read-only (exit-information) fields. */
  writeInternal(encoding: number, value: number): void {
    const w = wordOf[encoding];
    if (w === undefined || w < 0) throw new Error(`bug: internal VMCS write to unsupported encoding 0x${encoding.toString(16)}`);
    this.store(encoding, value);
  }

  /**
   * Processor-internal: the exit-information fields of one VM exit (SDM 28.2), stored straight
   * into their words (read-only fields: no dirty class). VM exit is the hot path.
   */
  writeExitInformation(reason: number, qualification: number, linear: number, physical: number, instrLen: number, instrInfo: number, intrInfo: number, intrError: number, idtInfo: number, idtError: number): void {
    const d = this.data;
    d[EXIT_WORDS.reason] = reason;
    d[EXIT_WORDS.qualification] = qualification;
    d[EXIT_WORDS.linear] = linear;
    d[EXIT_WORDS.physical] = physical % TWO_POW_32;
    d[EXIT_WORDS.physical + 1] = Math.floor(physical / TWO_POW_32);
    d[EXIT_WORDS.instrLen] = instrLen;
    d[EXIT_WORDS.instrInfo] = instrInfo;
    d[EXIT_WORDS.intrInfo] = intrInfo;
    d[EXIT_WORDS.intrError] = intrError;
    d[EXIT_WORDS.idtInfo] = idtInfo;
    d[EXIT_WORDS.idtError] = idtError;
  }

  /** Whole value of a 64-bit field as a number (exact below 2^53; our addresses are 32-bit). */
  read64(encoding: number): number {
    const slot = slotFor(encoding & ~1);
    if (slot === NO_SLOT || fieldWidth(encoding) !== FieldWidth.bits64) throw new Error(`bug: 0x${encoding.toString(16)} is not a 64-bit field`);
    return (this.data[slot * 2] ?? 0) + (this.data[slot * 2 + 1] ?? 0) * TWO_POW_32;
  }

  /** Bits 63:32 of a 64-bit field. */
  readHigh(encoding: number): number {
    return this.read(encoding | FieldAccess.high);
  }

  /** Store a whole 64-bit value (processor-internal, any field type). */
  write64Internal(encoding: number, value: number): void {
    const slot = slotFor(encoding & ~1);
    if (slot === NO_SLOT || fieldWidth(encoding) !== FieldWidth.bits64) throw new Error(`bug: 0x${encoding.toString(16)} is not a 64-bit field`);
    this.data[slot * 2] = value % TWO_POW_32;
    this.data[slot * 2 + 1] = Math.floor(value / TWO_POW_32);
  }

  private store(encoding: number, value: number): void {
    const w = wordOf[encoding]!;
    const data = this.data;
    const before = data[w];
    let changed: boolean;
    switch (kindOf[encoding]) {
      case StoreKind.bits16:
        // Narrower fields drop the high bits of the operand (SDM 31.3 VMWRITE).
        data[w] = value & MASK16;
        changed = data[w] !== before;
        break;
      case StoreKind.full64: {
        // A 32-bit write of the full field clears its high half.
        const high = data[w + 1];
        data[w] = value >>> 0;
        data[w + 1] = 0;
        changed = data[w] !== before || high !== 0;
        break;
      }
      default:
        data[w] = value >>> 0;
        changed = data[w] !== before;
    }
    if (changed) this.dirty |= classOfEncoding[encoding]!;
  }
}
