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

  it('--initrd with a raw binary is status 64, with a plain ELF32 (no multiboot header) 65', async () => {
    const initrd = join(tmp, 'initrd');
    writeFileSync(initrd, 'initrd');
    const raw = join(tmp, 'hlt.bin');
    writeFileSync(raw, Buffer.from([0xf4]));
    const r1 = await runTskvm(['run', '--kernel', raw, '--load', '0x1000', '--entry', '0x1000', '--initrd', initrd]);
    expect(r1.status).toBe(64);
    expectOneLine(r1.stderr, /--initrd needs a multiboot or bzImage kernel/);
    // ELF32 header, one PT_LOAD of a HLT at 1 MiB, entry there
    const elf = Buffer.alloc(85);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    elf.writeUInt16LE(2, 16); // ET_EXEC
    elf.writeUInt16LE(3, 18); // EM_386
    elf.writeUInt32LE(1, 20);
    elf.writeUInt32LE(0x100000, 24); // e_entry
    elf.writeUInt32LE(52, 28); // e_phoff
    elf.writeUInt16LE(52, 40);
    elf.writeUInt16LE(32, 42);
    elf.writeUInt16LE(1, 44); // e_phnum
    elf.writeUInt16LE(40, 46);
    for (const [at, v] of [[52, 1], [56, 84], [60, 0x100000], [64, 0x100000], [68, 1], [72, 1], [76, 5], [80, 0x1000]] as const) elf.writeUInt32LE(v, at);
    elf[84] = 0xf4;
    const plain = join(tmp, 'plain.elf');
    writeFileSync(plain, elf);
    expect((await runTskvm(['run', '--kernel', plain])).status).toBe(0); // halted with interrupts off
    const r2 = await runTskvm(['run', '--kernel', plain, '--initrd', initrd]);
    expect(r2.status).toBe(65);
    expectOneLine(r2.stderr, /plain ELF32 kernel cannot take --initrd/);
  });
});
