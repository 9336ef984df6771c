import type { BusDevice, CharBackend, Clock, IrqLine, Timer } from '../../bus/device.js';
import {
  UART_BASE_BAUD,
  UART_FCR,
  UART_FIFO_LENGTH,
  UART_IER,
  UART_IIR,
  UART_LCR,
  UART_LSR,
  UART_MCR,
  UART_MSR,
  UART_REG,
  UART_RESET,
  UART_RX_TRIGGER_LEVELS,
  UART_TIMEOUT_CHARS,
} from './uart-registers.js';

/** A divisor of 0 stops the baud generator; time it as the slowest rate the latch can hold. */
const SLOWEST_DIVISOR = 0x1_0000;
/** Host input held while the RX FIFO is full; beyond this the guest is not reading and input is dropped. */
const HOST_QUEUE_LIMIT = 64 * 1024;
const NS_PER_SECOND = 1_000_000_000;

/** Construction parameters of a Uart16550. */
export interface Uart16550Options {
  irq: IrqLine;
  clock: Clock;
  backend: CharBackend;
  /** Rate at divisor 1 (default 115200: the PC's 1.8432 MHz crystal / 16). */
  baseBaud?: number;
}

/** Counters for --stats and tests. */
export interface Uart16550Stats {
  txBytes: number;
  rxBytes: number;
  /** Bytes lost to RX overrun (LSR.OE). */
  overruns: number;
  /** Host input dropped because the host-side queue was full. */
  droppedInput: number;
}

/**
 * A 16550A UART (PC16550D datasheet; behaviour follows QEMU hw/char/serial.c, facts.md §5.1).
 *
 * - Transmission is immediate: a byte written to THR goes to the backend (or, in loopback, to
 *   the receiver) during the write, and THRE/TEMT are set again before the write returns, so the
 *   TX FIFO never holds data. As in QEMU the byte is sent unmasked whatever the word length.
 * - Reception: backend input waits in a host-side queue and is moved into the RX FIFO (16 bytes,
 *   or the single RBR with FIFOs off) only when there is room, like QEMU's can_receive, so a
 *   paste loses nothing. Overrun (OE) can therefore only come from loopback traffic.
 * - Character timeout: 4 character times at the programmed rate after the last byte received or
 *   read, with data left in the FIFO, raise the CTI interrupt (injected Clock).
 * - The interrupt output is gated by MCR.OUT2, as the PC's ISA wiring does.
 */
export class Uart16550 implements BusDevice {
  readonly stats: Uart16550Stats = { txBytes: 0, rxBytes: 0, overruns: 0, droppedInput: 0 };

  private readonly irq: IrqLine;
  private readonly clock: Clock;
  private readonly backend: CharBackend;
  private readonly baseBaud: number;
  private readonly timeoutTimer: Timer;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsr = 0;
  private msr = 0;
  private scr = 0;
  private fcr = 0;
  private divisor = 0;
  /** Source currently reported by IIR bits 3:0. */
  private iirId: number = UART_IIR.NO_INT;
  private thrPending = false;
  private timeoutPending = false;
  private irqLevel = false;

  /** RX FIFO as a ring; with FIFOs off only one slot is used (the RBR). */
  private readonly rxData = new Uint8Array(UART_FIFO_LENGTH);
  /** Per-byte error flags (LSR.BI) travelling with each byte, for LSR bit 7. */
  private readonly rxErrors = new Uint8Array(UART_FIFO_LENGTH);
  private rxHead = 0;
  private rxCount = 0;
  private rxErrorCount = 0;
  /** What RBR reads when the FIFO is empty (the last byte, as a real RBR keeps it). */
  private lastRbr = 0;

  /** Host input waiting for FIFO room. */
  private hostQueue: Uint8Array[] = [];
  private hostQueueOffset = 0;
  private hostQueueBytes = 0;

  constructor(options: Uart16550Options) {
    this.irq = options.irq;
    this.clock = options.clock;
    this.backend = options.backend;
    this.baseBaud = options.baseBaud ?? UART_BASE_BAUD;
    this.timeoutTimer = this.clock.timer(() => this.onCharacterTimeout());
    this.reset();
    this.backend.onInput((data) => this.hostInput(data));
  }

