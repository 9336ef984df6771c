import type { Clock, Timer } from '../../bus/device.js';

/**
 * A hand-stepped Clock for tests (QEMU qtest `clock_step`, crosvm `FakeClock`): time moves only in
 * `step`/`advanceTo`, and due timers fire in deadline order at their own deadline, so a callback
 * that reads `now()` sees the instant it asked for.
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
    const t = new FakeTimer(callback);
    this.timers.add(t);
    return t;
  }

  /** Advance by `ns`, firing every timer that falls due on the way. */
  step(ns: number): void {
    this.advanceTo(this.current + ns);
  }

  /** Advance to absolute time `targetNs`, firing due timers in deadline order. */
  advanceTo(targetNs: number): void {
    if (targetNs < this.current) throw new Error('FakeClock cannot go backwards');
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of this.timers) {
        if (t.deadline !== null && t.deadline <= targetNs && (next === undefined || t.deadline < (next.deadline ?? Infinity))) {
          next = t;
        }
      }
      if (next === undefined || next.deadline === null) break;
      this.current = Math.max(this.current, next.deadline);
      next.deadline = null;
      next.callback();
    }
    this.current = targetNs;
  }

  /** Number of timers currently armed (for tests that check one-shots stay quiet). */
  armedCount(): number {
    let n = 0;
    for (const t of this.timers) if (t.deadline !== null) n++;
    return n;
  }
}

class FakeTimer implements Timer {
  deadline: number | null = null;
  constructor(readonly callback: () => void) {}
  arm(deadlineNs: number): void {
    this.deadline = deadlineNs;
  }
  cancel(): void {
    this.deadline = null;
  }
}
