/**
 * Exit statuses and host-visible counters of the command-line contract that the golden guests
 * do not already pin: an unmapped port reads as all ones and is counted by the device model's
 * bus; an i8042 reset request ends the run with status 2; a triple fault names CS:EIP.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestImagePath } from '../guests/catalog.js';
import { runTskvm } from './support/tskvm.js';

const dir = mkdtempSync(join(tmpdir(), 'tskvm-status-'));

/** A raw 16-bit guest at 0x1000 (assembled with GNU as; source in each test). */
function realModeImage(name: string, bytes: number[]): string[] {
  const path = join(dir, `${name}.bin`);
  writeFileSync(path, Buffer.from(bytes));
  return ['run', '--kernel', path, '--load', '0x1000', '--entry', '0x1000', '--cpu-mode', 'real'];
}

describe('exit statuses and counters', () => {
  it('reading an unmapped port gives all ones, and the device model counts the misses', async () => {
    // mov $0x9999,%dx; in %dx,%al; mov $0x3f8,%dx; out %al,%dx;
    // mov $0x9998,%dx; in %dx,%ax; mov $0x3f8,%dx; out %al,%dx; mov %ah,%al; out %al,%dx; hlt
    const args = realModeImage('unmapped', [0xba, 0x99, 0x99, 0xec, 0xba, 0xf8, 0x03, 0xee, 0xba, 0x98, 0x99, 0xed, 0xba, 0xf8, 0x03, 0xee, 0x88, 0xe0, 0xee, 0xf4]);
    const r = await runTskvm([...args, '--stats=json']);
    expect(r.status).toBe(0);
    expect([...r.stdout]).toEqual([0xff, 0xff, 0xff]);
    const stats = JSON.parse(r.stderr.trim().split('\n').pop() as string);
    expect(stats.devices['pio.readMisses']).toBe(2);
    expect(stats.devices['pio.misses']).toBe(2);
  });

  it('an i8042 reset (0xFE to port 0x64) ends the run with status 2', async () => {
    // mov $0xfe,%al; out %al,$0x64; hlt
    const r = await runTskvm(realModeImage('reset', [0xb0, 0xfe, 0xe6, 0x64, 0xf4]));
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['tskvm: guest requested a reset']);
  });

  it('a triple fault ends the run with status 3 and CS:EIP on stderr', async () => {
    const r = await runTskvm(['run', '--kernel', guestImagePath('triple-fault')]);
    expect(r.status).toBe(3);
    expect(r.stderr.trim()).toMatch(/^tskvm: triple fault at CS:EIP [0-9a-f]{4}:[0-9a-f]{8}$/);
  });
});