  /** Power-on/reset state (QEMU serial_reset). Host input already queued is kept. */
  reset(): void {
    this.ier = UART_RESET.IER;
    this.lcr = UART_RESET.LCR;
    this.mcr = UART_RESET.MCR;
    this.lsr = UART_RESET.LSR;
    this.msr = UART_RESET.MSR;
    this.scr = 0;
    this.fcr = 0;
    this.divisor = UART_RESET.DIVISOR;
    this.thrPending = false;
    this.timeoutPending = false;
    this.clearRxFifo();
    this.lastRbr = 0;
    this.updateIrq();
    this.drainHostQueue();
  }

  /** Wider accesses are split into byte accesses at consecutive offsets, as the ISA bus does. */
  read(offset: number, size: number): number {
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.readRegister((offset + i) & 7) << (8 * i);
    return value >>> 0;
  }

  write(offset: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.writeRegister((offset + i) & 7, (value >>> (8 * i)) & 0xff);
  }

  /** Current baud rate (divisor 0 counts as the slowest rate). */
  baudRate(): number {
    return this.baseBaud / (this.divisor === 0 ? SLOWEST_DIVISOR : this.divisor);
  }

  /** Time one character takes on the line in the current format: start + data + parity + stop bits. */
  characterTimeNs(): number {
    const dataBits = 5 + (this.lcr & UART_LCR.WLS_MASK);
    const parityBits = this.lcr & UART_LCR.PEN ? 1 : 0;
    const stopBits = this.lcr & UART_LCR.STB ? (dataBits === 5 ? 1.5 : 2) : 1;
    return Math.round(((1 + dataBits + parityBits + stopBits) * NS_PER_SECOND) / this.baudRate());
  }

  private readRegister(reg: number): number {
    const dlab = (this.lcr & UART_LCR.DLAB) !== 0;
    switch (reg) {
      case UART_REG.RBR:
        return dlab ? this.divisor & 0xff : this.readRbr();
      case UART_REG.IER:
        return dlab ? this.divisor >>> 8 : this.ier;
      case UART_REG.IIR: {
        const value = this.iirId | (this.fifoEnabled() ? UART_IIR.FIFO_ENABLED : 0);
        // Reading IIR while it names THRE acknowledges that interrupt.
        if (this.iirId === UART_IIR.THRI) {
          this.thrPending = false;
          this.updateIrq();
        }
        return value;
      }
      case UART_REG.LCR:
        return this.lcr;
      case UART_REG.MCR:
        return this.mcr;
      case UART_REG.LSR: {
        const value = this.lsr | (this.fifoEnabled() && this.rxErrorCount > 0 ? UART_LSR.FIFO_ERR : 0);
        // OE and BI are cleared by reading LSR.
        if (this.lsr & (UART_LSR.OE | UART_LSR.BI)) {
          this.lsr &= ~(UART_LSR.OE | UART_LSR.BI);
          this.updateIrq();
        }
        return value;
      }
      case UART_REG.MSR: {
        const value = this.msr;
        if (this.msr & UART_MSR.ANY_DELTA) {
          this.msr &= UART_MSR.STATUS_MASK;
          this.updateIrq();
        }
        return value;
      }
      case UART_REG.SCR:
        return this.scr;
      default:
        throw new Error(`assertion failed: UART register ${reg}`);
    }
  }

  private writeRegister(reg: number, value: number): void {
    const dlab = (this.lcr & UART_LCR.DLAB) !== 0;
    switch (reg) {
      case UART_REG.THR:
        if (dlab) this.divisor = (this.divisor & 0xff00) | value;
        else this.transmit(value);
        return;
      case UART_REG.IER:
        if (dlab) this.divisor = (this.divisor & 0x00ff) | (value << 8);
        else this.writeIer(value);
        return;
      case UART_REG.FCR:
        this.writeFcr(value);
        return;
      case UART_REG.LCR: {
        const breakStarts = (value & UART_LCR.SB) !== 0 && (this.lcr & UART_LCR.SB) === 0;
        this.lcr = value;
        // In loopback the receiver sees the transmitter's break condition.
        if (breakStarts && this.loopback()) this.receiveBreak();
        return;
      }
      case UART_REG.MCR:
        this.writeMcr(value);
        return;
      case UART_REG.LSR:
      case UART_REG.MSR:
        return; // factory-test writes: ignored, as QEMU does
      case UART_REG.SCR:
        this.scr = value;
        return;
      default:
        throw new Error(`assertion failed: UART register ${reg}`);
    }
  }

