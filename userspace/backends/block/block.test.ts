import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlockBackendError } from './block-error.js';
import { MemoryBackend } from './memory-backend.js';
import { openBlockBackend, parseBlockSpec } from './open-block-backend.js';
import { RawFileBackend } from './raw-file-backend.js';
import { readOnly } from './read-only-backend.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tskvm-block-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function image(name: string, size: number, fill = (i: number) => i & 0xff): string {
  const p = path.join(dir, name);
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = fill(i);
  fs.writeFileSync(p, data);
  return p;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof BlockBackendError ? err.code : 'not-a-BlockBackendError';
  }
  return undefined;
}

describe('RawFileBackend', () => {
  it('reads and writes at offsets, and the data reaches the file', () => {
    const p = image('disk.img', 4096);
    const b = new RawFileBackend(p);
    expect(b.size).toBe(4096);
    expect(b.readOnly).toBe(false);
    expect(Array.from(b.read(510, 4))).toEqual([254, 255, 0, 1]);
    b.write(1024, new Uint8Array([9, 8, 7]));
    b.flush();
    b.close();
    const onDisk = fs.readFileSync(p);
    expect(Array.from(onDisk.subarray(1023, 1027))).toEqual([255, 9, 8, 7]);
  });

  it('rejects an image whose size is not a multiple of 512 with BAD_IMAGE', () => {
    const p = image('odd.img', 1000);
    expect(codeOf(() => new RawFileBackend(p))).toBe('BAD_IMAGE');
  });

  it('a missing file is OPEN_FAILED', () => {
    expect(codeOf(() => new RawFileBackend(path.join(dir, 'nope.img')))).toBe('OPEN_FAILED');
  });

  it('accesses past the end are OUT_OF_RANGE', () => {
    const b = new RawFileBackend(image('d.img', 1024));
    expect(codeOf(() => b.read(1000, 25))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => b.write(1024, new Uint8Array(1)))).toBe('OUT_OF_RANGE');
    b.close();
  });

  it('read-only images are opened O_RDONLY and refuse writes', () => {
    const p = image('ro.img', 512);
    fs.chmodSync(p, 0o444);
    const b = new RawFileBackend(p, true);
    expect(b.readOnly).toBe(true);
    expect(b.read(0, 2)).toEqual(new Uint8Array([0, 1]));
    expect(codeOf(() => b.write(0, new Uint8Array(1)))).toBe('READ_ONLY');
    b.flush();
    b.close();
  });
});

describe('MemoryBackend and readOnly()', () => {
  it('reads back what was written; bounds are checked', () => {
    const m = new MemoryBackend(1024);
    m.write(100, new Uint8Array([1, 2, 3]));
    expect(Array.from(m.read(99, 5))).toEqual([0, 1, 2, 3, 0]);
    expect(codeOf(() => m.read(1020, 8))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => new MemoryBackend(100))).toBe('BAD_IMAGE');
  });

  it('readOnly() reports read-only and refuses writes', () => {
    const m = new MemoryBackend(512);
    m.data[7] = 0x42;
    const ro = readOnly(m);
    expect(ro.readOnly).toBe(true);
    expect(ro.size).toBe(512);
    expect(ro.read(7, 1)[0]).toBe(0x42);
    expect(codeOf(() => ro.write(0, new Uint8Array(1)))).toBe('READ_ONLY');
    expect(m.data[0]).toBe(0);
  });
});

describe('openBlockBackend', () => {
  it('parses FILE and FILE,ro', () => {
    expect(parseBlockSpec('a.img')).toEqual({ path: 'a.img', readOnly: false });
    expect(parseBlockSpec('/x/a.img,ro')).toEqual({ path: '/x/a.img', readOnly: true });
    expect(codeOf(() => parseBlockSpec('a.img,rw'))).toBe('BAD_SPEC');
    expect(codeOf(() => parseBlockSpec(''))).toBe('BAD_SPEC');
  });

  it('opens a raw file, read-only when asked', () => {
    const p = image('spec.img', 2048);
    const rw = openBlockBackend(p);
    expect(rw.size).toBe(2048);
    expect(rw.readOnly).toBe(false);
    rw.close();
    const ro = openBlockBackend(`${p},ro`);
    expect(ro.readOnly).toBe(true);
    expect(codeOf(() => ro.write(0, new Uint8Array(1)))).toBe('READ_ONLY');
    ro.close();
  });
});
