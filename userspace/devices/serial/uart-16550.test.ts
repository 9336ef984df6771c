import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../bus/fake-clock.js';
import { FakeIrqLine } from '../../bus/fake-irq-line.js';
import { MemoryCharBackend } from '../../backends/char/memory-char-backend.js';
import { Uart16550 } from './uart-16550.js';
import { UART_FCR, UART_IER, UART_IIR, UART_LCR, UART_LSR, UART_MCR, UART_MSR, UART_REG } from './uart-registers.js';

function setup() {
  const clock = new FakeClock();
  const irq = new FakeIrqLine();
  const backend = new MemoryCharBackend();
  const uart = new Uart16550({ irq, clock, backend });
  const inb = (reg: number): number => uart.read(reg, 1);
  const outb = (reg: number, value: number): void => uart.write(reg, 1, value);
  return { clock, irq, backend, uart, inb, outb };
}

/** Enter loopback with OUT2 kept so the IRQ line stays connected. */
const LOOP = UART_MCR.LOOP | UART_MCR.OUT2;

describe('Uart16550 registers', () => {
  it('resets to QEMU values', () => {
    const { inb, irq } = setup();
    expect(inb(UART_REG.IER)).toBe(0);
    expect(inb(UART_REG.IIR)).toBe(UART_IIR.NO_INT);
    expect(inb(UART_REG.LCR)).toBe(0);
    expect(inb(UART_REG.MCR)).toBe(UART_MCR.OUT2);
    expect(inb(UART_REG.LSR)).toBe(UART_LSR.THRE | UART_LSR.TEMT);
    expect(inb(UART_REG.MSR)).toBe(0xb0);
    expect(irq.history).toEqual([]);
  });

  it('keeps the scratch register and ignores writes to LSR and MSR', () => {
    const { inb, outb } = setup();
    outb(UART_REG.SCR, 0x5a);
    outb(UART_REG.LSR, 0xff);
    outb(UART_REG.MSR, 0x00);
    expect(inb(UART_REG.SCR)).toBe(0x5a);
    expect(inb(UART_REG.LSR)).toBe(0x60);
    expect(inb(UART_REG.MSR)).toBe(0xb0);
  });

  it('reaches the divisor latch through DLAB and leaves RBR/IER alone', () => {
    const { uart, inb, outb, backend } = setup();
    expect(uart.baudRate()).toBe(9600);
    outb(UART_REG.LCR, UART_LCR.DLAB | 0x03);
    outb(UART_REG.DLL, 0x01);
    outb(UART_REG.DLM, 0x00);
    expect(inb(UART_REG.DLL)).toBe(1);
    expect(inb(UART_REG.DLM)).toBe(0);
    outb(UART_REG.LCR, 0x03);
    expect(uart.baudRate()).toBe(115200);
    expect(inb(UART_REG.IER)).toBe(0); // the DLM write did not reach IER
    expect(backend.text()).toBe(''); // nor did the DLL write transmit
    outb(UART_REG.LCR, UART_LCR.DLAB);
    outb(UART_REG.DLM, 0x04);
    expect(inb(UART_REG.DLM)).toBe(4);
    expect(inb(UART_REG.DLL)).toBe(1);
    expect(uart.baudRate()).toBe(115200 / 0x401);
  });

  it('survives divisor 0 by timing at the slowest rate', () => {
    const { uart, outb, clock, backend, irq } = setup();
    outb(UART_REG.LCR, UART_LCR.DLAB);
    outb(UART_REG.DLL, 0);
    outb(UART_REG.DLM, 0);
    outb(UART_REG.LCR, 0x03); // 8N1: 10 bits a character
    expect(uart.baudRate()).toBe(115200 / 65536);
    expect(uart.characterTimeNs()).toBe(Math.round((10 * 1e9 * 65536) / 115200));
    outb(UART_REG.FCR, UART_FCR.FE | 0xc0);
    outb(UART_REG.IER, UART_IER.RDI);
    backend.inject('x');
    clock.step(4 * uart.characterTimeNs() - 1);
    expect(irq.level).toBe(false);
    clock.step(1);
    expect(irq.level).toBe(true);
  });

  it('computes the character time from the line format', () => {
    const { uart, outb } = setup();
    outb(UART_REG.LCR, UART_LCR.DLAB);
    outb(UART_REG.DLL, 1);
    outb(UART_REG.LCR, 0x03 | UART_LCR.PEN | UART_LCR.STB); // 8E2: 1 + 8 + 1 + 2 bits
    expect(uart.characterTimeNs()).toBe(Math.round((12 * 1e9) / 115200));
    outb(UART_REG.LCR, 0x00 | UART_LCR.STB); // 5 data bits with 1.5 stop bits
    expect(uart.characterTimeNs()).toBe(Math.round((7.5 * 1e9) / 115200));
  });

  it('splits a wide access into byte accesses', () => {
    const { uart, outb } = setup();
    outb(UART_REG.SCR, 0x77);
    expect(uart.read(UART_REG.LSR, 2)).toBe(0xb060); // LSR then MSR
    uart.write(UART_REG.LCR, 2, 0x0b03); // LCR = 3, MCR = 0x0b
    expect(uart.read(UART_REG.LCR, 1)).toBe(3);
    expect(uart.read(UART_REG.MCR, 1)).toBe(0x0b);
  });
});

