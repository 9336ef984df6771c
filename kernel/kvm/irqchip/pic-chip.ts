import { PIC_CASCADE_IRQ, PIC_COMMAND, PIC_ICW1, PIC_ICW2_VECTOR_MASK, PIC_ICW4, PIC_NO_IRQ, PIC_OCW2, PIC_OCW3 } from './pic-regs.js';

/** Plain-data state of one 8259A, the counterpart of KVM's struct kvm_pic_state. */
export interface PicChipState {
  lines: number; // input levels (bit per IR pin), also the edge detector's memory
  irr: number;
  imr: number;
  isr: number;
  priorityAdd: number; // IR level that currently has the highest priority
  irqBase: number; // ICW2 & 0xf8
  readIsr: boolean; // OCW3 RIS: command-port reads return ISR instead of IRR
  poll: boolean;
  specialMask: boolean;
  initState: number; // 0 = operational, 1/2/3 = expecting ICW2/ICW3/ICW4
  init4: boolean;
  single: boolean;
  ltim: boolean;
  icw3: number;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  specialFullyNested: boolean;
  elcr: number;
}

/** Initialisation-sequence states. */
const INIT = { READY: 0, ICW2: 1, ICW3: 2, ICW4: 3 } as const;

/** A fresh chip after power-on (all zero, IMR clear, as QEMU's and KVM's reset). */
export function picChipPowerOn(): PicChipState {
  return {
    lines: 0,
    irr: 0,
    imr: 0,
    isr: 0,
    priorityAdd: 0,
    irqBase: 0,
    readIsr: false,
    poll: false,
    specialMask: false,
    initState: INIT.READY,
    init4: false,
    single: false,
    ltim: false,
    icw3: 0,
    autoEoi: false,
    rotateOnAutoEoi: false,
    specialFullyNested: false,
    elcr: 0,
  };
}

/**
 * One 8259A programmable interrupt controller (Intel 8259A datasheet; behaviour after QEMU
 * hw/intc/i8259.c and Linux arch/x86/kvm/i8259.c): IRR/ISR/IMR, rotating priority, edge or level
 * inputs, ICW1-4, OCW1-3. The pair logic (cascade, INTA, poll across chips) is in `Pic8259Pair`.
 */
export class PicChip {
  s: PicChipState = picChipPowerOn();

  constructor(readonly isMaster: boolean, private readonly elcrMask: number) {}

  private levelTriggered(bit: number): boolean {
    return this.s.ltim || (this.s.elcr & bit) !== 0;
  }

  /** Input pin `irq` (0-7) changes level. Edge inputs latch IRR on a rising edge; level ones follow. */
  setLine(irq: number, level: boolean): void {
    const s = this.s;
    const bit = 1 << irq;
    if (this.levelTriggered(bit)) {
      if (level) s.irr |= bit;
      else s.irr &= ~bit;
    } else if (level && (s.lines & bit) === 0) {
      s.irr |= bit;
    }
    if (level) s.lines |= bit;
    else s.lines &= ~bit;
  }

  /**
   * Master only: the slave's INT output. In edge mode a pending slave request latches IR2 (see
   * Pic8259Pair.update); with LTIM the IR2 request follows the slave's level.
   */
  cascadeRequest(slaveInt: boolean): void {
    const bit = 1 << PIC_CASCADE_IRQ;
    if (this.s.ltim) {
      if (slaveInt || (this.s.lines & bit) !== 0) this.s.irr |= bit;
      else this.s.irr &= ~bit;
    } else if (slaveInt) {
      this.s.irr |= bit;
    }
  }

