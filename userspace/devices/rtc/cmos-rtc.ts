import type { BusDevice, Clock, IrqLine, Timer } from '../../bus/device.js';
import {
  CMOS_BASE_MEMORY_KIB,
  CMOS_CHECKSUM,
  CMOS_INDEX_MASK,
  CMOS_MEM,
  CMOS_NMI_DISABLE,
  CMOS_SIZE,
  RTC_ALARM_DONT_CARE,
  RTC_BASE_HZ,
  RTC_HOURS_PM,
  RTC_REG,
  RTC_REG_A,
  RTC_REG_B,
  RTC_REG_C,
  RTC_REG_D,
  RTC_RESET,
  RTC_UIP_LEAD_NS,
} from './cmos-registers.js';

const NS_PER_SECOND = 1_000_000_000;
const SECONDS_PER_DAY = 86_400;
const KIB = 1024;
const MIB = 1024 * KIB;
const CMOS_WORD_MAX = 0xffff;

/** Construction parameters of a CmosRtc. */
export interface CmosRtcOptions {
  clock: Clock;
  /** ISA IRQ8. */
  irq: IrqLine;
  /** Wall-clock time (Unix seconds, UTC) the RTC shows at construction; it then runs with `clock`. */
  baseEpochSeconds: number;
  /** Guest RAM size in bytes, reported in the memory-size bytes. */
  ramSizeBytes: number;
}

/** Broken-down RTC time, as the registers hold it (binary values). */
interface RtcFields {
  seconds: number;
  minutes: number;
  hours: number; // 0-23
  dayOfWeek: number; // 1 = Sunday
  day: number;
  month: number; // 1-12
  year: number; // full year
}

/** Time registers refreshed from the clock (and the ones whose write sets the time). */
const TIME_REGISTERS: ReadonlySet<number> = new Set([
  RTC_REG.SECONDS,
  RTC_REG.MINUTES,
  RTC_REG.HOURS,
  RTC_REG.DAY_OF_WEEK,
  RTC_REG.DAY_OF_MONTH,
  RTC_REG.MONTH,
  RTC_REG.YEAR,
  RTC_REG.CENTURY,
]);

/**
 * MC146818A RTC with the PC's 128-byte CMOS RAM behind ports 0x70/0x71 (Motorola datasheet;
 * behaviour after QEMU hw/rtc/mc146818rtc.c).
 *
 * - Time runs from `baseEpochSeconds` with the injected Clock; registers are encoded in BCD or
 *   binary and 12/24-hour form as register B says. With SET (or the divider held in reset) the
 *   registers stop and become plain storage; clearing it starts the clock from what was written.
 *   A write to a time register while running sets the time at once.
 * - UIP reads 1 during the 244 µs before each second boundary.
 * - Flags in register C are computed from the clock when looked at (so a guest polling them
 *   sees them without interrupts enabled) and cleared by reading C. A Clock timer is armed only
 *   for the sources enabled in register B; IRQ8 follows IRQF until C is read.
 * - Periodic rate from RS: 32768 >> (RS - 1) Hz, RS 1 and 2 as 256 and 128 Hz (datasheet table 3).
 */
export class CmosRtc implements BusDevice {
  readonly stats = { periodicInterrupts: 0, updateInterrupts: 0, alarmInterrupts: 0 };
  /** Last value of index-port bit 7 (NMI disable); kept for the VMM to consult, no effect here. */
  nmiDisabled = false;

  private readonly clock: Clock;
  private readonly irq: IrqLine;
  private readonly timer: Timer;
  private readonly cmos = new Uint8Array(CMOS_SIZE);
  private index = 0;
  /** Clock reading that second boundaries (and periodic ticks) are aligned to. */
  private readonly originNs: number;
  /** RTC time (Unix seconds) at second index 0. */
  private baseSeconds: number;
  private lastFlagCheckNs: number;
  private irqLevel = false;

