/** Test double for an IrqLine: records the level and every change. */
import type { IrqLine } from '../../../bus/device.js';

/** Records the line level and how often it was asserted. */
export class FakeIrq implements IrqLine {
  level = false;
  asserts = 0;
  set(level: boolean): void {
    if (level && !this.level) this.asserts++;
    this.level = level;
  }
}
