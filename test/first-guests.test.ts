/**
 * The foundation's two guests end to end on the two-process pair: the multiboot C hello and the
 * classic 12-byte real-mode KVM example with its exit statistics.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUESTS, runTskvm } from './support/tskvm.js';

const hello = join(GUESTS, 'images', 'hello.elf');
const add = join(GUESTS, 'images', 'realmode-add.bin');
const addArgs = ['--kernel', add, '--load', '0x1000', '--entry', '0x1000', '--cpu-mode', 'real', '--regs', 'eax=2,ebx=2'];

describe('first guests', () => {
  it('the multiboot hello prints its text and exits with its debug-exit status', async () => {
    const r = await runTskvm(['run', '--kernel', hello]);
    expect(r.stdout.toString()).toBe('Hello from a tskvm guest!\nmultiboot magic: 0x2badb002\n');
    expect(r.status).toBe(1); // exit(0) through port 0xF4 → (0 << 1) | 1
    expect(r.stderr).toBe('');
  });

  it('the 12-byte real-mode guest prints 4 and halts with status 0', async () => {
    const r = await runTskvm(['run', ...addArgs]);
    expect(r.stdout.toString()).toBe('4\n');
    expect(r.status).toBe(0);
  });

  it('--stats=json shows 2 io exits forwarded to userspace then a hlt', async () => {
    const r = await runTskvm(['run', ...addArgs, '--stats=json']);
    expect(r.status).toBe(0);
    const stats = JSON.parse(r.stderr.trim().split('\n').pop() as string);
    const v = stats.vcpus[0];
    expect(v.stats.io_exits).toBe(2);
    expect(v.stats.halt_exits).toBe(1);
    expect(v.exitReasons.IO_INSTRUCTION).toEqual({ inKernel: 0, userspace: 2 });
    expect(v.exitReasons.HLT.inKernel + v.exitReasons.HLT.userspace).toBe(1);
    expect(stats.deviceModel.pioWrites).toBe(2);
  });

  it('--stats prints a table on stderr and keeps stdout to the guest bytes', async () => {
    const r = await runTskvm(['run', ...addArgs, '--stats']);
    expect(r.stdout.toString()).toBe('4\n');
    expect(r.stderr).toMatch(/io_exits\s+2/);
    expect(r.stderr).toMatch(/halt_exits\s+1/);
  });

  it('with AL=BL=3 it prints 6 (the registers are really used)', async () => {
    const r = await runTskvm(['run', ...addArgs.slice(0, -1), 'eax=3,ebx=3']);
    expect(r.stdout.toString()).toBe('6\n');
  });
});