  private readRbr(): number {
    if (this.rxCount > 0) {
      const at = this.rxHead;
      this.lastRbr = this.rxData[at] ?? 0;
      if (this.rxErrors[at]) this.rxErrorCount--;
      this.rxHead = (at + 1) % UART_FIFO_LENGTH;
      this.rxCount--;
    }
    if (this.rxCount === 0) {
      this.lsr &= ~(UART_LSR.DR | UART_LSR.BI);
      this.timeoutTimer.cancel();
    } else if (this.fifoEnabled()) {
      this.armCharacterTimeout();
    }
    this.timeoutPending = false;
    this.updateIrq();
    this.drainHostQueue();
    return this.lastRbr;
  }

  private writeIer(value: number): void {
    const changed = (this.ier ^ value) & UART_IER.MASK;
    this.ier = value & UART_IER.MASK;
    // Enabling THRI with the holding register empty raises THRE at once (the driver relies on it).
    if (changed & UART_IER.THRI) this.thrPending = (this.ier & UART_IER.THRI) !== 0 && (this.lsr & UART_LSR.THRE) !== 0;
    this.updateIrq();
  }

  private writeFcr(value: number): void {
    // Toggling FIFO enable flushes both FIFOs.
    if ((value ^ this.fcr) & UART_FCR.FE) {
      this.clearRxFifo();
      this.transmitterEmpty();
    }
    if (value & UART_FCR.RFR) this.clearRxFifo();
    if (value & UART_FCR.XFR) this.transmitterEmpty();
    this.fcr = value & UART_FCR.KEPT;
    this.updateIrq();
    this.drainHostQueue();
  }

  private writeMcr(value: number): void {
    const wasLoopback = this.loopback();
    this.mcr = value & UART_MCR.MASK;
    this.setModemStatus(this.loopback() ? this.loopbackModemStatus() : UART_RESET.MSR);
    this.updateIrq();
    if (wasLoopback && !this.loopback()) this.drainHostQueue();
  }

  /** MSR line bits in loopback: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD (datasheet 8.6.4). */
  private loopbackModemStatus(): number {
    return (
      (this.mcr & UART_MCR.DTR ? UART_MSR.DSR : 0) |
      (this.mcr & UART_MCR.RTS ? UART_MSR.CTS : 0) |
      (this.mcr & UART_MCR.OUT1 ? UART_MSR.RI : 0) |
      (this.mcr & UART_MCR.OUT2 ? UART_MSR.DCD : 0)
    );
  }

  /** Set the MSR line bits and accumulate the delta bits their changes imply. */
  private setModemStatus(lines: number): void {
    const old = this.msr;
    const changed = (old ^ lines) & UART_MSR.STATUS_MASK;
    let deltas = old & UART_MSR.ANY_DELTA;
    if (changed & UART_MSR.CTS) deltas |= UART_MSR.DCTS;
    if (changed & UART_MSR.DSR) deltas |= UART_MSR.DDSR;
    if (changed & UART_MSR.DCD) deltas |= UART_MSR.DDCD;
    // RI reports only its trailing (1 → 0) edge.
    if (old & UART_MSR.RI && !(lines & UART_MSR.RI)) deltas |= UART_MSR.TERI;
    this.msr = lines | deltas;
  }

  private transmit(byte: number): void {
    // THR is full for the duration of the write: the pending THRE interrupt is withdrawn...
    this.thrPending = false;
    this.lsr &= ~(UART_LSR.THRE | UART_LSR.TEMT);
    this.updateIrq();
    this.stats.txBytes++;
    if (this.loopback()) this.receiveByte(byte, 0);
    else this.backend.write(Uint8Array.of(byte));
    // ...and re-armed once the byte has left (transmission is immediate).
    this.transmitterEmpty();
    this.updateIrq();
  }

  /** TX FIFO and shift register empty: THRE and TEMT set, THRE interrupt pending. */
  private transmitterEmpty(): void {
    this.lsr |= UART_LSR.THRE | UART_LSR.TEMT;
    this.thrPending = true;
  }

  private hostInput(data: Uint8Array): void {
    if (data.length === 0) return;
    const room = HOST_QUEUE_LIMIT - this.hostQueueBytes;
    if (data.length > room) this.stats.droppedInput += data.length - Math.max(room, 0);
    if (room <= 0) return;
    const kept = data.length > room ? data.subarray(0, room) : data;
    this.hostQueue.push(kept.slice());
    this.hostQueueBytes += kept.length;
    this.drainHostQueue();
  }