  constructor(options: CmosRtcOptions) {
    this.clock = options.clock;
    this.irq = options.irq;
    this.originNs = this.clock.now();
    this.lastFlagCheckNs = this.originNs;
    this.baseSeconds = Math.floor(options.baseEpochSeconds);
    this.timer = this.clock.timer(() => this.onTimer());
    this.cmos[RTC_REG.A] = RTC_RESET.A;
    this.cmos[RTC_REG.B] = RTC_RESET.B;
    this.cmos[RTC_REG.C] = RTC_RESET.C;
    this.cmos[RTC_REG.D] = RTC_RESET.D;
    this.fillMemorySize(options.ramSizeBytes);
    this.syncTimeRegisters();
  }

  /** Port 0x70 (offset 0): write-only index, reads all ones. Port 0x71 (offset 1): data. */
  read(offset: number, size: number): number {
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.readByte((offset + i) & 1) << (8 * i);
    return value >>> 0;
  }

  write(offset: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte((offset + i) & 1, (value >>> (8 * i)) & 0xff);
  }

  /** Current RTC time in Unix seconds (what the registers show while the clock runs). */
  currentSeconds(): number {
    return this.baseSeconds + this.secondIndex(this.clock.now());
  }

  /** Raw CMOS byte without side effects, for tests and for firmware loaders. */
  peek(index: number): number {
    return this.cmos[index & CMOS_INDEX_MASK] ?? 0;
  }

  private readByte(port: number): number {
    if (port === 0) return 0xff;
    const index = this.index;
    this.advanceFlags();
    switch (index) {
      case RTC_REG.A:
        return (this.cmos[RTC_REG.A] ?? 0) | (this.updateInProgress() ? RTC_REG_A.UIP : 0);
      case RTC_REG.C: {
        this.updateIrq(); // IRQF for flags found just now
        const flags = this.cmos[RTC_REG.C] ?? 0;
        this.cmos[RTC_REG.C] = 0;
        this.updateIrq();
        return flags;
      }
      case RTC_REG.D:
        return RTC_REG_D.VRT;
      default:
        if (TIME_REGISTERS.has(index) && this.running()) this.syncTimeRegisters();
        return this.cmos[index] ?? 0;
    }
  }

  private writeByte(port: number, value: number): void {
    if (port === 0) {
      this.index = value & CMOS_INDEX_MASK;
      this.nmiDisabled = (value & CMOS_NMI_DISABLE) !== 0;
      return;
    }
    const index = this.index;
    this.advanceFlags();
    switch (index) {
      case RTC_REG.A:
        // UIP is read-only.
        this.setControl(value & ~RTC_REG_A.UIP, this.cmos[RTC_REG.B] ?? 0);
        break;
      case RTC_REG.B: {
        const old = this.cmos[RTC_REG.B] ?? 0;
        // Entering SET mode also clears UIE (datasheet: "SET = 1 ... UIE is cleared").
        const b = value & RTC_REG_B.SET && !(old & RTC_REG_B.SET) ? value & ~RTC_REG_B.UIE : value;
        this.setControl(this.cmos[RTC_REG.A] ?? 0, b);
        break;
      }
      case RTC_REG.C:
      case RTC_REG.D:
        return; // read-only
      default:
        if (TIME_REGISTERS.has(index) && this.running()) {
          this.syncTimeRegisters();
          this.cmos[index] = value;
          this.setTimeFromRegisters();
        } else {
          this.cmos[index] = value;
        }
        return;
    }
    this.updateIrq();
    this.rearm();
  }

  private setControl(a: number, b: number): void {
    const wasRunning = this.running();
    if (wasRunning) this.syncTimeRegisters(); // freeze what the guest last could see
    this.cmos[RTC_REG.A] = a;
    this.cmos[RTC_REG.B] = b;
    if (!wasRunning && this.running()) this.setTimeFromRegisters();
  }

