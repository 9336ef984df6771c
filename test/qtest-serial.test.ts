/**
 * qtest of the 16550A UART on COM1 in the real device-model process, register by register
 * (PC16550D datasheet; QEMU tests/qtest/... and hw/char/serial.c for the PC behaviour): scratch,
 * DLAB and divisor, THRE interrupt on IRQ4 and its OUT2 gate, loopback and modem lines, FIFO
 * overrun, IIR priorities, RX trigger levels and character timeout with input fed through a
 * `unix:PATH,server` backend, and output through a `file:PATH` backend.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CharSocket } from './qtest/char-socket.js';
import { QtestClient } from './qtest/qtest-client.js';

/** COM1 (facts.md §5.1). */
const COM1 = { BASE: 0x3f8, IRQ: 4 } as const;
/** Register offsets (datasheet table 2). */
const REG = { RBR: 0, THR: 0, DLL: 0, IER: 1, DLM: 1, IIR: 2, FCR: 2, LCR: 3, MCR: 4, LSR: 5, MSR: 6, SCR: 7 } as const;
const IER = { RDI: 0x01, THRI: 0x02, RLSI: 0x04, MSI: 0x08 } as const;
/** IIR values: bit 0 = none pending, bits 3:1 = source, 7:6 = FIFOs enabled. */
const IIR = { NONE: 0x01, MSI: 0x00, THRI: 0x02, RDI: 0x04, RLSI: 0x06, CTI: 0x0c, FIFO: 0xc0 } as const;
const FCR = { ENABLE: 0x01, CLEAR_RX: 0x02, CLEAR_TX: 0x04, TRIGGER_14: 0xc0, TRIGGER_4: 0x40 } as const;
const LCR = { WORD_8: 0x03, DLAB: 0x80 } as const;
const MCR = { DTR: 0x01, RTS: 0x02, OUT1: 0x04, OUT2: 0x08, LOOP: 0x10 } as const;
const LSR = { DR: 0x01, OE: 0x02, BI: 0x10, THRE: 0x20, TEMT: 0x40 } as const;
const MSR = { DCTS: 0x01, DDSR: 0x02, TERI: 0x04, DDCD: 0x08, CTS: 0x10, DSR: 0x20, RI: 0x40, DCD: 0x80 } as const;
/** LCR bit 6: hold the line in break. */
const LCR_SET_BREAK = 0x40;
/** LSR bit 7: an error character (parity, framing, break) is somewhere in the RX FIFO. */
const LSR_FIFO_ERROR = 0x80;
/** The RX FIFO holds 16 characters. */
const FIFO_SIZE = 16;
/** 1.8432 MHz / 16: the rate at divisor 1. */
const BASE_BAUD = 115_200;
/** Character timeout: 4 character times (datasheet "FIFO Interrupt Mode Operation"). */
const TIMEOUT_CHARS = 4;
/** 8N1: start + 8 data + stop bits per character. */
const BITS_8N1 = 10;

const reg = (r: number): number => COM1.BASE + r;

let client: QtestClient;
let dir: string;
let sock: CharSocket | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tskvm-qtest-serial-'));
});
afterEach(async () => {
  sock?.close();
  sock = undefined;
  await client.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** COM1 with a backend the test holds the other end of. */
async function withSocketBackend(): Promise<CharSocket> {
  const path = join(dir, 'com1.sock');
  client = await QtestClient.start({ devices: [{ type: 'serial', base: COM1.BASE, irq: COM1.IRQ, backend: `unix:${path},server` }] });
  sock = await CharSocket.connect(path);
  return sock;
}

async function withNullBackend(): Promise<void> {
  client = await QtestClient.start({ devices: [{ type: 'serial', base: COM1.BASE, irq: COM1.IRQ, backend: 'null' }] });
}

/** Read RBR `n` times. */
async function readRbr(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await client.inb(reg(REG.RBR)));
  return out;
}

describe('16550A registers', () => {
  it('has the reset values of a PC UART', async () => {
    await withNullBackend();
    expect(await client.inb(reg(REG.IER))).toBe(0);
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.NONE);
    expect(await client.inb(reg(REG.LCR))).toBe(0);
    expect(await client.inb(reg(REG.MCR))).toBe(MCR.OUT2);
    expect(await client.inb(reg(REG.LSR))).toBe(LSR.THRE | LSR.TEMT);
    expect(await client.inb(reg(REG.MSR))).toBe(MSR.DCD | MSR.DSR | MSR.CTS);
    expect(await client.inb(reg(REG.SCR))).toBe(0);
    expect(client.irq(COM1.IRQ)).toBe(false);
  });

  it('keeps every value written to the scratch register', async () => {
    await withNullBackend();
    for (const v of [0x00, 0xff, 0x55, 0xaa, 0x01, 0x80]) {
      await client.outb(reg(REG.SCR), v);
      expect(await client.inb(reg(REG.SCR))).toBe(v);
    }
  });

  it('shows the divisor latch at offsets 0/1 only while DLAB is set', async () => {
    await withNullBackend();
    await client.outb(reg(REG.LCR), LCR.DLAB | LCR.WORD_8);
    // Reset divisor is 12 (9600 baud).
    expect(await client.inb(reg(REG.DLL))).toBe(12);
    expect(await client.inb(reg(REG.DLM))).toBe(0);
    await client.outb(reg(REG.DLL), 0x34);
    await client.outb(reg(REG.DLM), 0x12);
    expect(await client.inb(reg(REG.DLL))).toBe(0x34);
    expect(await client.inb(reg(REG.DLM))).toBe(0x12);
    await client.outb(reg(REG.LCR), LCR.WORD_8);
    // IER was not touched by the DLM write; offset 0 is RBR again (empty).
    expect(await client.inb(reg(REG.IER))).toBe(0);
    expect((await client.inb(reg(REG.LSR))) & LSR.DR).toBe(0);
    await client.outb(reg(REG.IER), IER.RDI);
    await client.outb(reg(REG.LCR), LCR.DLAB | LCR.WORD_8);
    expect(await client.inb(reg(REG.DLM))).toBe(0x12);
    expect(await client.inb(reg(REG.DLL))).toBe(0x34);
    // A 16-bit access at offset 0 under DLAB reads DLL and DLM as one word (ISA byte split).
    expect(await client.inw(reg(REG.DLL))).toBe(0x1234);
  });
});

