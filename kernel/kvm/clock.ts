/**
 * The VM's clocks (DESIGN.md "Time"). Host: real time. Virtual: derived from retired guest
 * instructions plus the idle time skipped while every vCPU is halted, so the same guest with
 * the same inputs sees the same times at the same instructions on every run.
 */

/** Virtual time per retired instruction: a 100 MIPS virtual processor. */
export const VIRTUAL_NS_PER_INSTRUCTION = 10;
/** TSC frequency (1 GHz: one tick per nanosecond). */
export const TSC_HZ = 1_000_000_000;

export interface VmClock {
  readonly mode: 'host' | 'virtual';
  /** Nanoseconds since the VM started, given the boot vCPU's retired-instruction count. */
  nowNs(instructions: number): number;
  /** Time-stamp counter value. */
  tsc(instructions: number): number;
  /** Virtual clock only: jump forward while idle (every vCPU halted) to `ns`. */
  skipTo(ns: number, instructions: number): void;
  /** Virtual clock only: instructions until `ns` (≥ 1), for stopping a slice at a deadline. */
  instructionsUntil(ns: number, instructions: number): number;
}

export class HostClock implements VmClock {
  readonly mode = 'host';
  private readonly start = process.hrtime.bigint();
  nowNs(): number {
    return Number(process.hrtime.bigint() - this.start);
  }
  tsc(): number {
    return this.nowNs();
  }
  skipTo(): void {}
  instructionsUntil(): number {
    return Number.MAX_SAFE_INTEGER;
  }
}

export class VirtualClock implements VmClock {
  readonly mode = 'virtual';
  private idleNs = 0;
  nowNs(instructions: number): number {
    return instructions * VIRTUAL_NS_PER_INSTRUCTION + this.idleNs;
  }
  tsc(instructions: number): number {
    return this.nowNs(instructions);
  }
  skipTo(ns: number, instructions: number): void {
    const now = this.nowNs(instructions);
    if (ns > now) this.idleNs += ns - now;
  }
  instructionsUntil(ns: number, instructions: number): number {
    return Math.max(1, Math.ceil((ns - this.nowNs(instructions)) / VIRTUAL_NS_PER_INSTRUCTION));
  }
}
