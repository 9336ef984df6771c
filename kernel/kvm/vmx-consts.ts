/**
 * The VMX control bits, exit reasons and event formats KVM programs and dispatches on, under
 * the names arch/x86/kvm/vmx uses. The values come from the one definition of each table in the
 * VMX unit (kernel/vmx) and the processor (kernel/cpu/arch.ts); nothing is restated here.
 */
import { Cr0, Cr4 } from '../cpu/arch.js';
import { Eflags } from '../cpu/flags.js';
import { ActivityState, ExitControls, Interruptibility, PinBased, ProcBased, ProcBased2 } from '../vmx/controls.js';
import { ExitReason, ExitReasonFlags } from '../vmx/exit-reasons.js';
import { InterruptionType, IntrInfo } from '../vmx/interruption.js';

export const PIN_BASED = PinBased;
export const CPU_BASED = ProcBased;
export const SECONDARY_EXEC = ProcBased2;
export const VM_EXIT_CTL = ExitControls;
export const EXIT_REASON = ExitReason;
export const EXIT_REASON_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ExitReason).map(([k, v]) => [v, k]));

/** Bit 31 of the exit reason: VM-entry failure. */
export const VMX_EXIT_REASONS_FAILED_VMENTRY = ExitReasonFlags.FAILED_VMENTRY;

/** Interruption-information words as KVM builds them (SDM 24.8.3, facts §2.6). */
export const INTR_INFO = {
  VALID: IntrInfo.VALID,
  DELIVER_CODE: IntrInfo.DELIVER_ERROR_CODE,
  TYPE_EXT_INTR: InterruptionType.EXTERNAL_INTERRUPT << IntrInfo.TYPE_SHIFT,
  TYPE_HARD_EXCEPTION: InterruptionType.HARDWARE_EXCEPTION << IntrInfo.TYPE_SHIFT,
} as const;

export const GUEST_INTR_STATE = { STI: Interruptibility.BLOCKING_BY_STI, MOV_SS: Interruptibility.BLOCKING_BY_MOV_SS } as const;
export const GUEST_ACTIVITY = ActivityState;
export const X86_CR0 = Cr0;
export const X86_CR4 = Cr4;
export const X86_EFLAGS = { FIXED: Eflags.FIXED1, IF: Eflags.IF } as const;