  /** Move queued host input into the receiver while it has room (QEMU serial_can_receive). */
  private drainHostQueue(): void {
    // In loopback the receiver is disconnected from the outside line.
    if (this.loopback() || this.hostQueueBytes === 0) return;
    let moved = false;
    while (this.hostQueueBytes > 0 && this.rxCount < this.rxCapacity()) {
      const chunk = this.hostQueue[0];
      if (chunk === undefined) break;
      this.receiveByte(chunk[this.hostQueueOffset] ?? 0, 0, false);
      moved = true;
      this.hostQueueBytes--;
      if (++this.hostQueueOffset >= chunk.length) {
        this.hostQueue.shift();
        this.hostQueueOffset = 0;
      }
    }
    if (moved) this.updateIrq();
  }

  /** A character arrives at the receiver. */
  private receiveByte(byte: number, errors: number, update = true): void {
    this.stats.rxBytes++;
    if (this.rxCount >= this.rxCapacity()) {
      this.stats.overruns++;
      this.lsr |= UART_LSR.OE;
      if (this.fifoEnabled()) {
        // 16550 FIFO mode: the FIFO keeps its contents and the new character is lost.
        if (update) this.updateIrq();
        return;
      }
      // 16450 mode: the new character overwrites RBR.
      this.clearRxFifo();
    }
    const at = (this.rxHead + this.rxCount) % UART_FIFO_LENGTH;
    this.rxData[at] = byte;
    this.rxErrors[at] = errors;
    if (errors) this.rxErrorCount++;
    this.rxCount++;
    this.lsr |= UART_LSR.DR | errors;
    if (this.fifoEnabled()) this.armCharacterTimeout();
    if (update) this.updateIrq();
  }

  /** Break condition: a NUL character with BI (datasheet 8.6.3). */
  private receiveBreak(): void {
    this.receiveByte(0, UART_LSR.BI);
  }

  private clearRxFifo(): void {
    this.rxHead = 0;
    this.rxCount = 0;
    this.rxErrors.fill(0);
    this.rxErrorCount = 0;
    this.lsr &= ~(UART_LSR.DR | UART_LSR.BI);
    this.timeoutPending = false;
    this.timeoutTimer.cancel();
  }

  private armCharacterTimeout(): void {
    this.timeoutTimer.arm(this.clock.now() + UART_TIMEOUT_CHARS * this.characterTimeNs());
  }

  private onCharacterTimeout(): void {
    if (this.rxCount > 0 && this.fifoEnabled()) {
      this.timeoutPending = true;
      this.updateIrq();
    }
  }

  private fifoEnabled(): boolean {
    return (this.fcr & UART_FCR.FE) !== 0;
  }

  private rxCapacity(): number {
    return this.fifoEnabled() ? UART_FIFO_LENGTH : 1;
  }

  private rxTriggerLevel(): number {
    return UART_RX_TRIGGER_LEVELS[(this.fcr & UART_FCR.ITL_MASK) >>> UART_FCR.ITL_SHIFT] ?? 1;
  }

  private loopback(): boolean {
    return (this.mcr & UART_MCR.LOOP) !== 0;
  }

  /** The only place the IRQ line changes: pick the highest-priority enabled source (datasheet table 4). */
  private updateIrq(): void {
    let id: number = UART_IIR.NO_INT;
    if (this.ier & UART_IER.RLSI && this.lsr & UART_LSR.INT_ANY) id = UART_IIR.RLSI;
    else if (this.ier & UART_IER.RDI && this.timeoutPending) id = UART_IIR.CTI;
    else if (this.ier & UART_IER.RDI && this.lsr & UART_LSR.DR && (!this.fifoEnabled() || this.rxCount >= this.rxTriggerLevel()))
      id = UART_IIR.RDI;
    else if (this.ier & UART_IER.THRI && this.thrPending) id = UART_IIR.THRI;
    else if (this.ier & UART_IER.MSI && this.msr & UART_MSR.ANY_DELTA) id = UART_IIR.MSI;
    this.iirId = id;
    const level = id !== UART_IIR.NO_INT && (this.mcr & UART_MCR.OUT2) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }
}
