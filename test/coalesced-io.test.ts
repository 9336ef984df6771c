/**
 * Coalesced PIO zones (KVM_REGISTER_COALESCED_MMIO with pio = 1): the device model asks for its
 * debugcon and port 0x80 writes to be queued; the guest's OUTs there cost no round trip, and
 * reach the device in order before the next synchronous message or when the VM stops.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTskvm } from './support/tskvm.js';

describe('coalesced port I/O', () => {
  it('debugcon and port 0x80 writes are queued, not forwarded one by one, and arrive in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tskvm-coalesced-'));
    // as --32 (.code16): mov $0xe9,%dx; mov $'h',%al; out %al,%dx; mov $'i',%al; out %al,%dx;
    //   mov $'\n',%al; out %al,%dx; mov $0x21,%al; out %al,$0x80; hlt
    const image = join(dir, 'debugcon.bin');
    writeFileSync(image, Buffer.from([0xba, 0xe9, 0x00, 0xb0, 0x68, 0xee, 0xb0, 0x69, 0xee, 0xb0, 0x0a, 0xee, 0xb0, 0x21, 0xe6, 0x80, 0xf4]));
    const out = join(dir, 'debugcon.txt');
    const r = await runTskvm(['run', '--kernel', image, '--load', '0x1000', '--entry', '0x1000', '--cpu-mode', 'real', '--debugcon', `0xe9,file=${out}`, '--stats=json']);
    expect(r.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('hi\n');
    const stats = JSON.parse(r.stderr.trim().split('\n').pop() as string);
    expect(stats.vm.coalesced_writes).toBe(4);
    expect(stats.deviceModel.pioWrites).toBe(0);
    expect(stats.vcpus[0].exitReasons.IO_INSTRUCTION).toEqual({ inKernel: 4, userspace: 0 });
  });
});
