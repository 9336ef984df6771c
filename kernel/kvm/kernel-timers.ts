/**
 * Timers of in-kernel devices (KVM's hrtimers, used by the in-kernel PIT). With the host clock
 * they fire from a real alarm; with the virtual clock the vCPU stops exactly at the next
 * deadline (a shorter preemption-timer budget) and due timers run before the next VM entry, so
 * in-kernel timer interrupts land at deterministic instructions, as the device model's do.
 */
import type { Clock, Timer } from '../../userspace/bus/device.js';
import { TimerQueue } from '../../userspace/clock/timer-queue.js';
import type { VmClock } from './clock.js';

export class KernelTimers implements Clock {
  private readonly queue = new TimerQueue();
  private alarm: NodeJS.Timeout | undefined;
  private frozen: number | undefined;
  /** Retired instructions of the boot vCPU (the virtual clock's source); set by the VM. */
  instructions: () => number = () => 0;

  constructor(private readonly clock: VmClock, private readonly wake: () => void) {
    if (clock.mode === 'host') this.queue.onChange = () => this.rearm();
  }

  now(): number {
    return this.frozen ?? this.clock.nowNs(this.instructions());
  }

  timer(callback: () => void): Timer {
    return this.queue.create(callback);
  }

  /** Earliest deadline, -1 for none. */
  get next(): number {
    return this.queue.next;
  }

  /** Run every timer that is due now (virtual clock: called before each VM entry). */
  runDue(): void {
    const next = this.queue.next;
    if (next < 0) return;
    const now = this.clock.nowNs(this.instructions());
    if (now < next) return;
    this.queue.fireDue(now, (t) => {
      this.frozen = t;
    });
    this.frozen = undefined;
  }

  /** Virtual clock: instructions the vCPU may run before the next in-kernel deadline. */
  budget(max: number): number {
    const next = this.queue.next;
    if (this.clock.mode !== 'virtual' || next < 0) return max;
    return Math.min(max, this.clock.instructionsUntil(next, this.instructions()));
  }

  private rearm(): void {
    if (this.alarm) clearTimeout(this.alarm);
    this.alarm = undefined;
    const next = this.queue.next;
    if (next < 0) return;
    const delayMs = Math.max(0, (next - this.now()) / 1e6);
    this.alarm = setTimeout(() => {
      this.alarm = undefined;
      this.runDue();
      // Node's millisecond timers may fire a little before the deadline: then nothing was due
      // and the alarm must be set again.
      if (this.alarm === undefined) this.rearm();
      this.wake();
    }, delayMs);
  }

  dispose(): void {
    if (this.alarm) clearTimeout(this.alarm);
    this.alarm = undefined;
  }
}
