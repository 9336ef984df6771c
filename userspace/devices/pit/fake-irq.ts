import type { Clock, IrqLine } from '../../bus/device.js';

/** An IrqLine for tests that records every level change with the clock time it happened at. */
export class FakeIrqLine implements IrqLine {
  level = false;
  readonly changes: { ns: number; level: boolean }[] = [];

  constructor(private readonly clock?: Clock) {}

  set(level: boolean): void {
    this.level = level;
    this.changes.push({ ns: this.clock?.now() ?? 0, level });
  }

  /** Clock times of rising edges. */
  rises(): number[] {
    const out: number[] = [];
    let prev = false;
    for (const c of this.changes) {
      if (c.level && !prev) out.push(c.ns);
      prev = c.level;
    }
    return out;
  }
}
