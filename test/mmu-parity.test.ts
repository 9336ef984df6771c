/**
 * Both MMUs run the guests beyond the golden transcripts too: virtio guests pass their own
 * checks, and the page-table-heavy guest computes the same checksum under EPT and shadow paging
 * (with very different exit counts: that difference is what `tskvm bench` reports).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestImagePath } from '../guests/catalog.js';
import { runTskvm } from './support/tskvm.js';

describe('EPT and shadow paging run the same guests', () => {
  for (const mmu of ['ept', 'shadow']) {
    it(`virtio-blk and virtio-rng guests pass under --mmu ${mmu}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tskvm-mmu-'));
      const disk = join(dir, 'v.img');
      writeFileSync(disk, Buffer.alloc(1024 * 1024));
      const blk = await runTskvm(['run', '--mmu', mmu, '--kernel', guestImagePath('virtio-blk'), '--disk', `${disk},if=virtio`]);
      expect(blk.stdout.toString()).toMatch(/^DONE (\d+)\/\1$/m);
      expect(blk.stdout.toString()).not.toMatch(/^FAIL/m);
      const rng = await runTskvm(['run', '--mmu', mmu, '--kernel', guestImagePath('virtio-rng'), '--rng', 'virtio']);
      expect(rng.stdout.toString()).toMatch(/^DONE (\d+)\/\1$/m);
    });
  }

  it('the page-table-heavy guest gives the same checksum under both MMUs', async () => {
    const checksum = async (mmu: string): Promise<string> => {
      const r = await runTskvm(['run', '--mmu', mmu, '--kernel', guestImagePath('bench-paging'), '--append', 'iters=50']);
      expect(r.status).toBe(1);
      return /checksum=(0x[0-9a-f]+)/.exec(r.stdout.toString())?.[1] ?? 'missing';
    };
    const ept = await checksum('ept');
    expect(ept).toMatch(/^0x/);
    expect(await checksum('shadow')).toBe(ept);
  });
});