  /** Priority rank (0 = highest) of the best bit in `mask`, or 8 for none. */
  private priorityOf(mask: number): number {
    if ((mask & 0xff) === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.s.priorityAdd) & 7))) === 0) p++;
    return p;
  }

  /** The IR level that would be delivered now, or PIC_NO_IRQ. */
  pending(): number {
    const s = this.s;
    const p = this.priorityOf(s.irr & ~s.imr);
    if (p === 8) return PIC_NO_IRQ;
    let inService = s.isr;
    // Special mask mode: masked in-service levels no longer block lower priorities.
    if (s.specialMask) inService &= ~s.imr;
    // Special fully nested mode: the slave may interrupt while its own cascade level is in service.
    if (s.specialFullyNested && this.isMaster) inService &= ~(1 << PIC_CASCADE_IRQ);
    const cur = this.priorityOf(inService);
    return p < cur ? (p + s.priorityAdd) & 7 : PIC_NO_IRQ;
  }

  /** The chip's part of an INTA cycle for level `irq` (also used by poll reads). */
  intack(irq: number): void {
    const s = this.s;
    const bit = 1 << irq;
    // A level-triggered request stays in IRR while the line is high.
    if (!this.levelTriggered(bit)) s.irr &= ~bit;
    if (s.autoEoi) {
      if (s.rotateOnAutoEoi) s.priorityAdd = (irq + 1) & 7;
    } else {
      s.isr |= bit;
    }
  }

  /** Write to the command port (A0 = 0): ICW1, OCW2 or OCW3. */
  writeCommand(value: number): void {
    const s = this.s;
    if (value & PIC_COMMAND.ICW1) {
      this.icw1(value);
      return;
    }
    if (value & PIC_COMMAND.OCW3) {
      if (value & PIC_OCW3.P) s.poll = true;
      if (value & PIC_OCW3.RR) s.readIsr = (value & PIC_OCW3.RIS) !== 0;
      if (value & PIC_OCW3.ESMM) s.specialMask = (value & PIC_OCW3.SMM) !== 0;
      return;
    }
    const level = value & PIC_OCW2.LEVEL_MASK;
    switch (value >> PIC_OCW2.SHIFT) {
      case PIC_OCW2.ROTATE_AEOI_CLEAR:
        s.rotateOnAutoEoi = false;
        break;
      case PIC_OCW2.ROTATE_AEOI_SET:
        s.rotateOnAutoEoi = true;
        break;
      case PIC_OCW2.NON_SPECIFIC_EOI:
      case PIC_OCW2.ROTATE_NON_SPECIFIC_EOI: {
        // Clears the highest-priority in-service level.
        const p = this.priorityOf(s.isr);
        if (p !== 8) {
          const irq = (p + s.priorityAdd) & 7;
          s.isr &= ~(1 << irq);
          if (value >> PIC_OCW2.SHIFT === PIC_OCW2.ROTATE_NON_SPECIFIC_EOI) s.priorityAdd = (irq + 1) & 7;
        }
        break;
      }
      case PIC_OCW2.SPECIFIC_EOI:
        s.isr &= ~(1 << level);
        break;
      case PIC_OCW2.ROTATE_SPECIFIC_EOI:
        s.isr &= ~(1 << level);
        s.priorityAdd = (level + 1) & 7;
        break;
      case PIC_OCW2.SET_PRIORITY:
        // Level L becomes the lowest priority, so L+1 the highest.
        s.priorityAdd = (level + 1) & 7;
        break;
      default:
        break; // PIC_OCW2.NOP
    }
  }

  /**
   * ICW1: the edge-sense circuit is reset (a line must go low then high again), IMR and ISR are
   * cleared, IR7 becomes the lowest priority, reads return IRR, special mask mode is off, and
   * the ICW4 features are cleared.
   */
  private icw1(value: number): void {
    const old = this.s;
    const s = picChipPowerOn();
    s.elcr = old.elcr;
    s.lines = old.lines;
    s.init4 = (value & PIC_ICW1.IC4) !== 0;
    s.single = (value & PIC_ICW1.SNGL) !== 0;
    s.ltim = (value & PIC_ICW1.LTIM) !== 0;
    s.initState = INIT.ICW2;
    this.s = s;
    // Level-triggered requests that are still asserted stay requested.
    let level = 0;
    for (let i = 0; i < 8; i++) if (this.levelTriggered(1 << i)) level |= 1 << i;
    s.irr = s.lines & level;
  }

  /** Write to the data port (A0 = 1): ICW2-4 during initialisation, else OCW1 (IMR). */
  writeData(value: number): void {
    const s = this.s;
    switch (s.initState) {
      case INIT.ICW2:
        s.irqBase = value & PIC_ICW2_VECTOR_MASK;
        s.initState = s.single ? (s.init4 ? INIT.ICW4 : INIT.READY) : INIT.ICW3;
        break;
      case INIT.ICW3:
        s.icw3 = value;
        s.initState = s.init4 ? INIT.ICW4 : INIT.READY;
        break;
      case INIT.ICW4:
        s.autoEoi = (value & PIC_ICW4.AEOI) !== 0;
        s.specialFullyNested = (value & PIC_ICW4.SFNM) !== 0;
        s.initState = INIT.READY;
        break;
      default:
        s.imr = value & 0xff;
        break;
    }
  }

  /** Command-port read when not polling: IRR or ISR per OCW3. */
  readCommand(): number {
    return this.s.readIsr ? this.s.isr : this.s.irr;
  }

  readData(): number {
    return this.s.imr;
  }

  /** ELCR write: lines that become level-triggered now request exactly while asserted. */
  writeElcr(value: number): void {
    const s = this.s;
    s.elcr = value & this.elcrMask;
    if (s.ltim) return;
    s.irr = (s.irr & ~s.elcr) | (s.lines & s.elcr);
  }
}
