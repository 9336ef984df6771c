import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../bus/fake-clock.js';
import { FakeIrqLine } from '../../bus/fake-irq-line.js';
import { PioBus } from '../../bus/pio-bus.js';
import { MemoryCharBackend } from '../../backends/char/memory-char-backend.js';
import { Uart16550 } from './uart-16550.js';
import { UART_ISA_PORTS } from './uart-registers.js';

/** COM1 on a PIO bus, driven the way guest drivers drive it. */
function com1() {
  const clock = new FakeClock();
  const irq = new FakeIrqLine();
  const backend = new MemoryCharBackend();
  const bus = new PioBus();
  const base = UART_ISA_PORTS.COM1.base;
  bus.register('com1', base, 8, new Uart16550({ irq, clock, backend }));
  const outb = (reg: number, value: number): void => bus.write(base + reg, 1, value);
  const inb = (reg: number): number => bus.read(base + reg, 1);
  return { clock, irq, backend, bus, outb, inb };
}

describe('Uart16550 under guest drivers', () => {
  it('passes the checks of Linux 8250 autoconfig and is identified as a 16550A', () => {
    const { outb, inb } = com1();
    // Scratch and IER read-back checks.
    outb(7, 0xa5);
    expect(inb(7)).toBe(0xa5);
    outb(1, 0);
    expect(inb(1) & 0x0f).toBe(0);
    outb(1, 0x0f);
    expect(inb(1) & 0x0f).toBe(0x0f);
    outb(1, 0);
    // Loopback check: MCR = LOOP | OUT2 | RTS must show DCD | CTS in MSR.
    outb(4, 0x1a);
    expect(inb(6) & 0xf0).toBe(0x90);
    outb(4, 0x08);
    // FIFO detection: bits 7:6 of IIR = 11 is a 16550A.
    outb(2, 0x07);
    expect(inb(2) >> 6).toBe(3);
    // 16750 probe: 64-byte FIFO enable (FCR bit 5) must not stick on a 16550A.
    outb(3, 0xbf);
    outb(2, 0x21);
    outb(3, 0);
    expect((inb(2) >> 5) & 1).toBe(0);
    // No UART reads LSR as 0xFF; this one has an empty transmitter.
    expect(inb(5)).toBe(0x60);
  });

  it('interrupts as the Linux startup TX-IRQ test expects (no UART_BUG_TXEN)', () => {
    const { outb, inb, irq } = com1();
    outb(1, 0x02);
    const lsr = inb(5);
    const iir = inb(2);
    outb(1, 0);
    expect(lsr & 0x40).toBe(0x40);
    expect(iir & 0x01).toBe(0);
    expect(irq.risingEdges()).toBe(1);
  });

  it('prints through the common hobby-kernel init and polled output', () => {
    const { outb, inb, backend } = com1();
    outb(1, 0x00); // IER off
    outb(3, 0x80); // DLAB
    outb(0, 0x03); // 38400 baud
    outb(1, 0x00);
    outb(3, 0x03); // 8N1
    outb(2, 0xc7); // FIFO on, clear, 14-byte trigger
    outb(4, 0x0b); // DTR, RTS, OUT2
    for (const c of 'PASS\n') {
      while ((inb(5) & 0x20) === 0) {
        // wait for THRE
      }
      outb(0, c.charCodeAt(0));
    }
    expect(backend.text()).toBe('PASS\n');
  });

  it('delivers typed input through the receive interrupt', () => {
    const { outb, inb, irq, backend } = com1();
    outb(2, 0x01);
    outb(1, 0x01);
    backend.inject('y');
    expect(irq.level).toBe(true);
    expect(inb(2) & 0x0f).toBe(0x04);
    expect(inb(0)).toBe(0x79);
    expect(irq.level).toBe(false);
  });
});