  /** Time advances unless SET is on or the divider chain is held (QEMU rtc_running). */
  private running(): boolean {
    return !((this.cmos[RTC_REG.B] ?? 0) & RTC_REG_B.SET) && this.dividerRunning();
  }

  /** DV 000/001/010 clock the chain (QEMU accepts all three); 11x hold it in reset. */
  private dividerRunning(): boolean {
    return ((this.cmos[RTC_REG.A] ?? 0) & RTC_REG_A.DV_MASK) <= RTC_REG_A.DV_32KHZ;
  }

  private updateInProgress(): boolean {
    if (!this.running()) return false;
    const sinceOrigin = this.clock.now() - this.originNs;
    const intoSecond = sinceOrigin - Math.floor(sinceOrigin / NS_PER_SECOND) * NS_PER_SECOND;
    return intoSecond >= NS_PER_SECOND - RTC_UIP_LEAD_NS;
  }

  private secondIndex(now: number): number {
    return Math.floor((now - this.originNs) / NS_PER_SECOND);
  }

  /** 32.768 kHz cycles per periodic tick, or 0 when RS = 0 (datasheet table 3). */
  private periodCycles(): number {
    const rs = (this.cmos[RTC_REG.A] ?? 0) & RTC_REG_A.RS_MASK;
    if (rs === 0) return 0;
    // RS 1 and 2 would be 8 and 4 cycles; with the 32.768 kHz base they give 256 Hz and 128 Hz.
    const code = rs <= 2 ? rs + 7 : rs;
    return 1 << (code - 1);
  }

  /** Index of the periodic tick the clock is in (ticks are aligned to second boundaries). */
  private periodIndex(now: number, cycles: number): number {
    const second = this.secondIndex(now);
    const intoSecond = now - this.originNs - second * NS_PER_SECOND;
    const perSecond = RTC_BASE_HZ / cycles;
    return second * perSecond + Math.floor((intoSecond * RTC_BASE_HZ) / (NS_PER_SECOND * cycles));
  }

  /** Clock reading at which periodic tick `index` starts. */
  private periodStart(index: number, cycles: number): number {
    const perSecond = RTC_BASE_HZ / cycles;
    const second = Math.floor(index / perSecond);
    const tick = index - second * perSecond;
    return this.originNs + second * NS_PER_SECOND + Math.ceil((tick * cycles * NS_PER_SECOND) / RTC_BASE_HZ);
  }

  /** Set the PF/UF/AF flags for every event between the last check and now. */
  private advanceFlags(): void {
    const now = this.clock.now();
    const last = this.lastFlagCheckNs;
    if (now <= last) return;
    this.lastFlagCheckNs = now;
    let flags = this.cmos[RTC_REG.C] ?? 0;
    const cycles = this.periodCycles();
    if (cycles !== 0 && this.dividerRunning() && this.periodIndex(now, cycles) > this.periodIndex(last, cycles)) {
      flags |= RTC_REG_C.PF;
    }
    if (this.running()) {
      const from = this.secondIndex(last);
      const to = this.secondIndex(now);
      if (to > from) {
        flags |= RTC_REG_C.UF;
        // Every alarm pattern repeats within a day: look at no more than one day of seconds.
        for (let s = Math.max(from + 1, to - SECONDS_PER_DAY + 1); s <= to; s++) {
          if (this.alarmMatches(this.baseSeconds + s)) {
            flags |= RTC_REG_C.AF;
            break;
          }
        }
      }
    }
    this.cmos[RTC_REG.C] = flags;
  }

  private alarmMatches(unixSeconds: number): boolean {
    const f = fieldsOf(unixSeconds);
    const pairs: Array<[number, number]> = [
      [RTC_REG.SECONDS_ALARM, this.encode(f.seconds)],
      [RTC_REG.MINUTES_ALARM, this.encode(f.minutes)],
      [RTC_REG.HOURS_ALARM, this.encodeHours(f.hours)],
    ];
    return pairs.every(([reg, current]) => {
      const alarm = this.cmos[reg] ?? 0;
      return alarm >= RTC_ALARM_DONT_CARE || alarm === current;
    });
  }

