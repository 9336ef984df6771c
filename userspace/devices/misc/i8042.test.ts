import { describe, expect, it } from 'vitest';
import { FakeIrqLine } from '../../bus/fake-irq-line.js';
import { PioBus } from '../../bus/pio-bus.js';
import { I8042 } from './i8042.js';
import { I8042_CMD, I8042_COMMAND_PORT, I8042_CTR, I8042_DATA_PORT, I8042_STR } from './i8042-registers.js';

function setup() {
  const kbdIrq = new FakeIrqLine();
  const auxIrq = new FakeIrqLine();
  const events: string[] = [];
  const logs: string[] = [];
  const kbc = new I8042({
    kbdIrq,
    auxIrq,
    onReset: () => events.push('reset'),
    onA20: (on) => events.push(on ? 'a20-on' : 'a20-off'),
    log: (m) => logs.push(m),
  });
  const bus = new PioBus();
  bus.register('i8042-data', I8042_DATA_PORT, 1, kbc.dataPort);
  bus.register('i8042-cmd', I8042_COMMAND_PORT, 1, kbc.commandPort);
  const status = (): number => bus.read(I8042_COMMAND_PORT, 1);
  const command = (c: number): void => bus.write(I8042_COMMAND_PORT, 1, c);
  const data = (d: number): void => bus.write(I8042_DATA_PORT, 1, d);
  const readData = (): number => bus.read(I8042_DATA_PORT, 1);
  /** Read the output buffer until empty, as Linux's i8042_flush does. */
  const drain = (): number[] => {
    const out: number[] = [];
    while (status() & I8042_STR.OBF) out.push(readData());
    return out;
  };
  return { kbc, kbdIrq, auxIrq, events, logs, status, command, data, readData, drain };
}

describe('i8042 controller commands', () => {
  it('passes the Linux probe: flush, self-test, port tests, CTR read/write', () => {
    const t = setup();
    expect(t.status()).not.toBe(0xff); // 0xFF would mean "no controller"
    expect(t.drain()).toEqual([]);
    t.command(I8042_CMD.CTL_TEST);
    expect(t.status() & I8042_STR.OBF).toBe(I8042_STR.OBF);
    expect(t.drain()).toEqual([0x55]);
    expect(t.status() & I8042_STR.SYSFLAG).toBe(I8042_STR.SYSFLAG);
    t.command(I8042_CMD.KBD_TEST);
    expect(t.drain()).toEqual([0x00]);
    t.command(I8042_CMD.AUX_TEST);
    expect(t.drain()).toEqual([0x00]);
    t.command(I8042_CMD.CTL_RCTR);
    expect(t.drain()).toEqual([I8042_CTR.KBDINT | I8042_CTR.AUXINT]);
    t.command(I8042_CMD.CTL_WCTR);
    t.data(I8042_CTR.XLATE | I8042_CTR.SYSFLAG | I8042_CTR.KBDINT);
    t.command(I8042_CMD.CTL_RCTR);
    expect(t.drain()).toEqual([0x45]);
  });

  it('tracks the disable bits for 0xAD/0xAE and 0xA7/0xA8 in the command byte', () => {
    const t = setup();
    t.command(I8042_CMD.KBD_DISABLE);
    t.command(I8042_CMD.AUX_DISABLE);
    expect(t.kbc.commandByte() & (I8042_CTR.KBDDIS | I8042_CTR.AUXDIS)).toBe(I8042_CTR.KBDDIS | I8042_CTR.AUXDIS);
    t.command(I8042_CMD.AUX_ENABLE);
    expect(t.kbc.commandByte() & I8042_CTR.AUXDIS).toBe(0);
    t.command(I8042_CMD.KBD_ENABLE);
    expect(t.kbc.commandByte() & I8042_CTR.KBDDIS).toBe(0);
  });

  it('reads and writes the output port, driving A20 and reset', () => {
    const t = setup();
    t.command(I8042_CMD.READ_OUTPORT);
    const outport = t.drain()[0] ?? -1;
    expect(outport & 0x03).toBe(0x03); // not in reset, A20 on
    t.command(I8042_CMD.WRITE_OUTPORT);
    t.data(0x01); // A20 off
    expect(t.kbc.a20Enabled()).toBe(false);
    t.command(I8042_CMD.ENABLE_A20);
    t.command(I8042_CMD.DISABLE_A20);
    t.command(I8042_CMD.ENABLE_A20);
    expect(t.events).toEqual(['a20-off', 'a20-on', 'a20-off', 'a20-on']);
    t.command(I8042_CMD.WRITE_OUTPORT);
    t.data(0x02); // bit 0 clear: CPU reset
    expect(t.events.at(-1)).toBe('reset');
  });

  it('pulses reset on 0xFE but not on 0xFF', () => {
    const t = setup();
    t.command(0xff);
    expect(t.events).toEqual([]);
    t.command(I8042_CMD.RESET);
    expect(t.events).toEqual(['reset']);
    expect(t.kbc.stats.resets).toBe(1);
  });

  it('loops bytes back as keyboard or AUX data with the AUXDATA status bit', () => {
    const t = setup();
    t.command(I8042_CMD.AUX_LOOP);
    t.data(0x5a);
    expect(t.status() & (I8042_STR.OBF | I8042_STR.AUXDATA)).toBe(I8042_STR.OBF | I8042_STR.AUXDATA);
    expect(t.auxIrq.level).toBe(true);
    expect(t.kbdIrq.level).toBe(false);
    expect(t.readData()).toBe(0x5a);
    expect(t.auxIrq.level).toBe(false);
    t.command(I8042_CMD.KBD_LOOP);
    t.data(0xa5);
    expect(t.status() & (I8042_STR.OBF | I8042_STR.AUXDATA)).toBe(I8042_STR.OBF);
    expect(t.drain()).toEqual([0xa5]);
  });

  it('counts and logs an unknown command once', () => {
    const t = setup();
    t.command(0xc8);
    t.command(0xc8);
    expect(t.kbc.stats.unknownCommands).toBe(2);
    expect(t.logs).toHaveLength(1);
    expect(t.drain()).toEqual([]);
  });

  it('sets the CMD/DATA status bit by the port last written', () => {
    const t = setup();
    t.command(I8042_CMD.CTL_WCTR);
    expect(t.status() & I8042_STR.CMDDAT).toBe(I8042_STR.CMDDAT);
    t.data(I8042_CTR.KBDINT);
    expect(t.status() & I8042_STR.CMDDAT).toBe(0);
  });
});

