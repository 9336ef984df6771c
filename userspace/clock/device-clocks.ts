/**
 * The device model's clocks (DESIGN.md "Time"). Host: real time, timers fire from a real alarm.
 * Virtual: time moves only when the VMM sends the guest's virtual time (derived from retired
 * instructions), so device timers fire at deterministic points of guest execution; the device
 * model reports its next deadline so the VMM can stop the vCPU exactly there.
 */
import type { Clock, Timer } from '../bus/device.js';
import { TimerQueue } from './timer-queue.js';

export interface DeviceClock extends Clock {
  readonly mode: 'host' | 'virtual';
  /** Virtual clock: advance to `ns` (never backwards) and fire what is due. */
  advance(ns: number): void;
  /** Earliest armed deadline, -1 for none. */
  nextDeadline(): number;
  /** Called when the earliest deadline changes (the device model posts `deadline`). */
  onDeadlineChange(listener: (ns: number) => void): void;
  /** Report the current deadline (-1 for none) if it has not been reported yet. */
  announce(): void;
  dispose(): void;
}

export class VirtualDeviceClock implements DeviceClock {
  readonly mode = 'virtual';
  private t = 0;
  private readonly queue = new TimerQueue();
  private lastReported = -2;
  private listener: (ns: number) => void = () => {};
  private warnedBackwards = false;

  /** `warn` is told, once, when the VMM moves the clock backwards (protocol README §10). */
  constructor(private readonly warn: (message: string) => void = () => {}) {
    this.queue.onChange = () => {
      const n = this.queue.next;
      if (n !== this.lastReported) {
        this.lastReported = n;
        this.listener(n);
      }
    };
  }
  now(): number {
    return this.t;
  }
  timer(callback: () => void): Timer {
    return this.queue.create(callback);
  }
  advance(ns: number): void {
    if (ns < this.t) {
      if (!this.warnedBackwards) {
        this.warnedBackwards = true;
        this.warn(`virtual clock moved backwards (${ns} ns after ${this.t} ns); ignored`);
      }
      return;
    }
    this.queue.fireDue(ns, (t) => {
      this.t = t;
    });
  }
  nextDeadline(): number {
    return this.queue.next;
  }
  onDeadlineChange(listener: (ns: number) => void): void {
    this.listener = listener;
  }
  announce(): void {
    if (this.lastReported === -2) {
      this.lastReported = this.queue.next;
      this.listener(this.lastReported);
    }
  }
  dispose(): void {}
}

export class HostDeviceClock implements DeviceClock {
  readonly mode = 'host';
  private readonly start = process.hrtime.bigint();
  private readonly queue = new TimerQueue();
  private alarm: NodeJS.Timeout | undefined;
  private frozen: number | undefined;

  constructor() {
    this.queue.onChange = () => this.rearm();
  }
  now(): number {
    return this.frozen ?? Number(process.hrtime.bigint() - this.start);
  }
  timer(callback: () => void): Timer {
    return this.queue.create(callback);
  }
  private rearm(): void {
    if (this.alarm) clearTimeout(this.alarm);
    this.alarm = undefined;
    const next = this.queue.next;
    if (next < 0) return;
    const delayMs = Math.max(0, (next - this.now()) / 1e6);
    this.alarm = setTimeout(() => this.fire(), delayMs);
  }
  private fire(): void {
    this.alarm = undefined;
    const now = Number(process.hrtime.bigint() - this.start);
    this.queue.fireDue(now, (t) => {
      this.frozen = t;
    });
    this.frozen = undefined;
    this.rearm();
  }
  advance(): void {}
  nextDeadline(): number {
    return this.queue.next;
  }
  onDeadlineChange(): void {}
  announce(): void {}
  dispose(): void {
    if (this.alarm) clearTimeout(this.alarm);
    this.alarm = undefined;
  }
}
