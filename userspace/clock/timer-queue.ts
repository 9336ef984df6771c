/**
 * Timers of the device clock, kept in deadline order. Both clocks share it: the host clock
 * fires due timers from a real-time alarm, the virtual clock when the VMM advances time.
 */
import type { Timer } from '../bus/device.js';

interface Entry {
  deadline: number;
  seq: number;
  callback: () => void;
}

export class TimerQueue {
  private entries: Entry[] = [];
  private seq = 0;
  /** Called whenever the earliest deadline may have changed. */
  onChange: () => void = () => {};

  create(callback: () => void): Timer {
    let entry: Entry | undefined;
    return {
      arm: (deadlineNs: number) => {
        if (entry) this.remove(entry);
        entry = { deadline: deadlineNs, seq: this.seq++, callback };
        this.entries.push(entry);
        this.entries.sort((a, b) => a.deadline - b.deadline || a.seq - b.seq);
        this.onChange();
      },
      cancel: () => {
        if (entry) {
          this.remove(entry);
          entry = undefined;
          this.onChange();
        }
      },
    };
  }

  private remove(e: Entry): void {
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
  }

  /** Earliest deadline, or -1 when no timer is armed. */
  get next(): number {
    return this.entries[0]?.deadline ?? -1;
  }

  /**
   * Fire every timer due at `now`, in deadline order. `setNow` is called with each timer's own
   * deadline first, so a device re-arming from its callback computes from the exact tick.
   */
  fireDue(now: number, setNow: (t: number) => void): void {
    for (;;) {
      const e = this.entries[0];
      if (!e || e.deadline > now) break;
      this.entries.shift();
      setNow(e.deadline);
      e.callback();
    }
    setNow(now);
    this.onChange();
  }
}