describe('Uart16550 transmit and THRE interrupt', () => {
  it('sends each THR byte to the backend at once with THRE and TEMT set again', () => {
    const { inb, outb, backend } = setup();
    for (const c of 'hi\n') outb(UART_REG.THR, c.charCodeAt(0));
    expect(backend.text()).toBe('hi\n');
    expect(inb(UART_REG.LSR) & (UART_LSR.THRE | UART_LSR.TEMT)).toBe(UART_LSR.THRE | UART_LSR.TEMT);
  });

  it('raises THRE when enabled, clears it on IIR read, re-arms it after a THR write', () => {
    const { inb, outb, irq } = setup();
    outb(UART_REG.IER, UART_IER.THRI);
    expect(irq.level).toBe(true);
    expect(inb(UART_REG.IIR)).toBe(UART_IIR.THRI);
    expect(irq.level).toBe(false); // reading IIR acknowledged THRE
    expect(inb(UART_REG.IIR)).toBe(UART_IIR.NO_INT);
    irq.clear();
    outb(UART_REG.THR, 0x41);
    // The line stayed low during the write (THR full), then rose when the byte left.
    expect(irq.history).toEqual([true]);
    expect(irq.level).toBe(true);
    // Writing THR while THRE is pending withdraws it, then it comes back: a new edge.
    irq.clear();
    outb(UART_REG.THR, 0x42);
    expect(irq.history).toEqual([false, true]);
    expect(irq.risingEdges()).toBe(1);
  });

  it('drops a pending THRE when THRI is disabled', () => {
    const { inb, outb, irq } = setup();
    outb(UART_REG.IER, UART_IER.THRI);
    outb(UART_REG.IER, 0);
    expect(irq.level).toBe(false);
    expect(inb(UART_REG.IIR)).toBe(UART_IIR.NO_INT);
  });

  it('gates the interrupt output with MCR.OUT2 as a PC does', () => {
    const { inb, outb, irq } = setup();
    outb(UART_REG.MCR, 0);
    outb(UART_REG.IER, UART_IER.THRI);
    expect(irq.level).toBe(false);
    // IIR is inside the chip: it still names THRE while the pin is gated off.
    expect(inb(UART_REG.IIR)).toBe(UART_IIR.THRI);
    outb(UART_REG.IER, 0);
    outb(UART_REG.IER, UART_IER.THRI);
    outb(UART_REG.MCR, UART_MCR.OUT2);
    expect(irq.level).toBe(true);
  });

  it('re-arms THRE on a TX FIFO reset', () => {
    const { inb, outb, irq } = setup();
    outb(UART_REG.IER, UART_IER.THRI);
    inb(UART_REG.IIR);
    expect(irq.level).toBe(false);
    outb(UART_REG.FCR, UART_FCR.XFR);
    expect(irq.level).toBe(true);
  });
});

