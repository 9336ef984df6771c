/**
 * Minimal 8259A PIC pair and 8254 PIT channel 0 for bare-CPU tests (8259A data sheet ICW/OCW,
 * 8254 data sheet modes 0 and 2), clocked by retired instructions: one PIT tick per instruction.
 * Enough for guests that program IRQ 0, poll IRR, HLT until a tick and acknowledge with EOI; the
 * real devices live in userspace/.
 */

/** I/O ports (PC/AT). */
export const PicPitPorts = { pic1Cmd: 0x20, pic1Data: 0x21, pic2Cmd: 0xa0, pic2Data: 0xa1, pitCh0: 0x40, pitCmd: 0x43 } as const;

/** One 8259A: edge-triggered IRR, IMR, ISR, ICW sequence and non-specific EOI. */
export class MiniPic {
  irr = 0;
  imr = 0xff;
  isr = 0;
  base = 0;
  private icwStep = 0;
  private readIsr = false;

  writeCmd(v: number): void {
    if (v & 0x10) {
      // ICW1: start initialization, ICW2-4 follow on the data port
      this.icwStep = 1;
      this.imr = 0;
      this.isr = 0;
      this.irr = 0;
    } else if (v & 0x08) this.readIsr = (v & 3) === 3; // OCW3
    else if ((v & 0xe0) === 0x20 && this.isr !== 0) this.isr &= this.isr - 1; // OCW2 non-specific EOI
  }
  writeData(v: number): void {
    if (this.icwStep === 1) {
      this.base = v & 0xf8;
      this.icwStep = 2;
    } else if (this.icwStep === 2) this.icwStep = 3;
    else if (this.icwStep === 3) this.icwStep = 0;
    else this.imr = v;
  }
  readCmd(): number {
    return this.readIsr ? this.isr : this.irr;
  }
  /** Highest-priority requested, unmasked IRQ not blocked by one in service, or -1. */
  pending(): number {
    const req = this.irr & ~this.imr;
    for (let i = 0; i < 8; i++) {
      if (this.isr & (1 << i)) return -1;
      if (req & (1 << i)) return i;
    }
    return -1;
  }
  /** INTA: move the IRQ from IRR to ISR and return its vector. */
  acknowledge(irq: number): number {
    this.irr &= ~(1 << irq);
    this.isr |= 1 << irq;
    return this.base + irq;
  }
}

/** 8254 channel 0 in mode 0 (one shot) or mode 2 (rate generator); raises IRQ 0 on the PIC. */
export class MiniPit {
  private reload = 0x10000;
  private mode = 0;
  private start = 0;
  private armed = false;
  private lo = -1;
  private firedAt = 0;
  private latched = -1;
  private latchHi = false;

  constructor(private readonly pic: MiniPic) {}

  writeCmd(v: number, now: number): void {
    if ((v & 0x30) === 0) {
      this.latched = this.count(now);
      this.latchHi = false;
      return;
    }
    this.mode = (v >> 1) & 7;
    this.armed = false;
    this.lo = -1;
  }
  writeCh0(v: number, now: number): void {
    if (this.lo < 0) {
      this.lo = v;
      return;
    }
    this.reload = ((v << 8) | this.lo) || 0x10000;
    this.lo = -1;
    this.start = now;
    this.firedAt = now;
    this.armed = true;
  }
  readCh0(now: number): number {
    const c = this.latched >= 0 ? this.latched : this.count(now);
    const byte = this.latchHi ? c >> 8 : c & 0xff;
    if (this.latchHi) this.latched = -1;
    this.latchHi = !this.latchHi;
    return byte;
  }
  private count(now: number): number {
    if (!this.armed) return 0;
    const t = now - this.start;
    return this.mode === 0 ? Math.max(0, this.reload - t) & 0xffff : (this.reload - (t % this.reload)) & 0xffff;
  }
  /** Raise IRQ 0 for the periods that ended by `now`. */
  tick(now: number): void {
    if (!this.armed) return;
    if (this.mode === 0) {
      if (now - this.start >= this.reload) {
        this.pic.irr |= 1;
        this.armed = false;
      }
    } else if (now - this.firedAt >= this.reload) {
      this.firedAt += this.reload * Math.floor((now - this.firedAt) / this.reload);
      this.pic.irr |= 1;
    }
  }
  /** Instructions until the next IRQ 0 (Infinity when none is due). */
  untilNext(now: number): number {
    if (!this.armed) return Infinity;
    return Math.max(1, (this.mode === 0 ? this.start : this.firedAt) + this.reload - now);
  }
}
