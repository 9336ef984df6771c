/**
 * The CPUID table a vCPU answers from (KVM_SET_CPUID2 entries). CPUID always exits in VMX
 * non-root operation; KVM answers it in the kernel from this table (a fast path).
 * Identity: a P6-class "GenuineIntel" family 6 part with an x87 FPU but no FXSR/MMX/SSE and no local APIC
 * (DESIGN.md: no APIC unless asked for, and CPUID says so).
 */
import { CpuidEdx } from '../cpu/arch.js';

/** struct kvm_cpuid_entry2 without the padding. */
export interface CpuidEntry {
  function: number;
  index: number;
  significantIndex: boolean;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** CPUID.01H:EDX feature bits (SDM Vol. 2A, Table 3-11): the processor's table, plus PAT (MSR 0x277 is implemented). */
export const CPUID_1_EDX = { ...CpuidEdx, PAT: 1 << 16 } as const;

function ascii4(s: string): number {
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
}

/** What this "hardware" and KVM support together (KVM_GET_SUPPORTED_CPUID). */
export function supportedCpuid(): CpuidEntry[] {
  const vendor = 'GenuineIntel';
  const f = CPUID_1_EDX;
  return [
    { function: 0, index: 0, significantIndex: false, eax: 2, ebx: ascii4(vendor.slice(0, 4)), edx: ascii4(vendor.slice(4, 8)), ecx: ascii4(vendor.slice(8, 12)) },
    {
      function: 1,
      index: 0,
      significantIndex: false,
      eax: (6 << 8) | (8 << 4) | 3, // family 6, model 8, stepping 3 (a P6-class Pentium III)
      ebx: 0,
      ecx: 0,
      edx: f.FPU | f.DE | f.PSE | f.TSC | f.MSR | f.CX8 | f.SEP | f.PGE | f.CMOV | f.PAT,
    },
    { function: 2, index: 0, significantIndex: false, eax: 0x03020101, ebx: 0, ecx: 0, edx: 0x0c040843 },
  ];
}

/** Look up (function, index) as the SDM says: leaves above the maximum return the highest basic leaf. */
export function cpuidLookup(entries: readonly CpuidEntry[], fn: number, index: number): CpuidEntry {
  // Plain loops: KVM answers every guest CPUID from here.
  let max = 0;
  for (const e of entries) {
    if (e.function === 0) {
      max = e.eax;
      break;
    }
  }
  const leaf = fn >>> 0 > max && fn >>> 0 < 0x8000_0000 ? max : fn >>> 0;
  for (const e of entries) {
    if (e.function === leaf && (!e.significantIndex || e.index === index)) return e;
  }
  return { function: leaf, index, significantIndex: false, eax: 0, ebx: 0, ecx: 0, edx: 0 };
}
