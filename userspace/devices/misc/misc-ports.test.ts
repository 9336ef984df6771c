import { describe, expect, it } from 'vitest';
import { MemoryCharBackend } from '../../backends/char/memory-char-backend.js';
import { PioBus } from '../../bus/pio-bus.js';
import { Debugcon, DEBUGCON_PORT } from './debugcon.js';
import { DEBUG_EXIT_PC_PORT, IsaDebugExit, debugExitStatus } from './isa-debug-exit.js';
import { Port80, POST_CODE_PORT } from './port-80.js';

describe('isa-debug-exit', () => {
  it.each([
    [0, 1],
    [1, 3],
    [0x10, 0x21],
    [0x7f, 0xff],
    [0x80, 0x101],
  ])('a write of %i exits with status %i', (value, status) => {
    const codes: number[] = [];
    const bus = new PioBus();
    bus.register('debug-exit', DEBUG_EXIT_PC_PORT, 4, new IsaDebugExit((code) => codes.push(code)));
    bus.write(DEBUG_EXIT_PC_PORT, 1, value);
    expect(codes).toEqual([status]);
  });

  it('takes the whole value of a wide write and reads as 0', () => {
    const codes: number[] = [];
    const dev = new IsaDebugExit((code) => codes.push(code));
    dev.write(0, 4, 0x8000_0001);
    dev.write(2, 2, 0x1234);
    expect(codes).toEqual([0x0000_0003, 0x2469]);
    expect(debugExitStatus(0xffff_ffff)).toBe(0xffff_ffff);
    expect(dev.read(0, 1)).toBe(0);
    expect(dev.exits).toBe(2);
  });
});

describe('debugcon', () => {
  it('sends the low byte of each write to the backend and reads back 0xE9', () => {
    const backend = new MemoryCharBackend();
    const bus = new PioBus();
    const dev = new Debugcon(backend);
    bus.register('debugcon', DEBUGCON_PORT, 1, dev);
    for (const c of 'ok\n') bus.write(DEBUGCON_PORT, 1, c.charCodeAt(0));
    bus.write(DEBUGCON_PORT, 2, 0x4141); // straddles the 1-byte window: a bus miss
    dev.write(0, 2, 0x1221); // a wide access reaching the device sends its low byte
    expect(backend.text()).toBe('ok\n!');
    expect(bus.read(DEBUGCON_PORT, 1)).toBe(0xe9);
  });
});

describe('port 0x80', () => {
  it('discards writes (remembering the POST code) and reads all ones', () => {
    const port = new Port80();
    const bus = new PioBus();
    bus.register('post', POST_CODE_PORT, 1, port);
    expect(bus.read(POST_CODE_PORT, 1)).toBe(0xff);
    bus.write(POST_CODE_PORT, 1, 0x3c);
    bus.write(POST_CODE_PORT, 1, 0x00);
    expect(port.lastPostCode).toBe(0);
    expect(port.writes).toBe(2);
    expect(bus.read(POST_CODE_PORT, 1)).toBe(0xff);
    expect(bus.stats.misses).toBe(0);
  });
});
