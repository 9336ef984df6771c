/**
 * Golden guests (kvm-unit-tests style): every guest of the catalog with an expected transcript
 * (recorded from QEMU, or written from the SDM where QEMU's TCG is known to deviate) prints
 * exactly those bytes on COM1 of the default tskvm machine and exits with the contract's status.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUEST_KINDS, GUEST_NAMES, GUESTS, guestImagePath, readExpected, tskvmExpectedStatus, tskvmRunArgs, type GuestSpec } from '../guests/catalog.js';
import { runTskvm } from './support/tskvm.js';

/** Fresh zero-filled disk files of the sizes the guest's catalog entry asks for. */
function freshDisks(name: (typeof GUEST_NAMES)[number]): string[] {
  const spec: GuestSpec = GUESTS[name];
  const disks = spec.run?.disks ?? [];
  if (disks.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), `tskvm-${name}-`));
  return disks.map((d, i) => {
    const path = join(dir, `disk${i}.img`);
    writeFileSync(path, Buffer.alloc(d.bytes));
    return path;
  });
}

function argsFor(name: (typeof GUEST_NAMES)[number], mmu: 'ept' | 'shadow'): string[] {
  const g = GUESTS[name];
  const image = g.kind === GUEST_KINDS.BIOS ? ['--bios', guestImagePath(name)] : ['--kernel', guestImagePath(name)];
  const args = ['run', '--mmu', mmu, ...image, ...tskvmRunArgs(name, { disks: freshDisks(name) })];
  if (g.kind === GUEST_KINDS.RAW_REAL) {
    const load = `0x${(g.load ?? 0x1000).toString(16)}`;
    args.push('--load', load, '--entry', load, '--cpu-mode', 'real');
    const r = g.registers ?? {};
    const regs = Object.entries(r).map(([k, v]) => `${k}=${v}`);
    if (regs.length > 0) args.push('--regs', regs.join(','));
  }
  return args;
}

const golden = GUEST_NAMES.filter((n) => {
  try {
    readExpected(n);
    return true;
  } catch {
    return false;
  }
});

describe('golden guests match their expected transcripts', () => {
  it('there are golden guests to run', () => {
    expect(golden.length).toBeGreaterThan(10);
  });
  // Both MMUs run every guest with identical output (issue: EPT and shadow paging).
  for (const mmu of ['ept', 'shadow'] as const) {
    for (const name of golden) {
      it(`${name} (--mmu ${mmu})`, async () => {
        const expected = readExpected(name);
        const r = await runTskvm(argsFor(name, mmu), { timeoutMs: 120_000 });
        expect(r.stdout.toString('latin1')).toBe(Buffer.from(expected.output).toString('latin1'));
        expect(r.status).toBe(tskvmExpectedStatus(name));
      });
    }
  }
});
