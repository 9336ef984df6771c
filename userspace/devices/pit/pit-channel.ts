import { PIT_ACCESS, PIT_MODE, PIT_MODULUS, PIT_STATUS } from './i8254-regs.js';
import { nsForTicks, ticksIn } from './pit-time.js';

/** Plain-data state of one counter, as saved by `I8254.snapshot()` (cf. KVM's kvm_pit_channel_state). */
export interface PitChannelState {
  modeBits: number; // M field as programmed (0-7)
  rw: number; // PIT_ACCESS
  bcd: boolean;
  gate: boolean;
  cr: number; // count register, decoded (1..modulus)
  count: number; // counting element's initial count (1..modulus)
  loaded: boolean; // a count was written since the last control word
  triggered: boolean; // modes 1/5: a gate trigger started the counting element
  running: boolean;
  segStartNs: number; // clock time the current counting segment started
  ticksBase: number; // ticks counted before the current segment (gate pauses in modes 0/4)
  holdLow: boolean; // mode 0: first byte of an LSB/MSB pair written, counting stopped
  pendingReload: boolean; // modes 2/3: new count waits for the end of the current period
  reloadAtTick: number;
  nullCount: boolean;
  nullClearNs: number | null; // when the CR->CE transfer clears NULL COUNT (null = not scheduled)
  readHigh: boolean; // LSB/MSB flip-flops
  writeHigh: boolean;
  writeLatch: number;
  latched: number[]; // latched count bytes still to be read
  statusLatch: number | null;
}

/** Convert a binary value (0..9999) to packed BCD. */
function toBcd(v: number): number {
  return ((Math.floor(v / 1000) % 10) << 12) | ((Math.floor(v / 100) % 10) << 8) | ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}

