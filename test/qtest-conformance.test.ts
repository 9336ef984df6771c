/**
 * Protocol conformance of the device-model process on points where protocol/README.md makes a
 * promise about the device model's behaviour beyond single devices: error codes of a refused
 * `configure` (§5.2, §8.1), features that were not agreed (§3.2), the processing order of a
 * doorbell against later messages (§4.2, §4.3), and a virtual clock that goes backwards (§10).
 * Each test is the reproduction of a deviation found with the qtest harness (see the report).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../protocol/errors.js';
import type { DeviceSpec } from '../protocol/messages.js';
import { GuestMemory } from '../userspace/devices/virtio/testing/guest-memory.js';
import { DeviceModelProcess } from './qtest/device-model-process.js';
import { QtestClient, QTEST_MEMORY_SIZE } from './qtest/qtest-client.js';
import { QtestVirtioDevice } from './qtest/virtio-mmio-qtest.js';

const COM1: DeviceSpec = { type: 'serial', base: 0x3f8, irq: 4, backend: 'null' };
const COM1_SCR = 0x3ff;
const VERSION_1 = 1n << 32n;
const VIRTIO_SLOT0 = { BASE: 0xd000_0000, IRQ: 5 } as const;

/** The code a rejected promise carries. */
async function rejection(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return errorCode(e) ?? `uncoded: ${String(e)}`;
  }
  return undefined;
}

describe('configure that cannot be built (README §5.2: error CONFIG)', () => {
  let dm: DeviceModelProcess;
  let dir: string;
  beforeAll(async () => {
    dm = await DeviceModelProcess.start({ once: false });
    dir = mkdtempSync(join(tmpdir(), 'tskvm-qtest-conf-'));
  });
  afterAll(async () => {
    await dm.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a missing disk file is CONFIG', async () => {
    const devices: DeviceSpec[] = [{ type: 'ata', path: join(dir, 'no-such-disk.img'), readOnly: false }];
    expect(await rejection(QtestClient.attach(dm.address, { devices }))).toBe('CONFIG');
  });

  it('a bad character backend is CONFIG', async () => {
    const devices: DeviceSpec[] = [{ ...COM1, backend: 'nonsense:here' }];
    expect(await rejection(QtestClient.attach(dm.address, { devices }))).toBe('CONFIG');
  });

  it('two devices on the same ports is CONFIG', async () => {
    expect(await rejection(QtestClient.attach(dm.address, { devices: [COM1, COM1] }))).toBe('CONFIG');
  });
});

describe('features that were not agreed (README §3.2, §8.1 UNSUPPORTED)', () => {
  let client: QtestClient | undefined;
  afterEach(async () => {
    await client?.dispose();
    client = undefined;
  });

  it('refuses configure.clock "virtual" without the virtual-clock feature', async () => {
    const dm = await DeviceModelProcess.start({ once: true });
    try {
      const code = await rejection(QtestClient.attach(dm.address, { devices: [COM1], features: [] }).then((c) => (client = c)));
      expect(['CONFIG', 'UNSUPPORTED']).toContain(code);
    } finally {
      await dm.kill();
    }
  });

  it('refuses a string pioRead (count > 1) without string-pio, and stays up', async () => {
    client = await QtestClient.start({ devices: [COM1], clock: 'host', features: [] });
    expect(await rejection(client.pioRead(COM1_SCR, 1, 4))).toBe('UNSUPPORTED');
    await client.outb(COM1_SCR, 0x5a);
    expect(await client.inb(COM1_SCR)).toBe(0x5a);
  });
});

describe('doorbell processing order (README §4.2 rule 1, §4.3 "in order with other messages")', () => {
  it('a ping sent after a doorbell is answered after the queue work and its irq', async () => {
    const ram = new GuestMemory(QTEST_MEMORY_SIZE);
    const client = await QtestClient.start({
      memory: ram.bytes,
      devices: [{ type: 'virtio', kind: 'rng', base: VIRTIO_SLOT0.BASE, irq: VIRTIO_SLOT0.IRQ, backend: '', options: {} }],
    });
    try {
      const rng = new QtestVirtioDevice(client, ram, VIRTIO_SLOT0.BASE, VIRTIO_SLOT0.IRQ);
      const vq = await rng.init(VERSION_1, 16);
      vq.addChain([{ addr: vq.buffer(64), len: 64, write: true }]);
      expect(rng.kick(0, vq)).toBe(true);
      await client.ping();
      expect(vq.usedIdx).toBe(1);
      expect(client.irq(VIRTIO_SLOT0.IRQ)).toBe(true);
    } finally {
      await client.dispose();
    }
  });
});

describe('virtual clock going backwards (README §10: ignored and logged once)', () => {
  it('keeps time and posts one log line', async () => {
    const client = await QtestClient.start({ devices: [{ type: 'pit', port: 0x40, irq: 0 }] });
    try {
      await client.clockStep(5_000_000);
      const logs = client.logs.length;
      client.peer.post({ type: 'clock', nowNs: 1_000 });
      client.peer.post({ type: 'clock', nowNs: 2_000 });
      await client.ping();
      expect(client.logs.length).toBe(logs + 1);
      // Time did not go back: the PIT's first IRQ0 (at 65536 ticks ≈ 54.9 ms) is still where it was.
      expect(client.deadline).toBe(Math.ceil((0x10000 * 1e9) / 1_193_182));
    } finally {
      await client.dispose();
    }
  });
});
