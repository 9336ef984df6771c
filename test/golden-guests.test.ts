/**
 * Golden guests (kvm-unit-tests style): every multiboot guest in guests/images with an expected
 * transcript recorded from QEMU prints exactly those bytes on COM1 and exits with QEMU's status.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUESTS, runTskvm } from './support/tskvm.js';

const expectedDir = join(GUESTS, 'expected');
const names = readdirSync(expectedDir)
  .filter((f) => f.endsWith('.txt'))
  .map((f) => f.slice(0, -4))
  .filter((n) => existsSync(join(GUESTS, 'images', `${n}.elf`)));

describe('golden guests match their QEMU transcripts', () => {
  it('there are golden guests to run', () => {
    expect(names.length).toBeGreaterThan(3);
  });
  for (const name of names) {
    it(name, async () => {
      const expected = readFileSync(join(expectedDir, `${name}.txt`));
      const status = Number(readFileSync(join(expectedDir, `${name}.status`), 'utf8').trim());
      const r = await runTskvm(['run', '--kernel', join(GUESTS, 'images', `${name}.elf`)], { timeoutMs: 120_000 });
      expect(r.stdout.toString('latin1')).toBe(expected.toString('latin1'));
      expect(r.status).toBe(status);
    });
  }
});