describe('THRE interrupt on IRQ4', () => {
  it('raises IRQ4 when THRI is enabled, drops it on an IIR read, re-raises after each byte', async () => {
    const far = await withSocketBackend();
    await client.outb(reg(REG.IER), IER.THRI);
    // Posted before the reply (README §4.3): the level is already known here.
    expect(client.irq(COM1.IRQ)).toBe(true);
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.THRI);
    expect(client.irq(COM1.IRQ)).toBe(false);
    // Acknowledged by that read: it now reads "none".
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.NONE);

    const from = client.irqLog.length;
    await client.outb(reg(REG.THR), 0x48);
    await client.outb(reg(REG.THR), 0x69);
    // Each byte withdraws THRE while THR is full and re-raises it once the byte has left.
    expect(client.irqLog.slice(from).map((r) => r.level)).toEqual([true, false, true]);
    expect(client.irq(COM1.IRQ)).toBe(true);
    expect([...(await far.waitForBytes(2))]).toEqual([0x48, 0x69]);
    expect((await client.inb(reg(REG.LSR))) & (LSR.THRE | LSR.TEMT)).toBe(LSR.THRE | LSR.TEMT);
    await client.outb(reg(REG.IER), 0);
    expect(client.irq(COM1.IRQ)).toBe(false);
  });

  it('gates the interrupt with MCR.OUT2 as the PC wiring does, IIR still names the source', async () => {
    await withNullBackend();
    await client.outb(reg(REG.MCR), 0);
    await client.outb(reg(REG.IER), IER.THRI);
    expect(client.irq(COM1.IRQ)).toBe(false);
    await client.outb(reg(REG.MCR), MCR.OUT2);
    expect(client.irq(COM1.IRQ)).toBe(true);
    await client.outb(reg(REG.MCR), 0);
    expect(client.irq(COM1.IRQ)).toBe(false);
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.THRI);
  });
});

