/**
 * `tskvm run --bios FILE` (DESIGN.md "Machine (PC)", "Command line"): the bios-hello ROM prints
 * exactly QEMU's transcript under both MMUs, also at the end of a 16 MiB ROM (GPAs from
 * 0xFF000000); the vCPU starts at the reset vector; ROM writes never reach the device model;
 * bad ROM sizes are 65 and --bios with --kernel is 64, each with one stderr line.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestImagePath, readExpected, readGuestImage, tskvmExpectedStatus } from '../guests/catalog.js';
import { lines, runTskvm } from './support/tskvm.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const TIMEOUT_MS = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'tskvm-bios-'));
const ROM = guestImagePath('bios-hello');
const expected = readExpected('bios-hello');

function file(name: string, data: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

/** bios-hello as the last 64 KiB of a larger ROM: the code below 1 MiB and at 0xFFFF0000 is the same. */
function paddedRom(size: number): string {
  const rom = new Uint8Array(size);
  rom.set(readGuestImage('bios-hello'), size - 64 * KiB);
  return file(`padded-${size}.bin`, rom);
}

describe('tskvm run --bios', () => {
  it('the catalog expects all 8 cases to pass with status 1 (QEMU -bios)', () => {
    expect(Buffer.from(expected.output).toString('utf8')).toMatch(/\nentering 32-bit protected mode\n(.|\n)*\nDONE 8\/8\n$/);
    expect(expected.status).toBe(1);
    expect(tskvmExpectedStatus('bios-hello')).toBe(1);
    expect(readGuestImage('bios-hello').length).toBe(64 * KiB);
  });

  for (const mmu of ['ept', 'shadow'] as const) {
    it(`bios-hello prints QEMU's transcript byte for byte (--mmu ${mmu})`, async () => {
      const r = await runTskvm(['run', '--bios', ROM, '--mmu', mmu], { timeoutMs: TIMEOUT_MS });
      expect(r.stdout.toString('latin1')).toBe(Buffer.from(expected.output).toString('latin1'));
      expect(r.status).toBe(expected.status);
      expect(r.stderr).toBe('');
    });

    it(`bios-hello at the end of a 16 MiB ROM (0xFF000000-0xFFFFFFFF) gives the same transcript (--mmu ${mmu})`, async () => {
      const r = await runTskvm(['run', '--bios', paddedRom(16 * MiB), '--mmu', mmu], { timeoutMs: TIMEOUT_MS });
      expect(r.stdout.toString('latin1')).toBe(Buffer.from(expected.output).toString('latin1'));
      expect(r.status).toBe(expected.status);
    });
  }

  it('works with the other options: serial to a file, virtual clock, in-kernel PIT, stats; ROM writes stay in the VMM', async () => {
    const com1 = join(dir, 'com1.txt');
    const r = await runTskvm(['run', '--bios', paddedRom(256 * KiB), '--serial', `file:${com1}`, '--clock', 'virtual', '--pit', 'kernel', '--mem', '64M', '--stats=json'], { timeoutMs: TIMEOUT_MS });
    expect(r.status).toBe(1);
    expect(r.stdout.length).toBe(0);
    expect(readFileSync(com1).equals(Buffer.from(expected.output))).toBe(true);
    const stats = JSON.parse(lines(r.stderr).pop() as string) as {
      vcpus: { stats: Record<string, number>; exitReasons: Record<string, { inKernel: number; userspace: number }> }[];
      deviceModel: Record<string, number>;
    };
    // The guest writes to the ROM four times: four MMIO exits, none forwarded to the device model;
    // a write to a read-only memslot is an EPT violation, not a misconfiguration
    expect(stats.vcpus[0]?.stats['mmio_exits']).toBe(4);
    expect(stats.vcpus[0]?.exitReasons['EPT_VIOLATION']?.userspace).toBe(4);
    expect(stats.vcpus[0]?.exitReasons['EPT_MISCONFIG']).toBeUndefined();
    expect(stats.deviceModel['mmioWrites']).toBe(0);
    expect(stats.deviceModel['mmioReads']).toBe(0);
  });

  it('starts at the reset vector with the reset registers, --regs on top (status 0 after hlt with IF=0)', async () => {
    // At ROM offset 0xFFF0 (= 0xFFFFFFF0): mov $0x3f8,%dx ; out %al,%dx ; mov %dh,%al ; out %al,%dx ; hlt
    const rom = new Uint8Array(64 * KiB);
    rom.set([0xba, 0xf8, 0x03, 0xee, 0x88, 0xf0, 0xee, 0xf4], 0xfff0);
    const path = file('reset.bin', rom);
    for (const mmu of ['ept', 'shadow']) {
      const r = await runTskvm(['run', '--bios', path, '--mmu', mmu, '--regs', 'eax=0x41'], { timeoutMs: TIMEOUT_MS });
      expect([r.status, r.stdout.toString('latin1'), r.stderr]).toEqual([0, 'A\x03', '']);
      const plain = await runTskvm(['run', '--bios', path, '--mmu', mmu], { timeoutMs: TIMEOUT_MS });
      expect([plain.status, [...plain.stdout]]).toEqual([0, [0, 3]]); // EAX is 0 after reset
    }
  });

  it('a ROM that is empty, 1000 bytes or 17 MiB is an invalid image: status 65, one line', async () => {
    for (const [name, size] of [['empty.bin', 0], ['small.bin', 1000], ['huge.bin', 17 * MiB]] as const) {
      const path = file(name, new Uint8Array(size));
      const r = await runTskvm(['run', '--bios', path], { timeoutMs: TIMEOUT_MS });
      expect(r.status).toBe(65);
      expect(r.stdout.length).toBe(0);
      expect(lines(r.stderr)).toEqual([`tskvm: bios image '${path}' is ${size} bytes: it must be a non-zero multiple of 64 KiB and at most 16 MiB`]);
    }
  });

  it('an unreadable ROM file is status 65 with one line', async () => {
    const r = await runTskvm(['run', '--bios', join(dir, 'missing.bin')], { timeoutMs: TIMEOUT_MS });
    expect(r.status).toBe(65);
    expect(lines(r.stderr)).toEqual([`tskvm: cannot read bios image '${join(dir, 'missing.bin')}': no such file`]);
  });

  it('--bios with --kernel, or with kernel-only options, is a usage error: status 64, one line', async () => {
    const both = await runTskvm(['run', '--bios', ROM, '--kernel', guestImagePath('hello')], { timeoutMs: TIMEOUT_MS });
    expect(both.status).toBe(64);
    expect(lines(both.stderr)).toEqual(['tskvm: run: --bios and --kernel cannot be combined (no fw_cfg to pass a kernel to the firmware)']);
    const append = await runTskvm(['run', '--bios', ROM, '--append', 'quiet'], { timeoutMs: TIMEOUT_MS });
    expect(append.status).toBe(64);
    expect(lines(append.stderr)).toEqual(['tskvm: run: --append cannot be used with --bios (only with --kernel)']);
  });

  it('tskvm help describes --bios', async () => {
    const r = await runTskvm(['help']);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toMatch(/tskvm run --bios FILE .*\n.*64 KiB\.\.16 MiB.*\n.*reset vector F000:FFF0/);
  });
});
