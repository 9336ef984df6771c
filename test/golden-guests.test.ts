/**
 * Golden guests (kvm-unit-tests style): every guest of the catalog with an expected transcript
 * (recorded from QEMU, or written from the SDM where QEMU's TCG is known to deviate) prints
 * exactly those bytes on COM1 of the default tskvm machine and exits with the contract's status.
 */
import { describe, expect, it } from 'vitest';
import { GUEST_KINDS, GUEST_NAMES, GUESTS, guestImagePath, readExpected, tskvmExpectedStatus } from '../guests/catalog.js';
import { runTskvm } from './support/tskvm.js';

function argsFor(name: (typeof GUEST_NAMES)[number]): string[] {
  const g = GUESTS[name];
  const args = ['run', '--kernel', guestImagePath(name)];
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
  for (const name of golden) {
    it(name, async () => {
      const expected = readExpected(name);
      const r = await runTskvm(argsFor(name), { timeoutMs: 120_000 });
      expect(r.stdout.toString('latin1')).toBe(Buffer.from(expected.output).toString('latin1'));
      expect(r.status).toBe(tskvmExpectedStatus(name));
    });
  }
});
