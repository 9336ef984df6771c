/**
 * Host-side failures of the two-process pair: the device-model process killed mid-run makes
 * the VMM stop within a second with status 70 and one clear line, leaving no process behind.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestImagePath } from '../guests/catalog.js';
import { startTskvm } from './support/tskvm.js';

/** Children of a process, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(state); // a zombie is dead, only not yet reaped
  } catch {
    return false;
  }
}

async function until<T>(what: () => T | undefined, ms: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = what();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('device-model process failure', () => {
  it('SIGKILL of the device model mid-run: status 70 within a second, one line, no orphan', async () => {
    // A real-mode guest that spins forever: `jmp $` (EB FE) at 0x1000.
    const dir = mkdtempSync(join(tmpdir(), 'tskvm-kill-'));
    const spin = join(dir, 'spin.bin');
    writeFileSync(spin, Buffer.from([0xeb, 0xfe]));
    const vmm = startTskvm(['run', '--kernel', spin, '--load', '0x1000', '--entry', '0x1000', '--cpu-mode', 'real'], { timeoutMs: 20_000 });
    const vmmPid = vmm.child.pid as number;
    const dmPid = await until(() => childrenOf(vmmPid)[0], 5_000);
    await new Promise((r) => setTimeout(r, 300)); // let the guest run for a while
    expect(alive(vmmPid)).toBe(true);
    const killedAt = Date.now();
    process.kill(dmPid, 'SIGKILL');
    const r = await vmm.done;
    const took = Date.now() - killedAt;
    expect(r.status).toBe(70);
    expect(took).toBeLessThan(1000);
    const l = r.stderr.trim().split('\n');
    expect(l).toHaveLength(1);
    expect(l[0]).toMatch(/device-model process exited \(signal SIGKILL\)/);
    expect(alive(dmPid)).toBe(false);
    expect(existsSync(`/proc/${vmmPid}`) && alive(vmmPid)).toBe(false);
  });

  it('SIGKILL of the VMM: the spawned device model sees the socket close and exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tskvm-kill-'));
    const spin = join(dir, 'spin.bin');
    writeFileSync(spin, Buffer.from([0xeb, 0xfe]));
    const vmm = startTskvm(['run', '--kernel', spin, '--load', '0x1000', '--entry', '0x1000', '--cpu-mode', 'real'], { timeoutMs: 20_000 });
    const vmmPid = vmm.child.pid as number;
    const dmPid = await until(() => childrenOf(vmmPid)[0], 5_000);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(vmmPid, 'SIGKILL');
    await vmm.done;
    await until(() => (alive(dmPid) ? undefined : true), 2_000);
    expect(alive(dmPid)).toBe(false);
  });

  it('SIGKILL of the device model during virtio-blk I/O: status 70 with one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tskvm-kill-'));
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, '');
    truncateSync(disk, 512 * 1024 * 1024); // sparse: only what the guest writes takes space
    const vmm = startTskvm(['run', '--kernel', guestImagePath('bench-disk'), '--append', 'dev=virtio bs=65536 total=268435456', '--disk', `${disk},if=virtio`], { timeoutMs: 20_000 });
    const dmPid = await until(() => childrenOf(vmm.child.pid as number)[0], 5_000);
    await new Promise((r) => setTimeout(r, 700)); // the guest is streaming requests by now
    const killedAt = Date.now();
    process.kill(dmPid, 'SIGKILL');
    const r = await vmm.done;
    expect(r.status).toBe(70);
    expect(Date.now() - killedAt).toBeLessThan(1000);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^tskvm: device model connection lost: device-model process exited \(signal SIGKILL\)$/)]);
  });
});
