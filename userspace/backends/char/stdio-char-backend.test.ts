import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { StdioCharBackend } from './stdio-char-backend.js';
import { InputCollector, waitFor } from './test-support.js';

/** A writable that accepts one small chunk at a time, slowly: forces backpressure. */
class SlowSink extends Writable {
  readonly received: Buffer[] = [];
  constructor() {
    super({ highWaterMark: 16 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.received.push(chunk);
    setTimeout(() => callback(), 1);
  }
}

/** A PassThrough that claims to be a terminal. */
function fakeTty() {
  const input = new PassThrough() as PassThrough & { isTTY: boolean; isRaw: boolean; setRawMode: (mode: boolean) => unknown };
  input.isTTY = true;
  input.isRaw = false;
  input.setRawMode = vi.fn((mode: boolean) => {
    input.isRaw = mode;
    return input;
  });
  return input;
}

describe('StdioCharBackend', () => {
  it('writes output in order and loses nothing under backpressure', async () => {
    const output = new SlowSink();
    const backend = new StdioCharBackend({ input: new PassThrough(), output });
    const expected: number[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) {
        const byte = (round * 50 + i) & 0xff;
        backend.write(Uint8Array.of(byte));
        expected.push(byte);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await backend.close();
    expect([...Buffer.concat(output.received)]).toEqual(expected);
  });

  it('delivers non-TTY input untouched and leaves the terminal mode alone', async () => {
    const input = new PassThrough();
    const backend = new StdioCharBackend({ input, output: new PassThrough(), onEscapeQuit: () => {} });
    const got = new InputCollector();
    backend.onInput(got.listener);
    input.write(Buffer.from([0x01, 0x78, 0x41]));
    await waitFor(() => got.text().length === 3);
    expect(got.text()).toBe('\x01xA');
    await backend.close();
  });

  it('puts a TTY in raw mode and restores it on close', async () => {
    const input = fakeTty();
    const backend = new StdioCharBackend({ input, output: new PassThrough() });
    backend.onInput(() => {});
    expect(input.isRaw).toBe(true);
    await backend.close();
    expect(input.isRaw).toBe(false);
    expect(input.setRawMode).toHaveBeenCalledTimes(2);
  });

  it('restores the terminal from the process exit hook', async () => {
    const input = fakeTty();
    const backend = new StdioCharBackend({ input, output: new PassThrough() });
    backend.onInput(() => {});
    process.emit('exit', 0);
    expect(input.isRaw).toBe(false);
    await backend.close();
  });

  it('quits on Ctrl-A x and passes Ctrl-A Ctrl-A as one Ctrl-A', async () => {
    const input = fakeTty();
    let quits = 0;
    const backend = new StdioCharBackend({ input, output: new PassThrough(), onEscapeQuit: () => quits++ });
    const got = new InputCollector();
    backend.onInput(got.listener);
    input.write(Buffer.from([0x61, 0x01, 0x01, 0x62, 0x01, 0x63]));
    await waitFor(() => got.text().length >= 5);
    expect(got.text()).toBe('a\x01b\x01c');
    input.write(Buffer.from([0x64, 0x01]));
    input.write(Buffer.from([0x78, 0x65]));
    await waitFor(() => quits === 1);
    expect(got.text()).toBe('a\x01b\x01cd');
    await backend.close();
  });
});
