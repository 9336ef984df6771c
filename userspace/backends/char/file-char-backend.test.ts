import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCharBackend } from './create-char-backend.js';
import { FileCharBackend } from './file-char-backend.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tskvm-char-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('FileCharBackend', () => {
  it('appends every byte in order and flushes on close', async () => {
    const path = join(dir, 'serial.log');
    writeFileSync(path, 'before\n');
    const backend = await createCharBackend(`file:${path}`);
    const expected: number[] = [...Buffer.from('before\n')];
    // Many single-byte writes (a UART) interleaved with large ones.
    for (let i = 0; i < 5000; i++) {
      backend.write(Uint8Array.of(i & 0xff));
      expected.push(i & 0xff);
      if (i % 1000 === 0) {
        const big = new Uint8Array(100_000).fill(i & 0x7f);
        backend.write(big);
        expected.push(...big);
      }
    }
    await backend.close();
    expect(Buffer.compare(readFileSync(path), Buffer.from(expected))).toBe(0);
  });

  it('keeps writes spread over event-loop turns in order', async () => {
    const path = join(dir, 'turns.log');
    const backend = new FileCharBackend(path);
    for (const word of ['one ', 'two ', 'three']) {
      backend.write(Buffer.from(word));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await backend.close();
    backend.write(Buffer.from(' after close'));
    expect(readFileSync(path, 'latin1')).toBe('one two three');
  });

  it('fails early with BACKEND_OPEN for a path it cannot open', async () => {
    await expect(createCharBackend(`file:${join(dir, 'missing', 'x.log')}`)).rejects.toMatchObject({
      code: 'BACKEND_OPEN',
      message: expect.stringContaining('ENOENT'),
    });
  });
});
