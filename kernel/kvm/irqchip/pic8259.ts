import { PicChip, picChipPowerOn, type PicChipState } from './pic-chip.js';
import { PIC_CASCADE_IRQ, PIC_ELCR_MASK, PIC_NO_IRQ, PIC_POLL_INT, PIC_PORT, PIC_SPURIOUS_IRQ } from './pic-regs.js';

/** Plain-data snapshot of both chips (KVM_GET_IRQCHIP with KVM_IRQCHIP_PIC_MASTER/SLAVE). */
export interface PicSnapshot {
  master: PicChipState;
  slave: PicChipState;
}

/** Counters for `--stats`. */
export interface PicStats {
  acks: number;
  spurious: number;
  polls: number;
}

/** Options for the in-kernel PIC. */
export interface PicOptions {
  /** Called when the master's INT output changes (KVM kicks a halted vCPU on a rise). */
  onOutputChange?: (level: boolean) => void;
}

function assertIrq(irq: number): void {
  if (!Number.isInteger(irq) || irq < 0 || irq > 15) throw new Error(`assertion: PIC irq ${irq} out of range 0-15`);
}

/**
 * The PC's cascaded 8259A pair as KVM's in-kernel irqchip (Linux arch/x86/kvm/i8259.c; facts
 * §3.10, §5.3): master at 0x20/0x21, slave at 0xA0/0xA1 on master IR2, ELCR at 0x4D0/0x4D1.
 * The vCPU asks `hasInterrupt()` (the INTR pin) and runs `acknowledge()` as the INTA cycle.
 * Plain kernel code: no import from userspace/.
 */
export class Pic8259Pair {
  private readonly master = new PicChip(true, PIC_ELCR_MASK.MASTER);
  private readonly slave = new PicChip(false, PIC_ELCR_MASK.SLAVE);
  private output = false;
  readonly stats: PicStats = { acks: 0, spurious: 0, polls: 0 };

  constructor(private readonly options: PicOptions = {}) {}

  /** Ports this device claims (for registration on the kernel's PIO bus). */
  static readonly PORTS: readonly number[] = Object.values(PIC_PORT);

  /** True when `port` belongs to the pair. */
  static claims(port: number): boolean {
    return Pic8259Pair.PORTS.includes(port);
  }

  /**
   * KVM_IRQ_LINE for ISA IRQ 0-15: master pins 0-7, slave pins 8-15. IRQ 2 drives master IR2
   * directly, alongside the cascade (as KVM's default routing does).
   */
  setIrq(irq: number, level: boolean): void {
    assertIrq(irq);
    if (irq < 8) this.master.setLine(irq, level);
    else this.slave.setLine(irq - 8, level);
    this.update();
  }

  /** The master's INT output: an unmasked request outranks everything in service. */
  hasInterrupt(): boolean {
    return this.output;
  }

  /**
   * The INTA cycle (kvm_pic_read_irq): returns the vector and moves the request from IRR to ISR
   * on the master and, for the cascade, on the slave. Nothing pending gives the spurious IR7 of
   * the chip that was asked (master base+7, or slave base+7 with master IR2 in service).
   */
  acknowledge(): number {
    let vector: number;
    const irq = this.master.pending();
    if (irq === PIC_NO_IRQ) {
      vector = this.master.s.irqBase + PIC_SPURIOUS_IRQ;
      this.stats.spurious++;
    } else {
      this.master.intack(irq);
      if (irq === PIC_CASCADE_IRQ) {
        const irq2 = this.slave.pending();
        if (irq2 === PIC_NO_IRQ) {
          vector = this.slave.s.irqBase + PIC_SPURIOUS_IRQ;
          this.stats.spurious++;
        } else {
          this.slave.intack(irq2);
          vector = this.slave.s.irqBase + irq2;
        }
      } else {
        vector = this.master.s.irqBase + irq;
      }
    }
    this.stats.acks++;
    this.update();
    return vector;
  }

