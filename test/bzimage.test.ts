/**
 * `tskvm run --kernel BZIMAGE` end to end: the linux-boot guest sees the command line, the e820
 * map and the initrd the 32-bit boot protocol promises, under both MMUs; an unusable bzImage is
 * one line and status 65.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestImagePath, readGuestImage } from '../guests/catalog.js';
import { runTskvm } from './support/tskvm.js';

function fnv1a(b: Uint8Array): number {
  let h = 2166136261;
  for (const x of b) h = Math.imul(h ^ x, 16777619) >>> 0;
  return h;
}

describe('bzImage through the 32-bit boot protocol', () => {
  for (const mmu of ['ept', 'shadow']) {
    it(`passes the command line, e820 map and initrd (--mmu ${mmu}, --mem 48M)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tskvm-bz-'));
      const initrd = new Uint8Array(300_001).map((_, i) => (i * 2654435761) >>> 24);
      writeFileSync(join(dir, 'initrd'), initrd);
      writeFileSync(join(dir, 'disk'), new Uint8Array(4096));
      const r = await runTskvm(['run', '--mmu', mmu, '--mem', '48M', '--kernel', guestImagePath('linux-boot'),
        '--append', 'console=ttyS0 quiet', '--initrd', join(dir, 'initrd'), '--disk', `${join(dir, 'disk')},if=virtio`]);
      const out = r.stdout.toString('latin1');
      expect(r.status).toBe(1);
      expect(out).not.toContain('FAIL');
      expect(out).toContain('PASS initrd-placement');
      expect(out).toContain('DONE 6/6');
      // tskvm announces the virtio disk on the command line, as for multiboot guests
      expect(out).toContain('cmdline: "console=ttyS0 quiet virtio_mmio.device=4K@0xd0000000:5"\n');
      expect(out).toContain('e820: [0x00100000-0x02ffffff] type 1\n');
      expect(out).toContain(`initrd: 300001 bytes, fnv1a 0x${fnv1a(initrd).toString(16).padStart(8, '0')}\n`);
    });
  }

  it('a truncated bzImage is one line and status 65', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tskvm-bz-'));
    writeFileSync(join(dir, 'bad'), readGuestImage('linux-boot').subarray(0, 1024));
    const r = await runTskvm(['run', '--kernel', join(dir, 'bad')]);
    expect(r.status).toBe(65);
    expect(r.stderr.trim().split('\n')).toEqual(['tskvm: bzImage: truncated (setup is 1 sectors, file is 1024 bytes)']);
  });
});