describe('Uart16550 receive', () => {
  it('receives host input, sets DR and interrupts with FIFOs off', () => {
    const { inb, outb, irq, backend } = setup();
    outb(UART_REG.IER, UART_IER.RDI);
    backend.inject('A');
    expect(irq.level).toBe(true);
    expect(inb(UART_REG.IIR)).toBe(UART_IIR.RDI);
    expect(inb(UART_REG.LSR) & UART_LSR.DR).toBe(UART_LSR.DR);
    expect(inb(UART_REG.RBR)).toBe(0x41);
    expect(inb(UART_REG.LSR) & UART_LSR.DR).toBe(0);
    expect(irq.level).toBe(false);
  });

  it('holds excess host input until the receiver has room (nothing lost on paste)', () => {
    const { inb, outb, backend, uart } = setup();
    const pasted = 'The quick brown fox jumps over the lazy dog, twice over.';
    backend.inject(pasted);
    let got = '';
    while (inb(UART_REG.LSR) & UART_LSR.DR) got += String.fromCharCode(inb(UART_REG.RBR));
    expect(got).toBe(pasted);
    outb(UART_REG.FCR, UART_FCR.FE);
    backend.inject(pasted);
    got = '';
    while (inb(UART_REG.LSR) & UART_LSR.DR) got += String.fromCharCode(inb(UART_REG.RBR));
    expect(got).toBe(pasted);
    expect(uart.stats.overruns).toBe(0);
    expect(inb(UART_REG.LSR) & UART_LSR.OE).toBe(0);
  });

  it.each([
    [0x00, 1],
    [0x40, 4],
    [0x80, 8],
    [0xc0, 14],
  ])('FCR %i raises RDI at the trigger level %i', (itl, level) => {
    const { inb, outb, irq, backend } = setup();
    outb(UART_REG.FCR, UART_FCR.FE | itl);
    outb(UART_REG.IER, UART_IER.RDI);
    for (let i = 0; i < level - 1; i++) backend.inject(Uint8Array.of(0x30 + i));
    expect(irq.level).toBe(false);
    expect(inb(UART_REG.IIR)).toBe(UART_IIR.NO_INT | UART_IIR.FIFO_ENABLED);
    backend.inject(Uint8Array.of(0x7e));
    expect(irq.level).toBe(true);
    expect(inb(UART_REG.IIR)).toBe(UART_IIR.RDI | UART_IIR.FIFO_ENABLED);
    inb(UART_REG.RBR); // one below the level again
    expect(irq.level).toBe(false);
  });

  it('raises the character timeout after 4 character times below the trigger level', () => {
    const { uart, inb, outb, irq, backend, clock } = setup();
    outb(UART_REG.LCR, UART_LCR.DLAB);
    outb(UART_REG.DLL, 1);
    outb(UART_REG.LCR, 0x03);
    outb(UART_REG.FCR, UART_FCR.FE | 0xc0); // trigger at 14
    outb(UART_REG.IER, UART_IER.RDI);
    backend.inject('ab');
    const timeout = 4 * uart.characterTimeNs();
    expect(timeout).toBe(Math.round((10 * 1e9) / 115200) * 4);
    clock.step(timeout - 1);
    expect(irq.level).toBe(false);
    clock.step(1);
    expect(irq.level).toBe(true);
    expect(inb(UART_REG.IIR)).toBe(UART_IIR.CTI | UART_IIR.FIFO_ENABLED);
    // Reading a byte clears the timeout and restarts the 4-character wait for the rest.
    expect(inb(UART_REG.RBR)).toBe(0x61);
    expect(irq.level).toBe(false);
    clock.step(timeout - 1);
    expect(irq.level).toBe(false);
    clock.step(1);
    expect(irq.level).toBe(true);
    expect(inb(UART_REG.RBR)).toBe(0x62);
    expect(irq.level).toBe(false);
    clock.step(10 * timeout); // empty FIFO: no timeout
    expect(irq.level).toBe(false);
    expect(clock.armedCount()).toBe(0);
  });

  it('clears the RX FIFO on FCR RFR and when FIFO enable toggles', () => {
    const { inb, outb, backend } = setup();
    outb(UART_REG.FCR, UART_FCR.FE);
    outb(UART_REG.MCR, LOOP);
    outb(UART_REG.THR, 1);
    outb(UART_REG.THR, 2);
    outb(UART_REG.FCR, UART_FCR.FE | UART_FCR.RFR);
    expect(inb(UART_REG.LSR) & UART_LSR.DR).toBe(0);
    outb(UART_REG.THR, 3);
    outb(UART_REG.FCR, 0); // FIFO off: flush
    expect(inb(UART_REG.LSR) & UART_LSR.DR).toBe(0);
    expect(inb(UART_REG.IIR) & UART_IIR.FIFO_ENABLED).toBe(0);
    expect(backend.text()).toBe('');
  });
});

