import type { BusDevice, Clock, IrqLine, Timer } from '../../bus/device.js';
import { PIT_ACCESS, PIT_CHANNELS, PIT_CONTROL, PIT_OFFSET, PIT_READ_BACK } from './i8254-regs.js';
import { PitChannel, type PitChannelState } from './pit-channel.js';

/**
 * Shortest interval between two IRQ0 pulses. A guest that programs a tiny divisor would otherwise
 * ask for a timer callback per input-clock tick; KVM's PIT clamps its period the same way
 * (min_timer_period_us). Edges that fall inside the interval are delivered late, and counted.
 */
export const PIT_MIN_IRQ_INTERVAL_NS = 50_000;

/** Plain-data snapshot of the whole PIT, the counterpart of KVM_GET_PIT2 / KVM_SET_PIT2. */
export interface PitSnapshot {
  channels: PitChannelState[];
  speakerData: boolean; // port 0x61 bit 1, kept here so one snapshot restores the whole device
  lastPulseNs: number | null;
}

/** Counters a test or `--stats` can read. */
export interface PitStats {
  irqPulses: number;
  irqDelayed: number; // edges pushed back by PIT_MIN_IRQ_INTERVAL_NS
  badAccesses: number; // reads of the write-only control port
}

/**
 * The 8254 programmable interval timer (Intel 82C54 datasheet; facts §5.2; behaviour after QEMU
 * hw/timer/i8254.c). Ports 0x40-0x43 as offsets 0-3. Channel 0's OUT rising edges become IRQ0
 * pulses at the clock times they happen (Clock timers, periodic modes re-arm); channel 2's gate and
 * OUT are reached through port 0x61 (`Port61`). The same class serves the device-model process and
 * the in-kernel PIT (`--pit kernel`), so both behave identically.
 */
export class I8254 implements BusDevice {
  private readonly channels: PitChannel[];
  private readonly timer: Timer;
  private lastPulseNs: number | null = null;
  private armedAt: number | null = null;
  /** Port 0x61 bit 1 (speaker data enable); only stored, no sound is made. */
  speakerData = false;
  readonly stats: PitStats = { irqPulses: 0, irqDelayed: 0, badAccesses: 0 };

  constructor(private readonly clock: Clock, private readonly irq0: IrqLine) {
    this.timer = clock.timer(() => this.onTimer());
    this.channels = [];
    this.reset();
  }

  /** Power-on state as QEMU's: every counter in mode 3 with count 0x10000, gate high on 0 and 1. */
  reset(): void {
    const now = this.clock.now();
    this.channels.length = 0;
    for (let i = 0; i < PIT_CHANNELS; i++) {
      const ch = new PitChannel(i !== 2);
      ch.control(now, PIT_ACCESS.LSB_MSB, 3, false);
      ch.writeByte(now, 0);
      ch.writeByte(now, 0);
      ch.s.nullCount = false;
      this.channels.push(ch);
    }
    this.speakerData = false;
    this.lastPulseNs = null;
    this.rearm();
  }

  private channel(i: number): PitChannel {
    const ch = this.channels[i];
    if (ch === undefined) throw new Error(`assertion: PIT channel ${i} out of range`);
    return ch;
  }

  read(offset: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(offset + i) << (8 * i);
    return v >>> 0;
  }

  write(offset: number, size: number, value: number): void {
    // Wider accesses are split into byte accesses, as a 1-byte-only MemoryRegion is.
    for (let i = 0; i < size; i++) this.writeByte(offset + i, (value >>> (8 * i)) & 0xff);
  }

  private readByte(offset: number): number {
    const now = this.clock.now();
    if (offset >= PIT_OFFSET.COUNTER0 && offset <= PIT_OFFSET.COUNTER2) {
      return this.channel(offset).readByte(now);
    }
    if (offset === PIT_OFFSET.CONTROL) {
      // Write-only register; QEMU reads 0.
      this.stats.badAccesses++;
      return 0;
    }
    return 0xff;
  }