/** Decode packed BCD; nibbles above 9 are taken at face value (a guest error, still deterministic). */
function fromBcd(v: number): number {
  return ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 + ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

/**
 * One 8254 counter (82C54 datasheet "Modes" 0-5) as a function of clock time: the count and the
 * OUT level are computed from the ticks elapsed since the counting segment started, never by
 * ticking. Models the CR->CE transfer (NULL COUNT), gate behaviour per mode, deferred reload in
 * modes 2/3, counter latch and status latch.
 */
export class PitChannel {
  s: PitChannelState;

  constructor(gate: boolean) {
    this.s = {
      modeBits: PIT_MODE.SQUARE_WAVE,
      rw: PIT_ACCESS.LSB_MSB,
      bcd: false,
      gate,
      cr: PIT_MODULUS.BINARY,
      count: PIT_MODULUS.BINARY,
      loaded: false,
      triggered: false,
      running: false,
      segStartNs: 0,
      ticksBase: 0,
      holdLow: false,
      pendingReload: false,
      reloadAtTick: 0,
      nullCount: false,
      nullClearNs: null,
      readHigh: false,
      writeHigh: false,
      writeLatch: 0,
      latched: [],
      statusLatch: null,
    };
  }

  /** Effective mode: 6 and 7 are 2 and 3 with a don't-care top bit. */
  get mode(): number {
    return this.s.modeBits >= 6 ? this.s.modeBits - 4 : this.s.modeBits;
  }

  private get modulus(): number {
    return this.s.bcd ? PIT_MODULUS.BCD : PIT_MODULUS.BINARY;
  }

  /** Ticks counted by the counting element since it was loaded. */
  elapsed(now: number): number {
    return this.s.ticksBase + (this.s.running ? ticksIn(now - this.s.segStartNs) : 0);
  }

  /** Apply a deferred mode 2/3 reload whose period boundary has passed. */
  settle(now: number): void {
    const s = this.s;
    if (s.pendingReload && s.running && this.elapsed(now) >= s.reloadAtTick) {
      s.segStartNs += nsForTicks(s.reloadAtTick - s.ticksBase);
      s.ticksBase = 0;
      s.count = s.cr;
      s.pendingReload = false;
      s.nullClearNs = s.segStartNs;
    }
  }

  /** Start a fresh counting segment at `now` with the CR value. */
  private loadNow(now: number, running: boolean, transfers = running): void {
    const s = this.s;
    s.count = s.cr;
    s.ticksBase = 0;
    s.segStartNs = now;
    s.running = running;
    s.pendingReload = false;
    s.holdLow = false;
    // The CR->CE transfer happens on the next CLK pulse; until then NULL COUNT reads 1.
    s.nullClearNs = transfers ? now + nsForTicks(1) : null;
  }

  /** Write of the control word for this counter (not latch, not read-back). */
  control(now: number, rw: number, modeBits: number, bcd: boolean): void {
    this.settle(now);
    const s = this.s;
    s.rw = rw;
    s.modeBits = modeBits;
    s.bcd = bcd;
    s.readHigh = false;
    s.writeHigh = false;
    s.latched = [];
    s.statusLatch = null;
    // "All control logic is immediately reset and OUT goes to a known initial state"; the counter
    // waits for a count.
    s.loaded = false;
    s.triggered = false;
    s.running = false;
    s.pendingReload = false;
    s.holdLow = false;
    s.ticksBase = 0;
    s.nullCount = true;
    s.nullClearNs = null;
  }

  /** A complete count written to the CR (`raw` is the 16-bit value as the guest wrote it). */
  private writeCount(now: number, raw: number): void {
    const s = this.s;
    const value = s.bcd ? fromBcd(raw) : raw;
    s.cr = value === 0 ? this.modulus : value;
    s.nullCount = true;
    s.holdLow = false;
    switch (this.mode) {
      case PIT_MODE.INTERRUPT_ON_TERMINAL_COUNT:
      case PIT_MODE.SW_TRIGGERED_STROBE:
        s.loaded = true;
        // The count reaches the CE on the next CLK even with the gate low; the gate only pauses.
        this.loadNow(now, s.gate, true);
        break;
      case PIT_MODE.RATE_GENERATOR:
      case PIT_MODE.SQUARE_WAVE:
        if (s.loaded && s.running) {
          // A new count while counting takes effect at the end of the current period.
          s.pendingReload = true;
          s.reloadAtTick = (Math.floor(this.elapsed(now) / s.count) + 1) * s.count;
          s.nullClearNs = null;
        } else {
          s.loaded = true;
          this.loadNow(now, s.gate);
        }
        break;
      default:
        // Modes 1 and 5: the count waits for a gate trigger.
        s.loaded = true;
        if (!s.triggered) s.count = s.cr;
        s.nullClearNs = null;
        break;
    }
  }

  /** Data-port write of one byte. */
  writeByte(now: number, value: number): void {
    this.settle(now);
    const s = this.s;
    const v = value & 0xff;
    switch (s.rw) {
      case PIT_ACCESS.LSB:
        this.writeCount(now, v);
        break;
      case PIT_ACCESS.MSB:
        this.writeCount(now, v << 8);
        break;
      default:
        if (!s.writeHigh) {
          s.writeLatch = v;
          s.writeHigh = true;
          s.nullCount = true;
          if (this.mode === PIT_MODE.INTERRUPT_ON_TERMINAL_COUNT && s.loaded) {
            // Mode 0: writing the first byte stops counting and drives OUT low.
            s.ticksBase = this.elapsed(now);
            s.running = false;
            s.holdLow = true;
          }
        } else {
          s.writeHigh = false;
          this.writeCount(now, s.writeLatch | (v << 8));
        }
        break;
    }
  }

  /** Current value of the counting element, as the guest would read it (BCD-encoded in BCD mode). */
  countValue(now: number): number {
    this.settle(now);
    const s = this.s;
    const d = this.elapsed(now);
    const m = this.modulus;
    let v: number;
    switch (this.mode) {
      case PIT_MODE.RATE_GENERATOR:
        v = s.count - (d % s.count);
        break;
      case PIT_MODE.SQUARE_WAVE:
        // Counts down by two, twice per period.
        v = s.count - ((2 * d) % s.count);
        break;
      default:
        v = (((s.count - d) % m) + m) % m;
        break;
    }
    v %= m;
    return s.bcd ? toBcd(v) : v & 0xffff;
  }

  /** OUT pin level at `now`. */
  output(now: number): boolean {
    this.settle(now);
    const s = this.s;
    const mode = this.mode;
    if (!s.loaded) return mode !== PIT_MODE.INTERRUPT_ON_TERMINAL_COUNT;
    if (s.holdLow) return false;
    const d = this.elapsed(now);
    switch (mode) {
      case PIT_MODE.INTERRUPT_ON_TERMINAL_COUNT:
        return d >= s.count;
      case PIT_MODE.HW_RETRIGGERABLE_ONE_SHOT:
        return !s.triggered || d >= s.count;
      case PIT_MODE.RATE_GENERATOR:
        if (!s.gate || s.count < 2) return true;
        return d % s.count !== s.count - 1;
      case PIT_MODE.SQUARE_WAVE:
        if (!s.gate) return true;
        return d % s.count < Math.ceil(s.count / 2);
      case PIT_MODE.SW_TRIGGERED_STROBE:
        return d !== s.count;
      default:
        return !s.triggered || d !== s.count;
    }
  }

  /** NULL COUNT flag at `now`: a count was written and has not reached the counting element yet. */
  nullCount(now: number): boolean {
    this.settle(now);
    const s = this.s;
    if (s.nullCount && s.nullClearNs !== null && now >= s.nullClearNs) s.nullCount = false;
    return s.nullCount;
  }

  /** Status byte (read-back). */
  status(now: number): number {
    const s = this.s;
    return (
      (this.output(now) ? PIT_STATUS.OUTPUT : 0) |
      (this.nullCount(now) ? PIT_STATUS.NULL_COUNT : 0) |
      (s.rw << PIT_STATUS.RW_SHIFT) |
      (s.modeBits << PIT_STATUS.M_SHIFT) |
      (s.bcd ? PIT_STATUS.BCD : 0)
    );
  }

  /** Counter latch command; ignored while a previous latch is unread. */
  latchCount(now: number): void {
    const s = this.s;
    if (s.latched.length > 0) return;
    const v = this.countValue(now);
    const lo = v & 0xff;
    const hi = (v >> 8) & 0xff;
    if (s.rw === PIT_ACCESS.LSB) s.latched = [lo];
    else if (s.rw === PIT_ACCESS.MSB) s.latched = [hi];
    else s.latched = [lo, hi];
  }

  /** Status latch (read-back); ignored while a previous status is unread. */
  latchStatus(now: number): void {
    if (this.s.statusLatch === null) this.s.statusLatch = this.status(now);
  }

  /** Data-port read of one byte: latched status, then latched count, then the live count. */
  readByte(now: number): number {
    const s = this.s;
    if (s.statusLatch !== null) {
      const v = s.statusLatch;
      s.statusLatch = null;
      return v;
    }
    const latched = s.latched.shift();
    if (latched !== undefined) return latched;
    const v = this.countValue(now);
    switch (s.rw) {
      case PIT_ACCESS.LSB:
        return v & 0xff;
      case PIT_ACCESS.MSB:
        return (v >> 8) & 0xff;
      default: {
        const high = s.readHigh;
        s.readHigh = !high;
        return high ? (v >> 8) & 0xff : v & 0xff;
      }
    }
  }

  /** Gate input change (82C54 "Gate" table: 0/4 enable, 1/5 trigger, 2/3 enable + reload). */
  setGate(now: number, level: boolean): void {
    this.settle(now);
    const s = this.s;
    if (level === s.gate) return;
    s.gate = level;
    const mode = this.mode;
    if (mode === PIT_MODE.INTERRUPT_ON_TERMINAL_COUNT || mode === PIT_MODE.SW_TRIGGERED_STROBE) {
      if (level) {
        if (s.loaded && !s.holdLow) {
          s.segStartNs = now;
          s.running = true;
          if (s.nullCount && s.nullClearNs === null) s.nullClearNs = now + nsForTicks(1);
        }
      } else if (s.running) {
        s.ticksBase = this.elapsed(now);
        s.running = false;
      }
      return;
    }
    if (mode === PIT_MODE.RATE_GENERATOR || mode === PIT_MODE.SQUARE_WAVE) {
      if (level) {
        if (s.loaded) this.loadNow(now, true);
      } else {
        // Counting stops where it is (OUT is forced high); the next rising edge reloads.
        s.ticksBase = this.elapsed(now);
        s.running = false;
      }
      return;
    }
    // Modes 1 and 5: a rising edge (re)triggers; a falling edge changes nothing.
    if (level && s.loaded) {
      s.triggered = true;
      this.loadNow(now, true);
    }
  }

  /**
   * Clock time of the next rising edge of OUT strictly after `now`, or null if OUT will not rise
   * without further input. This is what drives IRQ0.
   */
  nextRisingEdge(now: number): number | null {
    this.settle(now);
    const s = this.s;
    if (!s.running || s.holdLow) return null;
    const d = this.elapsed(now);
    let edge: number | null = null;
    switch (this.mode) {
      case PIT_MODE.INTERRUPT_ON_TERMINAL_COUNT:
        edge = d < s.count ? s.count : null;
        break;
      case PIT_MODE.HW_RETRIGGERABLE_ONE_SHOT:
        edge = s.triggered && d < s.count ? s.count : null;
        break;
      case PIT_MODE.RATE_GENERATOR:
      case PIT_MODE.SQUARE_WAVE:
        // OUT rises when the count reloads, once per period.
        edge = (Math.floor(d / s.count) + 1) * s.count;
        break;
      case PIT_MODE.SW_TRIGGERED_STROBE:
        edge = d <= s.count ? s.count + 1 : null;
        break;
      default:
        edge = s.triggered && d <= s.count ? s.count + 1 : null;
        break;
    }
    if (edge === null) return null;
    return s.segStartNs + nsForTicks(edge - s.ticksBase);
  }
}
