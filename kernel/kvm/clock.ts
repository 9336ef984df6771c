/**
 * The VM's clocks (DESIGN.md "Time"). Host: real time. Virtual: derived from retired guest
 * instructions, a fixed cost per port-I/O instruction and the idle time skipped while every
 * vCPU is halted, so the same guest with the same inputs sees the same times at the same
 * instructions on every run.
 */

/** Virtual time per retired instruction: a 100 MIPS virtual processor. */
export const VIRTUAL_NS_PER_INSTRUCTION = 10;
/**
 * Virtual time a port-I/O instruction takes: an ISA bus cycle is about a microsecond (why
 * `outb` to port 0x80 is the classic delay). Without it a guest polling a timer through
 * ports would need an exit for every 10 ns of virtual time.
 */
export const VIRTUAL_NS_PER_PORT_IO = 1000;
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
  /** Virtual clock only: the guest spent `ns` beyond its instructions (a port-I/O cycle). */
  stall(ns: number): void;
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
  stall(): void {}
  instructionsUntil(): number {
    return Number.MAX_SAFE_INTEGER;
  }
}

export class VirtualClock implements VmClock {
  readonly mode = 'virtual';
  /** Time not accounted for by instructions: idle skips and I/O stalls. */
  private extraNs = 0;
  nowNs(instructions: number): number {
    return instructions * VIRTUAL_NS_PER_INSTRUCTION + this.extraNs;
  }
  tsc(instructions: number): number {
    return this.nowNs(instructions);
  }
  skipTo(ns: number, instructions: number): void {
    const now = this.nowNs(instructions);
    if (ns > now) this.extraNs += ns - now;
  }
  stall(ns: number): void {
    this.extraNs += ns;
  }
  instructionsUntil(ns: number, instructions: number): number {
    return Math.max(1, Math.ceil((ns - this.nowNs(instructions)) / VIRTUAL_NS_PER_INSTRUCTION));
  }
}
