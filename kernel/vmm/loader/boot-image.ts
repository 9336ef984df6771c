/**
 * What a loader produces: bytes to place in guest-physical memory and the CPU state to start in.
 * The VMM copies the segments into RAM and sets the vCPU's registers from `start`.
 */

/** A piece of guest-physical memory to fill: `data` then zeros up to `memSize`. */
export interface LoadSegment {
  gpa: number;
  data: Uint8Array;
  memSize: number;
}

/** Initial CPU mode: flat 32-bit protected mode (multiboot, ELF, Linux 32-bit protocol) or real mode. */
export type CpuMode = 'pm32' | 'real';

export interface StartState {
  mode: CpuMode;
  /** Linear entry point: EIP in pm32; in real mode CS:IP is derived from it. */
  entry: number;
  /** General-purpose register values at entry (eax, ebx, esi, …); others are zero. */
  regs: Partial<Record<'eax' | 'ebx' | 'ecx' | 'edx' | 'esi' | 'edi' | 'ebp' | 'esp', number>>;
}

export interface BootImage {
  format: 'multiboot' | 'elf' | 'raw' | 'bzimage';
  segments: LoadSegment[];
  start: StartState;
}
