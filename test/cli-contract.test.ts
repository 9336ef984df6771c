/**
 * The command-line contract of DESIGN.md for bad input: one clear line on stderr, the
 * documented status, no stack trace.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lines, runTskvm } from './support/tskvm.js';

const tmp = mkdtempSync(join(tmpdir(), 'tskvm-cli-'));

function expectOneLine(stderr: string, pattern: RegExp): void {
  const l = lines(stderr);
  expect(l).toHaveLength(1);
  expect(l[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('tskvm run: bad usage and bad images', () => {
  it('an unknown flag is status 64 with one line', async () => {
    const r = await runTskvm(['run', '--kernel', 'guests/images/hello.elf', '--frobnicate']);
    expect(r.status).toBe(64);
    expectOneLine(r.stderr, /unknown option '--frobnicate'/);
    expect(r.stdout.length).toBe(0);
  });

  it('a bad flag value is status 64', async () => {
    const r = await runTskvm(['run', '--kernel', 'guests/images/hello.elf', '--mem', 'lots']);
    expect(r.status).toBe(64);
    expectOneLine(r.stderr, /--mem/);
  });

  it('no command is status 64', async () => {
    const r = await runTskvm([]);
    expect(r.status).toBe(64);
    expectOneLine(r.stderr, /no command/);
  });

  it('a missing image file is status 65 with one line', async () => {
    const r = await runTskvm(['run', '--kernel', join(tmp, 'does-not-exist.elf')]);
    expect(r.status).toBe(65);
    expectOneLine(r.stderr, /cannot read kernel image .*no such file/);
  });

  it('an image that is no known format is status 65', async () => {
    const junk = join(tmp, 'junk.bin');
    writeFileSync(junk, Buffer.from('this is not a kernel, just some text bytes\n'.repeat(20)));
    const r = await runTskvm(['run', '--kernel', junk]);
    expect(r.status).toBe(65);
    expectOneLine(r.stderr, /unrecognised kernel image/);
  });

  it('a truncated ELF is status 65', async () => {
    const elf = join(tmp, 'trunc.elf');
    writeFileSync(elf, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0, 0, 0]));
    const r = await runTskvm(['run', '--kernel', elf]);
    expect(r.status).toBe(65);
    expectOneLine(r.stderr, /ELF file is truncated/);
  });

  it('a directory as image is status 65', async () => {
    const r = await runTskvm(['run', '--kernel', tmp]);
    expect(r.status).toBe(65);
    expectOneLine(r.stderr, /is a directory/);
  });
});
