/**
 * Guest RAM costs what the guest touches: a 1 GiB VM whose guest writes 4 MiB keeps the VMM
 * process's resident memory under 100 MiB (DESIGN.md: host memory allocated on first touch).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTskvm } from './support/tskvm.js';

const MiB = 1024 * 1024;
// as --32: mov $0x100000,%edi ; 1: movl $1,(%edi) ; add $0x1000,%edi ; cmp $0x500000,%edi ; jb 1b ; hlt
const TOUCH_4MIB = [0xbf, 0x00, 0x00, 0x10, 0x00, 0xc7, 0x07, 0x01, 0x00, 0x00, 0x00, 0x81, 0xc7, 0x00, 0x10, 0x00, 0x00, 0x81, 0xff, 0x00, 0x00, 0x50, 0x00, 0x72, 0xec, 0xf4];

describe('memory footprint', () => {
  for (const mmu of ['ept', 'shadow']) {
    it(`1 GiB VM, 4 MiB touched (--mmu ${mmu}): VMM resident memory under 100 MiB`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tskvm-mem-'));
      const image = join(dir, 'touch.bin');
      writeFileSync(image, Buffer.from(TOUCH_4MIB));
      const r = await runTskvm(['run', '--mem', '1G', '--mmu', mmu, '--kernel', image, '--load', '0x1000', '--entry', '0x1000', '--cpu-mode', 'pm32', '--stats=json']);
      expect(r.status).toBe(0);
      const stats = JSON.parse(r.stderr.trim().split('\n').pop() as string);
      expect(stats.memory.guestRamResidentBytes).toBeGreaterThanOrEqual(4 * MiB);
      expect(stats.memory.guestRamResidentBytes).toBeLessThan(5 * MiB);
      expect(stats.memory.rssBytes).toBeLessThan(100 * MiB);
    });
  }
});
