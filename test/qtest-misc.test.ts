/**
 * qtest against the real device-model process: the client itself (handshake as `qtest` over Unix
 * and WebSocket, configure, bus misses, DMA service, ending), then the small PC devices register
 * by register — i8042 (Linux i8042.c probe sequence, 0xFE reset), isa-debug-exit (QEMU
 * debugexit.c status), port 0x80.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceSpec } from '../protocol/messages.js';
import { DeviceModelProcess } from './qtest/device-model-process.js';
import { QtestClient } from './qtest/qtest-client.js';

/** PC ports and values these tests drive (facts.md §5.4; Linux drivers/input/serio/i8042.h). */
const PORT = { I8042_DATA: 0x60, I8042_STATUS: 0x64, DEBUG_EXIT: 0xf4, POST: 0x80, DEBUGCON: 0xe9, UNCLAIMED: 0x0510 } as const;
/** What reading the debugcon port returns, so a guest can detect it (QEMU hw/char/debugcon.c). */
const DEBUGCON_READBACK = 0xe9;
const I8042 = {
  STR_OBF: 0x01,
  STR_SYSFLAG: 0x04,
  STR_CMDDAT: 0x08,
  STR_KEYLOCK: 0x10,
  CMD_CTL_TEST: 0xaa,
  CMD_KBD_TEST: 0xab,
  CMD_READ_CTR: 0x20,
  CMD_WRITE_CTR: 0x60,
  CMD_WRITE_OUTPORT: 0xd1,
  CMD_RESET: 0xfe,
  CTL_TEST_OK: 0x55,
  PORT_TEST_OK: 0x00,
  CTR_KBDINT: 0x01,
  CTR_AUXINT: 0x02,
  KBD_ECHO: 0xee,
  OUTPORT_A20_NO_RESET: 0x02,
  IRQ_KBD: 1,
} as const;

/** COM1 and its scratch register, for the coalesced-write check. */
const COM1_BASE = 0x3f8;
const UART_SCR = 7;

const PC_MISC: DeviceSpec[] = [{ type: 'i8042' }, { type: 'debugExit', port: PORT.DEBUG_EXIT, size: 4 }, { type: 'port80' }];

let client: QtestClient | undefined;
afterEach(async () => {
  await client?.dispose();
  client = undefined;
});

