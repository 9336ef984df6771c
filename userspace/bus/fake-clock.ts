import type { Clock, Timer } from './device.js';

/**
 * A Clock that only moves when a test steps it (QEMU qtest `clock_step`, crosvm FakeClock).
 * Timers fire in deadline order, each with `now()` equal to its deadline, so a callback that
 * re-arms itself inside one long step fires again at the right points.
 */
export class FakeClock implements Clock {
  private current = 0;
  private readonly timers = new Set<FakeTimer>();

  constructor(startNs = 0) {
    this.current = startNs;
  }

  now(): number {
    return this.current;
  }

  timer(callback: () => void): Timer {
    const timer = new FakeTimer(callback, this.timers);
    return timer;
  }

  /** Advance by `ns`, firing every timer whose deadline falls inside the step. */
  step(ns: number): void {
    if (!(ns >= 0)) throw new Error(`assertion failed: FakeClock.step(${ns}) must be non-negative`);
    const end = this.current + ns;
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.deadline > end) break;
      this.current = Math.max(this.current, next.deadline);
      next.fire();
    }
    this.current = end;
  }

  /** Advance to the next armed deadline (if any) and fire what is due; returns false if none. */
  stepToNext(): boolean {
    const next = this.earliest();
    if (next === undefined) return false;
    this.step(Math.max(0, next.deadline - this.current));
    return true;
  }

  /** Deadline of the earliest armed timer, if any. */
  nextDeadline(): number | undefined {
    return this.earliest()?.deadline;
  }

  /** Number of armed timers, for tests that check a device cancels what it no longer needs. */
  armedCount(): number {
    return this.timers.size;
  }

  private earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) if (best === undefined || t.deadline < best.deadline) best = t;
    return best;
  }
}

class FakeTimer implements Timer {
  deadline = 0;

  constructor(
    private readonly callback: () => void,
    private readonly armed: Set<FakeTimer>,
  ) {}

  arm(deadlineNs: number): void {
    this.deadline = deadlineNs;
    this.armed.add(this);
  }

  cancel(): void {
    this.armed.delete(this);
  }

  fire(): void {
    this.armed.delete(this);
    this.callback();
  }
}