describe('loopback and modem lines', () => {
  it('returns transmitted bytes to the receiver and maps MCR onto MSR, nothing leaves the port', async () => {
    const far = await withSocketBackend();
    await client.outb(reg(REG.MCR), MCR.LOOP | MCR.DTR | MCR.RTS);
    // DTR→DSR, RTS→CTS; OUT2 off→DCD falls (delta), RI stays low.
    const msr = await client.inb(reg(REG.MSR));
    expect(msr & 0xf0).toBe(MSR.DSR | MSR.CTS);
    expect(msr & MSR.DDCD).toBe(MSR.DDCD);
    // Deltas clear when MSR is read.
    expect((await client.inb(reg(REG.MSR))) & 0x0f).toBe(0);
    await client.outb(reg(REG.MCR), MCR.LOOP | MCR.OUT1);
    expect((await client.inb(reg(REG.MSR))) & 0xf0).toBe(MSR.RI);
    await client.outb(reg(REG.MCR), MCR.LOOP);
    // RI's trailing edge sets TERI.
    expect((await client.inb(reg(REG.MSR))) & MSR.TERI).toBe(MSR.TERI);

    await client.outb(reg(REG.THR), 0x5a);
    expect((await client.inb(reg(REG.LSR))) & LSR.DR).toBe(LSR.DR);
    expect(await client.inb(reg(REG.RBR))).toBe(0x5a);
    expect((await client.inb(reg(REG.LSR))) & LSR.DR).toBe(0);
    // Leave loopback and send one byte out: only that byte reached the far end.
    await client.outb(reg(REG.MCR), MCR.OUT2);
    await client.outb(reg(REG.THR), 0x21);
    expect([...(await far.waitForBytes(1))]).toEqual([0x21]);
  });

  it('overruns the 16-byte FIFO in loopback: OE set, the 17th byte lost, OE cleared by reading LSR', async () => {
    await withNullBackend();
    await client.outb(reg(REG.FCR), FCR.ENABLE | FCR.CLEAR_RX | FCR.CLEAR_TX);
    await client.outb(reg(REG.MCR), MCR.LOOP | MCR.OUT2);
    await client.outb(reg(REG.IER), IER.RLSI | IER.RDI);
    const bytes = Array.from({ length: FIFO_SIZE + 1 }, (_, i) => 0x40 + i);
    for (const b of bytes) await client.outb(reg(REG.THR), b);
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.FIFO | IIR.RLSI);
    expect(client.irq(COM1.IRQ)).toBe(true);
    expect((await client.inb(reg(REG.LSR))) & (LSR.OE | LSR.DR)).toBe(LSR.OE | LSR.DR);
    expect((await client.inb(reg(REG.LSR))) & LSR.OE).toBe(0);
    // 16 bytes ≥ trigger 1: RDI is next.
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.FIFO | IIR.RDI);
    expect(await readRbr(FIFO_SIZE)).toEqual(bytes.slice(0, FIFO_SIZE));
    expect((await client.inb(reg(REG.LSR))) & LSR.DR).toBe(0);
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.FIFO | IIR.NONE);
    expect(client.irq(COM1.IRQ)).toBe(false);
  });

  it('overruns the single RBR with FIFOs off (16450 mode): the newest byte wins', async () => {
    await withNullBackend();
    await client.outb(reg(REG.MCR), MCR.LOOP);
    await client.outb(reg(REG.THR), 0x11);
    await client.outb(reg(REG.THR), 0x22);
    expect((await client.inb(reg(REG.LSR))) & (LSR.OE | LSR.DR)).toBe(LSR.OE | LSR.DR);
    expect(await client.inb(reg(REG.RBR))).toBe(0x22);
    expect((await client.inb(reg(REG.LSR))) & (LSR.OE | LSR.DR)).toBe(0);
  });

  it('receives the break of a loopback transmitter as a NUL with BI, and LSR bit 7 flags it in FIFO mode', async () => {
    await withNullBackend();
    await client.outb(reg(REG.FCR), FCR.ENABLE);
    await client.outb(reg(REG.MCR), MCR.LOOP | MCR.OUT2);
    await client.outb(reg(REG.IER), IER.RLSI);
    await client.outb(reg(REG.LCR), LCR.WORD_8 | LCR_SET_BREAK);
    expect(client.irq(COM1.IRQ)).toBe(true);
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.FIFO | IIR.RLSI);
    expect(await client.inb(reg(REG.LSR))).toBe(LSR.DR | LSR.BI | LSR.THRE | LSR.TEMT | LSR_FIFO_ERROR);
    // BI is cleared by that read; bit 7 stays while the error byte is in the FIFO.
    expect(await client.inb(reg(REG.LSR))).toBe(LSR.DR | LSR.THRE | LSR.TEMT | LSR_FIFO_ERROR);
    expect(client.irq(COM1.IRQ)).toBe(false);
    expect(await client.inb(reg(REG.RBR))).toBe(0);
    expect(await client.inb(reg(REG.LSR))).toBe(LSR.THRE | LSR.TEMT);
  });

  it('reports sources in priority order: line status, received data, THRE, modem status', async () => {
    await withNullBackend();
    await client.outb(reg(REG.MCR), MCR.LOOP | MCR.OUT2);
    await client.inb(reg(REG.MSR)); // clear the deltas of entering loopback
    await client.outb(reg(REG.THR), 0x31);
    await client.outb(reg(REG.THR), 0x32); // overrun: OE
    await client.outb(reg(REG.MCR), MCR.LOOP | MCR.OUT2 | MCR.RTS); // CTS rises: DCTS
    await client.outb(reg(REG.IER), IER.RLSI | IER.RDI | IER.THRI | IER.MSI);
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.RLSI);
    await client.inb(reg(REG.LSR));
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.RDI);
    await client.inb(reg(REG.RBR));
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.THRI);
    // That read acknowledged THRE; the modem status change is what is left.
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.MSI);
    expect(client.irq(COM1.IRQ)).toBe(true);
    expect((await client.inb(reg(REG.MSR))) & MSR.DCTS).toBe(MSR.DCTS);
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.NONE);
    expect(client.irq(COM1.IRQ)).toBe(false);
  });
});