describe('Uart16550 loopback, overrun, line status and priorities', () => {
  it('loops THR back to RBR without touching the backend', () => {
    const { inb, outb, backend } = setup();
    outb(UART_REG.MCR, LOOP);
    outb(UART_REG.THR, 0x55);
    expect(inb(UART_REG.LSR) & UART_LSR.DR).toBe(UART_LSR.DR);
    expect(inb(UART_REG.RBR)).toBe(0x55);
    expect(backend.text()).toBe('');
  });

  it('keeps host input out of the receiver while in loopback', () => {
    const { inb, outb, backend } = setup();
    outb(UART_REG.MCR, LOOP);
    backend.inject('z');
    expect(inb(UART_REG.LSR) & UART_LSR.DR).toBe(0);
    outb(UART_REG.MCR, UART_MCR.OUT2);
    expect(inb(UART_REG.RBR)).toBe(0x7a);
  });

  it('overruns the 16-byte FIFO: OE set, the 17th byte dropped, OE cleared by reading LSR', () => {
    const { uart, inb, outb } = setup();
    outb(UART_REG.FCR, UART_FCR.FE);
    outb(UART_REG.MCR, LOOP);
    for (let i = 0; i < 17; i++) outb(UART_REG.THR, 0x40 + i);
    const lsr = inb(UART_REG.LSR);
    expect(lsr & UART_LSR.OE).toBe(UART_LSR.OE);
    expect(inb(UART_REG.LSR) & UART_LSR.OE).toBe(0);
    const got: number[] = [];
    while (inb(UART_REG.LSR) & UART_LSR.DR) got.push(inb(UART_REG.RBR));
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => 0x40 + i));
    expect(uart.stats.overruns).toBe(1);
  });

  it('overwrites RBR on overrun with FIFOs off (16450 mode)', () => {
    const { inb, outb } = setup();
    outb(UART_REG.MCR, LOOP);
    outb(UART_REG.THR, 1);
    outb(UART_REG.THR, 2);
    expect(inb(UART_REG.LSR) & UART_LSR.OE).toBe(UART_LSR.OE);
    expect(inb(UART_REG.RBR)).toBe(2);
    expect(inb(UART_REG.LSR) & UART_LSR.DR).toBe(0);
  });

  it('receives a break in loopback: NUL with BI, FIFO error bit while it is queued', () => {
    const { inb, outb } = setup();
    outb(UART_REG.FCR, UART_FCR.FE);
    outb(UART_REG.MCR, LOOP);
    outb(UART_REG.THR, 0x31);
    outb(UART_REG.LCR, 0x03 | UART_LCR.SB);
    outb(UART_REG.LCR, 0x03);
    const lsr = inb(UART_REG.LSR);
    expect(lsr & (UART_LSR.BI | UART_LSR.FIFO_ERR | UART_LSR.DR)).toBe(UART_LSR.BI | UART_LSR.FIFO_ERR | UART_LSR.DR);
    expect(inb(UART_REG.LSR) & UART_LSR.BI).toBe(0); // BI cleared by the read
    expect(inb(UART_REG.RBR)).toBe(0x31);
    expect(inb(UART_REG.LSR) & UART_LSR.FIFO_ERR).toBe(UART_LSR.FIFO_ERR); // break char still queued
    expect(inb(UART_REG.RBR)).toBe(0);
    expect(inb(UART_REG.LSR) & UART_LSR.FIFO_ERR).toBe(0);
  });

  it('mirrors MCR onto MSR in loopback with delta bits and a modem-status interrupt', () => {
    const { inb, outb, irq } = setup();
    outb(UART_REG.IER, UART_IER.MSI);
    outb(UART_REG.MCR, LOOP); // CTS, DSR off; DCD stays (OUT2); RI off
    expect(irq.level).toBe(true);
    expect(inb(UART_REG.IIR)).toBe(UART_IIR.MSI);
    expect(inb(UART_REG.MSR)).toBe(UART_MSR.DCD | UART_MSR.DCTS | UART_MSR.DDSR);
    expect(irq.level).toBe(false); // reading MSR cleared the deltas
    outb(UART_REG.MCR, LOOP | UART_MCR.DTR | UART_MCR.RTS | UART_MCR.OUT1);
    expect(inb(UART_REG.MSR)).toBe(UART_MSR.DCD | UART_MSR.RI | UART_MSR.DSR | UART_MSR.CTS | UART_MSR.DCTS | UART_MSR.DDSR);
    outb(UART_REG.MCR, LOOP | UART_MCR.DTR | UART_MCR.RTS); // RI falls: trailing edge
    expect(inb(UART_REG.MSR)).toBe(UART_MSR.DCD | UART_MSR.DSR | UART_MSR.CTS | UART_MSR.TERI);
    expect(inb(UART_REG.MSR)).toBe(UART_MSR.DCD | UART_MSR.DSR | UART_MSR.CTS);
  });

  it('reports sources in priority order: line status > timeout > data > THRE > modem status', () => {
    const { inb, outb, clock } = setup();
    outb(UART_REG.FCR, UART_FCR.FE | 0x40); // trigger at 4
    outb(UART_REG.MCR, LOOP);
    outb(UART_REG.IER, UART_IER.MASK); // THRE and modem status now pending
    expect(inb(UART_REG.IIR) & UART_IIR.ID_MASK).toBe(UART_IIR.THRI); // read acknowledges THRE
    expect(inb(UART_REG.IIR) & UART_IIR.ID_MASK).toBe(UART_IIR.MSI);
    for (let i = 0; i < 4; i++) outb(UART_REG.THR, i); // fills to the trigger, THRE re-armed each time
    for (let i = 0; i < 13; i++) outb(UART_REG.THR, 0x10 + i); // overrun
    clock.step(1e9); // and a character timeout
    expect(inb(UART_REG.IIR) & UART_IIR.ID_MASK).toBe(UART_IIR.RLSI);
    inb(UART_REG.LSR);
    expect(inb(UART_REG.IIR) & UART_IIR.ID_MASK).toBe(UART_IIR.CTI);
    inb(UART_REG.RBR); // clears the timeout, 15 left, above the trigger
    expect(inb(UART_REG.IIR) & UART_IIR.ID_MASK).toBe(UART_IIR.RDI);
    while (inb(UART_REG.LSR) & UART_LSR.DR) inb(UART_REG.RBR);
    expect(inb(UART_REG.IIR) & UART_IIR.ID_MASK).toBe(UART_IIR.THRI);
    expect(inb(UART_REG.IIR) & UART_IIR.ID_MASK).toBe(UART_IIR.MSI);
    inb(UART_REG.MSR);
    expect(inb(UART_REG.IIR)).toBe(UART_IIR.NO_INT | UART_IIR.FIFO_ENABLED);
  });
});
