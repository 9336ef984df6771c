import type { IrqLine } from './device.js';

/** An IrqLine for tests: remembers the current level and every change made to it. */
export class FakeIrqLine implements IrqLine {
  level = false;
  /** Every call to set(), in order, including repeats of the same level. */
  readonly history: boolean[] = [];

  set(level: boolean): void {
    this.level = level;
    this.history.push(level);
  }

  /** Number of low-to-high transitions seen so far (edges an edge-triggered PIC would latch). */
  risingEdges(): number {
    let edges = 0;
    let previous = false;
    for (const level of this.history) {
      if (level && !previous) edges++;
      previous = level;
    }
    return edges;
  }

  clear(): void {
    this.history.length = 0;
  }
}