describe('receiver fed through a unix:PATH,server backend', () => {
  /** Wait until backend input has reached the UART: its character-timeout timer is armed. */
  async function waitForInput(): Promise<void> {
    await client.waitUntil(() => client.deadline >= 0, 'character timeout armed by received input');
    await client.ping();
  }

  it('interrupts at the FIFO trigger level (14), not before, and keeps the byte order', async () => {
    const far = await withSocketBackend();
    await client.outb(reg(REG.FCR), FCR.ENABLE | FCR.TRIGGER_14);
    await client.outb(reg(REG.IER), IER.RDI);
    const bytes = Array.from({ length: 14 }, (_, i) => 0x61 + i);
    far.send(bytes.slice(0, 13));
    await waitForInput();
    expect((await client.inb(reg(REG.LSR))) & LSR.DR).toBe(LSR.DR);
    expect(client.irq(COM1.IRQ)).toBe(false);
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.FIFO | IIR.NONE);
    far.send(bytes.slice(13));
    await client.waitForIrq(COM1.IRQ, true);
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.FIFO | IIR.RDI);
    expect(await client.inb(reg(REG.RBR))).toBe(bytes[0]);
    // 13 left, below the trigger: the interrupt drops at once.
    expect(client.irq(COM1.IRQ)).toBe(false);
    expect(await readRbr(13)).toEqual(bytes.slice(1));
  });

  it('raises the character timeout 4 character times after the last byte, on the virtual clock', async () => {
    const far = await withSocketBackend();
    await client.outb(reg(REG.LCR), LCR.DLAB | LCR.WORD_8);
    await client.outb(reg(REG.DLL), 1); // 115200 baud
    await client.outb(reg(REG.DLM), 0);
    await client.outb(reg(REG.LCR), LCR.WORD_8);
    await client.outb(reg(REG.FCR), FCR.ENABLE | FCR.TRIGGER_14);
    await client.outb(reg(REG.IER), IER.RDI);
    await client.clockStep(1_000_000);
    const t0 = client.nowNs;
    far.send([0x10, 0x20]);
    await waitForInput();
    const charNs = Math.round((BITS_8N1 * 1e9) / BASE_BAUD);
    expect(client.deadline).toBe(t0 + TIMEOUT_CHARS * charNs);
    expect(client.irq(COM1.IRQ)).toBe(false);
    await client.clockStep(TIMEOUT_CHARS * charNs - 1);
    expect(client.irq(COM1.IRQ)).toBe(false);
    await client.clockStep(1);
    expect(client.irq(COM1.IRQ)).toBe(true);
    expect(await client.inb(reg(REG.IIR))).toBe(IIR.FIFO | IIR.CTI);
    expect(await client.inb(reg(REG.RBR))).toBe(0x10);
    // Reading clears the timeout indication and restarts the timer for the byte left.
    expect(client.irq(COM1.IRQ)).toBe(false);
    expect(client.deadline).toBe(client.nowNs + TIMEOUT_CHARS * charNs);
    expect(await client.inb(reg(REG.RBR))).toBe(0x20);
  });

  it('holds input beyond the FIFO in the host until there is room: nothing lost, no overrun', async () => {
    const far = await withSocketBackend();
    await client.outb(reg(REG.FCR), FCR.ENABLE);
    const bytes = Array.from({ length: 3 * FIFO_SIZE + 5 }, (_, i) => (i * 7 + 3) & 0xff);
    far.send(bytes);
    const got: number[] = [];
    const deadline = Date.now() + 10_000;
    while (got.length < bytes.length && Date.now() < deadline) {
      const lsr = await client.inb(reg(REG.LSR));
      expect(lsr & LSR.OE).toBe(0);
      if (lsr & LSR.DR) got.push(await client.inb(reg(REG.RBR)));
      else await new Promise((r) => setTimeout(r, 5));
    }
    expect(got).toEqual(bytes);
  });
});

describe('transmitter into a file:PATH backend', () => {
  it('writes exactly the bytes sent to THR; shutdown flushes them', async () => {
    const path = join(dir, 'com1.out');
    client = await QtestClient.start({ devices: [{ type: 'serial', base: COM1.BASE, irq: COM1.IRQ, backend: `file:${path}` }] });
    const text = 'PASS serial\r\n';
    await client.pioWrite(reg(REG.THR), 1, [...Buffer.from(text, 'latin1')]); // one string-PIO message (REP OUTSB)
    await client.outb(reg(REG.THR), 0x00);
    await client.outb(reg(REG.THR), 0xff);
    await client.shutdown();
    expect([...readFileSync(path)]).toEqual([...Buffer.from(text, 'latin1'), 0x00, 0xff]);
  });
});