  private onTimer(): void {
    const before = this.cmos[RTC_REG.C] ?? 0;
    this.advanceFlags();
    const raised = (this.cmos[RTC_REG.C] ?? 0) & ~before;
    const b = this.cmos[RTC_REG.B] ?? 0;
    if (raised & RTC_REG_C.PF && b & RTC_REG_B.PIE) this.stats.periodicInterrupts++;
    if (raised & RTC_REG_C.UF && b & RTC_REG_B.UIE) this.stats.updateInterrupts++;
    if (raised & RTC_REG_C.AF && b & RTC_REG_B.AIE) this.stats.alarmInterrupts++;
    this.updateIrq();
    this.rearm();
  }

  /** Arm the timer for the next event an enabled interrupt source needs, or cancel it. */
  private rearm(): void {
    const now = this.clock.now();
    const b = this.cmos[RTC_REG.B] ?? 0;
    let next = Infinity;
    const cycles = this.periodCycles();
    if (b & RTC_REG_B.PIE && cycles !== 0 && this.dividerRunning()) {
      next = this.periodStart(this.periodIndex(now, cycles) + 1, cycles);
    }
    if (b & (RTC_REG_B.UIE | RTC_REG_B.AIE) && this.running()) {
      next = Math.min(next, this.originNs + (this.secondIndex(now) + 1) * NS_PER_SECOND);
    }
    if (Number.isFinite(next)) this.timer.arm(next);
    else this.timer.cancel();
  }

  /** The only place IRQ8 changes: IRQF = an enabled flag is set; the line stays up until C is read. */
  private updateIrq(): void {
    const c = this.cmos[RTC_REG.C] ?? 0;
    const b = this.cmos[RTC_REG.B] ?? 0;
    const irqf =
      (c & RTC_REG_C.PF && b & RTC_REG_B.PIE) || (c & RTC_REG_C.AF && b & RTC_REG_B.AIE) || (c & RTC_REG_C.UF && b & RTC_REG_B.UIE);
    this.cmos[RTC_REG.C] = irqf ? c | RTC_REG_C.IRQF : c & ~RTC_REG_C.IRQF;
    const level = Boolean(irqf);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }

  /** Write the current time into the time registers in the format register B selects. */
  private syncTimeRegisters(): void {
    const f = fieldsOf(this.currentSeconds());
    this.cmos[RTC_REG.SECONDS] = this.encode(f.seconds);
    this.cmos[RTC_REG.MINUTES] = this.encode(f.minutes);
    this.cmos[RTC_REG.HOURS] = this.encodeHours(f.hours);
    this.cmos[RTC_REG.DAY_OF_WEEK] = this.encode(f.dayOfWeek);
    this.cmos[RTC_REG.DAY_OF_MONTH] = this.encode(f.day);
    this.cmos[RTC_REG.MONTH] = this.encode(f.month);
    this.cmos[RTC_REG.YEAR] = this.encode(f.year % 100);
    this.cmos[RTC_REG.CENTURY] = this.encode(Math.floor(f.year / 100));
  }

  /** Start the clock from whatever the time registers hold (out-of-range values roll over, as Date does). */
  private setTimeFromRegisters(): void {
    const reg = (i: number): number => this.cmos[i] ?? 0;
    const year = this.decode(reg(RTC_REG.CENTURY)) * 100 + this.decode(reg(RTC_REG.YEAR));
    const date = new Date(0);
    date.setUTCFullYear(year, this.decode(reg(RTC_REG.MONTH)) - 1, this.decode(reg(RTC_REG.DAY_OF_MONTH)));
    date.setUTCHours(this.decodeHours(reg(RTC_REG.HOURS)), this.decode(reg(RTC_REG.MINUTES)), this.decode(reg(RTC_REG.SECONDS)), 0);
    const seconds = Math.floor(date.getTime() / 1000);
    // Guest garbage can make an invalid date: keep the old time rather than poison it with NaN.
    if (!Number.isFinite(seconds)) return;
    this.baseSeconds = seconds - this.secondIndex(this.clock.now());
  }