  private writeByte(offset: number, value: number): void {
    const now = this.clock.now();
    if (offset >= PIT_OFFSET.COUNTER0 && offset <= PIT_OFFSET.COUNTER2) {
      this.channel(offset).writeByte(now, value);
      if (offset === PIT_OFFSET.COUNTER0) this.rearm();
      return;
    }
    if (offset === PIT_OFFSET.CONTROL) this.writeControl(now, value);
  }

  private writeControl(now: number, value: number): void {
    const sc = (value >> PIT_CONTROL.SC_SHIFT) & PIT_CONTROL.FIELD2_MASK;
    if (sc === PIT_CONTROL.SC_READ_BACK) {
      const selects = [PIT_READ_BACK.CNT0, PIT_READ_BACK.CNT1, PIT_READ_BACK.CNT2];
      selects.forEach((bit, i) => {
        if ((value & bit) === 0) return;
        const ch = this.channel(i);
        // Status is latched first so its OUT/NULL COUNT describe the same instant as the count.
        if ((value & PIT_READ_BACK.NOT_STATUS) === 0) ch.latchStatus(now);
        if ((value & PIT_READ_BACK.NOT_COUNT) === 0) ch.latchCount(now);
      });
      return;
    }
    const ch = this.channel(sc);
    const rw = (value >> PIT_CONTROL.RW_SHIFT) & PIT_CONTROL.FIELD2_MASK;
    if (rw === PIT_ACCESS.LATCH) {
      ch.latchCount(now);
      return;
    }
    ch.control(now, rw, (value >> PIT_CONTROL.M_SHIFT) & PIT_CONTROL.M_MASK, (value & PIT_CONTROL.BCD) !== 0);
    if (sc === 0) this.rearm();
  }

  /** Gate input of counter `i` (only counter 2's is wired, to port 0x61 bit 0). */
  setGate(i: number, level: boolean): void {
    this.channel(i).setGate(this.clock.now(), level);
    if (i === 0) this.rearm();
  }

  gate(i: number): boolean {
    return this.channel(i).s.gate;
  }

  /** OUT level of counter `i` now. */
  output(i: number): boolean {
    return this.channel(i).output(this.clock.now());
  }

  /** Arm the timer for channel 0's next rising OUT edge (or cancel it). */
  private rearm(): void {
    const now = this.clock.now();
    const edge = this.channel(0).nextRisingEdge(now);
    if (edge === null) {
      this.timer.cancel();
      this.armedAt = null;
      return;
    }
    let deadline = edge;
    if (this.lastPulseNs !== null && deadline < this.lastPulseNs + PIT_MIN_IRQ_INTERVAL_NS) {
      deadline = this.lastPulseNs + PIT_MIN_IRQ_INTERVAL_NS;
      this.stats.irqDelayed++;
    }
    this.armedAt = deadline;
    this.timer.arm(deadline);
  }

  private onTimer(): void {
    const now = this.clock.now();
    if (this.armedAt === null || now < this.armedAt) {
      // A stale or early callback: re-arming replaces the deadline.
      this.rearm();
      return;
    }
    // ISA IRQ0 is edge-triggered: each rising OUT edge is one pulse (as KVM's PIT injects it).
    this.irq0.set(true);
    this.irq0.set(false);
    this.stats.irqPulses++;
    this.lastPulseNs = now;
    this.rearm();
  }

  /** Plain-data copy of the state (KVM_GET_PIT2). */
  snapshot(): PitSnapshot {
    return structuredClone({
      channels: this.channels.map((c) => c.s),
      speakerData: this.speakerData,
      lastPulseNs: this.lastPulseNs,
    });
  }

  /** Restore a snapshot taken on the same clock (KVM_SET_PIT2); re-arms the IRQ0 timer. */
  restore(snap: PitSnapshot): void {
    if (snap.channels.length !== PIT_CHANNELS) throw new Error('assertion: PIT snapshot must have 3 channels');
    snap.channels.forEach((state, i) => {
      this.channel(i).s = structuredClone(state);
    });
    this.speakerData = snap.speakerData;
    this.lastPulseNs = snap.lastPulseNs;
    this.rearm();
  }
}