describe('i8042 keyboard and mouse', () => {
  it('answers keyboard reset with ACK then BAT OK, raising IRQ1 for each byte', () => {
    const t = setup();
    t.data(0xff);
    expect(t.kbdIrq.level).toBe(true);
    expect(t.readData()).toBe(0xfa);
    expect(t.kbdIrq.level).toBe(true); // next byte loaded
    expect(t.readData()).toBe(0xaa);
    expect(t.kbdIrq.level).toBe(false);
    // Low between the two bytes: an edge-triggered PIC sees two interrupts.
    expect(t.kbdIrq.risingEdges()).toBe(2);
    expect(t.readData()).toBe(0xaa); // empty buffer reads the last byte again
  });

  it('keeps IRQ1 low when the command byte disables it, status still shows OBF', () => {
    const t = setup();
    t.command(I8042_CMD.CTL_WCTR);
    t.data(0);
    t.data(0xf2);
    expect(t.kbdIrq.level).toBe(false);
    expect(t.drain()).toEqual([0xfa, 0xab, 0x83]);
    expect(t.kbdIrq.history).toEqual([]);
  });

  it('holds keyboard output while the port is disabled and re-enables on a data write', () => {
    const t = setup();
    t.kbc.injectScancodes([0x1e, 0x9e]);
    t.command(I8042_CMD.KBD_DISABLE);
    expect(t.readData()).toBe(0x1e); // already in the output buffer
    expect(t.status() & I8042_STR.OBF).toBe(0);
    t.command(I8042_CMD.KBD_ENABLE);
    expect(t.drain()).toEqual([0x9e]);
    t.command(I8042_CMD.KBD_DISABLE);
    t.data(0xee); // echo: writing to the keyboard enables its port again
    expect(t.drain()).toEqual([0xee]);
  });

  it('handles parameter commands, scan-code set query and resend', () => {
    const t = setup();
    t.data(0xed);
    t.data(0x07);
    t.data(0xf0);
    t.data(0x00);
    t.data(0xfe);
    t.data(0x42); // not a command
    expect(t.drain()).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0x02, 0x02, 0xfe]);
  });

  it('stops scanning on 0xF5 and resumes on 0xF4', () => {
    const t = setup();
    t.data(0xf5);
    t.kbc.injectScancodes([0x1c]);
    t.data(0xf4);
    t.kbc.injectScancodes([0x9c]);
    expect(t.drain()).toEqual([0xfa, 0xfa, 0x9c]);
  });

  it('answers a mouse reset and ID through 0xD4 on IRQ12', () => {
    const t = setup();
    const send = (b: number): void => {
      t.command(I8042_CMD.AUX_SEND);
      t.data(b);
    };
    send(0xff);
    expect(t.auxIrq.level).toBe(true);
    expect(t.status() & I8042_STR.AUXDATA).toBe(I8042_STR.AUXDATA);
    expect(t.drain()).toEqual([0xfa, 0xaa, 0x00]);
    send(0xf3);
    send(200);
    send(0xf2);
    expect(t.drain()).toEqual([0xfa, 0xfa, 0xfa, 0x00]);
    send(0xe9);
    send(0xeb);
    expect(t.drain()).toEqual([0xfa, 0x00, 0x02, 0x64, 0xfa, 0x08, 0x00, 0x00]);
    expect(t.kbdIrq.history).toEqual([]);
  });

  it('gives controller answers priority over queued device bytes', () => {
    const t = setup();
    t.kbc.injectScancodes([0x10, 0x90]);
    t.command(I8042_CMD.CTL_RCTR);
    expect(t.drain()).toEqual([0x10, 0x03, 0x90]);
  });
});