  private binaryMode(): boolean {
    return ((this.cmos[RTC_REG.B] ?? 0) & RTC_REG_B.DM) !== 0;
  }

  private encode(value: number): number {
    return this.binaryMode() ? value : toBcd(value);
  }

  private decode(value: number): number {
    return this.binaryMode() ? value : fromBcd(value);
  }

  private encodeHours(hours24: number): number {
    if ((this.cmos[RTC_REG.B] ?? 0) & RTC_REG_B.H24) return this.encode(hours24);
    const hours12 = hours24 % 12 === 0 ? 12 : hours24 % 12;
    return this.encode(hours12) | (hours24 >= 12 ? RTC_HOURS_PM : 0);
  }

  private decodeHours(value: number): number {
    if ((this.cmos[RTC_REG.B] ?? 0) & RTC_REG_B.H24) return this.decode(value);
    const hours12 = this.decode(value & ~RTC_HOURS_PM);
    return (hours12 % 12) + (value & RTC_HOURS_PM ? 12 : 0);
  }

  /** Memory-size bytes as PC BIOSes read them (QEMU pc_cmos_init), then the AT checksum. */
  private fillMemorySize(ramSizeBytes: number): void {
    const setWord = (lo: number, hi: number, value: number): void => {
      this.cmos[lo] = value & 0xff;
      this.cmos[hi] = (value >>> 8) & 0xff;
    };
    setWord(CMOS_MEM.BASE_LO, CMOS_MEM.BASE_HI, CMOS_BASE_MEMORY_KIB);
    const extendedKib = Math.min(CMOS_WORD_MAX, Math.max(0, Math.floor(ramSizeBytes / KIB) - KIB));
    setWord(CMOS_MEM.EXT_LO, CMOS_MEM.EXT_HI, extendedKib);
    setWord(CMOS_MEM.EXT_COPY_LO, CMOS_MEM.EXT_COPY_HI, extendedKib);
    const above16m = Math.min(CMOS_WORD_MAX, Math.max(0, Math.floor((ramSizeBytes - 16 * MIB) / (64 * KIB))));
    setWord(CMOS_MEM.ABOVE_16M_LO, CMOS_MEM.ABOVE_16M_HI, above16m);
    let sum = 0;
    for (let i = CMOS_CHECKSUM.FIRST; i <= CMOS_CHECKSUM.LAST; i++) sum += this.cmos[i] ?? 0;
    this.cmos[CMOS_CHECKSUM.HI] = (sum >>> 8) & 0xff;
    this.cmos[CMOS_CHECKSUM.LO] = sum & 0xff;
  }
}

/** Binary 0-99 to packed BCD. */
export function toBcd(value: number): number {
  return ((Math.floor(value / 10) % 10) << 4) | value % 10;
}

/** Packed BCD to binary (invalid nibbles are taken at face value, as the chip's counters would). */
export function fromBcd(value: number): number {
  return (value >>> 4) * 10 + (value & 0x0f);
}

function fieldsOf(unixSeconds: number): RtcFields {
  const d = new Date(unixSeconds * 1000);
  return {
    seconds: d.getUTCSeconds(),
    minutes: d.getUTCMinutes(),
    hours: d.getUTCHours(),
    dayOfWeek: d.getUTCDay() + 1,
    day: d.getUTCDate(),
    month: d.getUTCMonth() + 1,
    year: d.getUTCFullYear(),
  };
}
