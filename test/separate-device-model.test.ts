/**
 * The device model started on its own (`tskvm devices --listen`) and the VMM connecting to it
 * over a Unix socket and over a WebSocket. COM1 is a device-model backend, so the guest's text
 * appears on the device model's stdout, as with a QEMU chardev.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUESTS, runTskvm, startTskvm, type Started } from './support/tskvm.js';

const hello = join(GUESTS, 'images', 'hello.elf');

/** Start a device model and wait until it says where it listens. */
export async function startDeviceModel(listen: string): Promise<Started & { address: string }> {
  const dm = startTskvm(['devices', '--listen', listen, '--once'], { timeoutMs: 60_000 });
  const address = await new Promise<string>((resolve, reject) => {
    let err = '';
    dm.child.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve(m[1] as string);
    });
    dm.child.on('exit', () => reject(new Error(`device model exited early: ${err}`)));
  });
  return { ...dm, address };
}

describe('VMM and device model as separate processes', () => {
  it('over a Unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tskvm-dm-'));
    const dm = await startDeviceModel(`unix:${join(dir, 'dm.sock')}`);
    const vmm = await runTskvm(['run', '--kernel', hello, '--devices', dm.address]);
    const dmResult = await dm.done;
    expect(vmm.status).toBe(1);
    expect(vmm.stdout.length).toBe(0);
    expect(dmResult.stdout.toString()).toBe('Hello from a tskvm guest!\nmultiboot magic: 0x2badb002\n');
    expect(dmResult.status).toBe(0);
  });

  it('over a WebSocket', async () => {
    const dm = await startDeviceModel('ws://127.0.0.1:0');
    expect(dm.address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const vmm = await runTskvm(['run', '--kernel', hello, '--devices', dm.address]);
    const dmResult = await dm.done;
    expect(vmm.status).toBe(1);
    expect(dmResult.stdout.toString()).toBe('Hello from a tskvm guest!\nmultiboot magic: 0x2badb002\n');
  });

  it('a device model that is not there is a host failure (70) with one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tskvm-dm-'));
    const r = await runTskvm(['run', '--kernel', hello, '--devices', `unix:${join(dir, 'nobody.sock')}`]);
    expect(r.status).toBe(70);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot connect to the device model/);
  });
});