describe('qtest client', () => {
  it('handshakes as qtest over a Unix socket, configures and gets the claimed ranges', async () => {
    client = await QtestClient.start({ devices: PC_MISC });
    expect(client.process?.address).toMatch(/^unix:/);
    expect([...client.peer.features].sort()).toEqual(['coalesced', 'doorbell', 'string-pio', 'virtual-clock']);
    const pio = client.configuration.pio.map((r) => [r.base, r.size]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
    expect(pio).toEqual([
      [PORT.I8042_DATA, 1],
      [PORT.I8042_STATUS, 1],
      [PORT.POST, 1],
      [PORT.DEBUG_EXIT, 4],
    ]);
    expect(client.configuration.mmio).toEqual([]);
  });

  it('works the same over a WebSocket', async () => {
    client = await QtestClient.start({ devices: PC_MISC, listen: 'ws' });
    expect(client.process?.address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    await client.outb(PORT.I8042_STATUS, I8042.CMD_CTL_TEST);
    expect(await client.inb(PORT.I8042_DATA)).toBe(I8042.CTL_TEST_OK);
  });

  it('reads a port nobody claims as all ones and survives writes to it (bus miss, not an error)', async () => {
    client = await QtestClient.start({ devices: PC_MISC });
    expect(await client.inb(PORT.UNCLAIMED)).toBe(0xff);
    expect(await client.inw(PORT.UNCLAIMED)).toBe(0xffff);
    expect(await client.inl(PORT.UNCLAIMED)).toBe(0xffff_ffff);
    await client.outl(PORT.UNCLAIMED, 0x1234_5678);
    expect(await client.readl(0xfee0_0000)).toBe(0xffff_ffff);
    await client.ping();
  });

  it('shutdown ends the --once process with status 0; kill ends it by signal', async () => {
    const a = await QtestClient.start({ devices: PC_MISC });
    await a.shutdown();
    expect(a.process?.exit).toEqual({ code: 0, signal: null });
    const b = await QtestClient.start({ devices: PC_MISC });
    await b.kill();
    expect(b.process?.exit).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('keeps memread/memwrite on its guest RAM and refuses test accesses outside it', async () => {
    client = await QtestClient.start({ devices: [], memory: new Uint8Array(4096) });
    client.memwrite(4090, Uint8Array.of(1, 2, 3, 4, 5, 6));
    expect([...client.memread(4092, 4)]).toEqual([3, 4, 5, 6]);
    expect(() => client?.memread(4093, 4)).toThrow(/outside guest RAM/);
  });
});

describe('one device-model process, several connections', () => {
  it('gives each connection its own machine', async () => {
    const dm = await DeviceModelProcess.start({ once: false });
    const a = await QtestClient.attach(dm.address, { devices: PC_MISC });
    const b = await QtestClient.attach(dm.address, { devices: PC_MISC });
    try {
      await a.outb(PORT.I8042_STATUS, I8042.CMD_CTL_TEST);
      expect(a.irq(I8042.IRQ_KBD)).toBe(true);
      // b's controller has no answer waiting and b saw no interrupt.
      expect((await b.inb(PORT.I8042_STATUS)) & I8042.STR_OBF).toBe(0);
      expect(b.irqLog).toEqual([]);
      await b.outl(PORT.DEBUG_EXIT, 1);
      expect(b.events).toHaveLength(1);
      expect(a.events).toEqual([]);
      expect(await a.inb(PORT.I8042_DATA)).toBe(I8042.CTL_TEST_OK);
    } finally {
      await a.dispose();
      await b.dispose();
      await dm.kill();
    }
  });

  it('a --once device model exits cleanly when its VMM vanishes without shutdown', async () => {
    const c = await QtestClient.start({ devices: PC_MISC });
    c.peer.close();
    expect(await c.process?.waitForExit(10_000)).toEqual({ code: 0, signal: null });
  });

  it('applies a posted coalesced batch before the request that follows it (README §4.3)', async () => {
    client = await QtestClient.start({ devices: [...PC_MISC, { type: 'serial', base: COM1_BASE, irq: 4, backend: 'null' }] });
    client.peer.post({
      type: 'coalesced',
      writes: [
        { space: 'pio', addr: COM1_BASE + UART_SCR, size: 1, value: 0x11 },
        { space: 'pio', addr: COM1_BASE + UART_SCR, size: 1, value: 0x22 },
      ],
    });
    expect(await client.inb(COM1_BASE + UART_SCR)).toBe(0x22);
  });
});

describe('i8042 keyboard controller', () => {
  it('passes the controller self-test, sets SYSFLAG and raises IRQ1 for the answer', async () => {
    client = await QtestClient.start({ devices: PC_MISC });
    const before = await client.inb(PORT.I8042_STATUS);
    expect(before & I8042.STR_OBF).toBe(0);
    expect(before & I8042.STR_SYSFLAG).toBe(0);
    expect(before & I8042.STR_KEYLOCK).toBe(I8042.STR_KEYLOCK);

    await client.outb(PORT.I8042_STATUS, I8042.CMD_CTL_TEST);
    // The irq message is posted before the reply (README §4.3), so it is visible now.
    expect(client.irq(I8042.IRQ_KBD)).toBe(true);
    const status = await client.inb(PORT.I8042_STATUS);
    expect(status & (I8042.STR_OBF | I8042.STR_SYSFLAG | I8042.STR_CMDDAT)).toBe(I8042.STR_OBF | I8042.STR_SYSFLAG | I8042.STR_CMDDAT);
    expect(await client.inb(PORT.I8042_DATA)).toBe(I8042.CTL_TEST_OK);
    expect(client.irq(I8042.IRQ_KBD)).toBe(false);
    expect((await client.inb(PORT.I8042_STATUS)) & I8042.STR_OBF).toBe(0);

    await client.outb(PORT.I8042_STATUS, I8042.CMD_KBD_TEST);
    expect(await client.inb(PORT.I8042_DATA)).toBe(I8042.PORT_TEST_OK);
  });

  it('reads and writes the command byte; with KBDINT off the answer raises no IRQ1', async () => {
    client = await QtestClient.start({ devices: PC_MISC });
    await client.outb(PORT.I8042_STATUS, I8042.CMD_READ_CTR);
    expect(await client.inb(PORT.I8042_DATA)).toBe(I8042.CTR_KBDINT | I8042.CTR_AUXINT);
    await client.outb(PORT.I8042_STATUS, I8042.CMD_WRITE_CTR);
    await client.outb(PORT.I8042_DATA, 0);
    const raises = client.irqRaises(I8042.IRQ_KBD);
    await client.outb(PORT.I8042_DATA, I8042.KBD_ECHO); // a byte for the keyboard: it echoes
    expect((await client.inb(PORT.I8042_STATUS)) & I8042.STR_OBF).toBe(I8042.STR_OBF);
    expect(client.irqRaises(I8042.IRQ_KBD)).toBe(raises);
    expect(await client.inb(PORT.I8042_DATA)).toBe(I8042.KBD_ECHO);
  });

  it('command 0xFE posts a reset event, and so does an output-port write with bit 0 clear', async () => {
    client = await QtestClient.start({ devices: PC_MISC });
    await client.outb(PORT.I8042_STATUS, I8042.CMD_RESET);
    // Posted before the reply: already there, no waiting.
    expect(client.events).toEqual([{ type: 'event', kind: 'reset' }]);
    await client.outb(PORT.I8042_STATUS, I8042.CMD_WRITE_OUTPORT);
    await client.outb(PORT.I8042_DATA, I8042.OUTPORT_A20_NO_RESET);
    expect(client.events.map((e) => e.kind)).toEqual(['reset', 'reset']);
    // The device model goes on serving after a reset request.
    await client.outb(PORT.I8042_STATUS, I8042.CMD_CTL_TEST);
    expect(await client.inb(PORT.I8042_DATA)).toBe(I8042.CTL_TEST_OK);
  });
});

describe('isa-debug-exit, isa-debugcon and port 0x80', () => {
  it('a write of v posts event exit with status (v << 1) | 1', async () => {
    client = await QtestClient.start({ devices: PC_MISC });
    expect(await client.inl(PORT.DEBUG_EXIT)).toBe(0);
    expect(client.events).toEqual([]);
    await client.outl(PORT.DEBUG_EXIT, 0x3f);
    expect(client.events).toEqual([{ type: 'event', kind: 'exit', code: (0x3f << 1) | 1 }]);
    await client.outb(PORT.DEBUG_EXIT, 0);
    expect(client.events[1]).toEqual({ type: 'event', kind: 'exit', code: 1 });
    // A 32-bit value: the status is computed modulo 2^32, as an unsigned int.
    await client.outl(PORT.DEBUG_EXIT, 0x8000_0001);
    expect(client.events[2]).toEqual({ type: 'event', kind: 'exit', code: 3 });
  });

  it('isa-debugcon sends every byte written to its backend and reads back 0xE9', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tskvm-qtest-debugcon-'));
    try {
      const path = join(dir, 'e9.log');
      client = await QtestClient.start({ devices: [{ type: 'debugcon', port: PORT.DEBUGCON, backend: `file:${path}` }] });
      expect(await client.inb(PORT.DEBUGCON)).toBe(DEBUGCON_READBACK);
      await client.pioWrite(PORT.DEBUGCON, 1, [...Buffer.from('ok\n')]);
      await client.outb(PORT.DEBUGCON, 0x00);
      await client.shutdown();
      expect([...readFileSync(path)]).toEqual([...Buffer.from('ok\n'), 0x00]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('port 0x80 swallows POST codes and reads all ones', async () => {
    client = await QtestClient.start({ devices: PC_MISC });
    await client.outb(PORT.POST, 0x55);
    expect(await client.inb(PORT.POST)).toBe(0xff);
    expect(client.events).toEqual([]);
    expect(client.irqLog).toEqual([]);
  });
});