  /**
   * Port read of `size` bytes (wider accesses read consecutive ports). The one-argument form is a
   * byte read.
   */
  ioRead(port: number, size = 1): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(port + i) << (8 * i);
    return v >>> 0;
  }

  /** Byte write (`ioWrite(port, value)`) as the KVM io-bus glue calls it. */
  ioWrite(port: number, value: number): void;
  /** Port write of `size` bytes to consecutive ports. */
  ioWrite(port: number, size: number, value: number): void;
  ioWrite(port: number, a: number, b?: number): void {
    const [size, value] = b === undefined ? [1, a] : [a, b];
    for (let i = 0; i < size; i++) this.writeByte(port + i, (value >>> (8 * i)) & 0xff);
  }

  private readByte(port: number): number {
    switch (port) {
      case PIC_PORT.MASTER_COMMAND:
      case PIC_PORT.MASTER_DATA:
      case PIC_PORT.SLAVE_COMMAND:
      case PIC_PORT.SLAVE_DATA: {
        const isSlave = port === PIC_PORT.SLAVE_COMMAND || port === PIC_PORT.SLAVE_DATA;
        const chip = isSlave ? this.slave : this.master;
        if (chip.s.poll) return this.pollRead(isSlave);
        const isCommand = port === PIC_PORT.MASTER_COMMAND || port === PIC_PORT.SLAVE_COMMAND;
        return isCommand ? chip.readCommand() : chip.readData();
      }
      case PIC_PORT.ELCR_MASTER:
        return this.master.s.elcr;
      case PIC_PORT.ELCR_SLAVE:
        return this.slave.s.elcr;
      default:
        return 0xff; // the tail of a wide access that runs past our ports
    }
  }

  private writeByte(port: number, value: number): void {
    switch (port) {
      case PIC_PORT.MASTER_COMMAND:
        this.master.writeCommand(value);
        break;
      case PIC_PORT.MASTER_DATA:
        this.master.writeData(value);
        break;
      case PIC_PORT.SLAVE_COMMAND:
        this.slave.writeCommand(value);
        break;
      case PIC_PORT.SLAVE_DATA:
        this.slave.writeData(value);
        break;
      case PIC_PORT.ELCR_MASTER:
        this.master.writeElcr(value);
        break;
      case PIC_PORT.ELCR_SLAVE:
        this.slave.writeElcr(value);
        break;
      default:
        return;
    }
    this.update();
  }

  /**
   * Poll command read (OCW3 P): the read is the acknowledge. Returns 0x80 | level, or 0 when
   * nothing is pending. Polling the slave also drops the master's latched cascade request, since
   * no INTA cycle went through the master.
   */
  private pollRead(isSlave: boolean): number {
    const chip = isSlave ? this.slave : this.master;
    chip.s.poll = false;
    this.stats.polls++;
    const irq = chip.pending();
    let v = 0;
    if (irq !== PIC_NO_IRQ) {
      chip.intack(irq);
      if (isSlave) this.master.s.irr &= ~(1 << PIC_CASCADE_IRQ);
      v = PIC_POLL_INT | irq;
    }
    this.update();
    return v;
  }

  /**
   * The one place the cascade request and the INT output are recomputed. The slave's INT drops
   * during each INTA sequence and rises again while it still has a request, so every update with
   * a pending slave request latches master IR2 anew (KVM's pic_update_irq pulses it the same
   * way); this keeps cascaded auto-EOI and special-fully-nested deliveries from being lost.
   */
  private update(): void {
    const slaveInt = this.slave.pending() !== PIC_NO_IRQ;
    this.master.cascadeRequest(slaveInt);
    const out = this.master.pending() !== PIC_NO_IRQ;
    if (out !== this.output) {
      this.output = out;
      this.options.onOutputChange?.(out);
    }
  }

  /** Plain-data copy of both chips. */
  snapshot(): PicSnapshot {
    return structuredClone({ master: this.master.s, slave: this.slave.s });
  }

  /** Restore a snapshot (KVM_SET_IRQCHIP). */
  restore(snap: PicSnapshot): void {
    this.master.s = structuredClone(snap.master);
    this.slave.s = structuredClone(snap.slave);
    this.update();
  }

  /** Power-on reset of both chips (ELCR included). */
  reset(): void {
    this.master.s = picChipPowerOn();
    this.slave.s = picChipPowerOn();
    this.update();
  }
}
