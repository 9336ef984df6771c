/**
 * Runs the device, virtio, benchmark and demo guests on the built tskvm (bin/tskvm.js → dist/) with
 * the devices their catalog entry asks for, and checks their transcripts: the expected files for
 * the QEMU/hand-recorded ones, all PASS for the self-checking virtio guests, one result line for
 * the benchmarks.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTskvm, runTskvm } from './support/tskvm.js';
import { type GuestName, GUESTS, guestImagePath, readExpected, tskvmExpectedStatus, tskvmRunArgs, VIRTIO_BLK_GUEST_PATTERN } from '../guests/catalog.js';
import { parseTranscript } from '../guests/transcript.js';

const TIMEOUT_MS = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'tskvm-guests-'));
let files = 0;

/** Fresh zero-filled disk files for a guest's run.disks. */
function disksFor(name: GuestName): string[] {
  return (GUESTS[name] as { run?: { disks?: readonly { bytes: number }[] } }).run?.disks?.map((d) => {
    const path = join(dir, `disk-${files++}.img`);
    writeFileSync(path, Buffer.alloc(d.bytes));
    return path;
  }) ?? [];
}

function run(name: GuestName, extra: string[] = [], opts: { append?: string; disks?: string[]; stdin?: string } = {}) {
  const disks = opts.disks ?? disksFor(name);
  const args = ['run', '--kernel', guestImagePath(name), ...tskvmRunArgs(name, { disks, ...(opts.append !== undefined ? { append: opts.append } : {}) }), ...extra];
  return runTskvm(args, { timeoutMs: TIMEOUT_MS, ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) });
}

function expectAllPass(text: string): void {
  const t = parseTranscript(text);
  expect(t.failed).toEqual([]);
  expect(t.passed.length).toBeGreaterThan(0);
  expect(t.done).toEqual({ passed: t.passed.length, total: t.passed.length });
}

describe('device guests on tskvm', () => {
  for (const name of ['dev-ata', 'dev-misprogram', 'dev-timer'] as const) {
    it(`${name} prints its expected transcript`, async () => {
      const r = await run(name);
      expect(r.stdout.toString('latin1')).toBe(Buffer.from(readExpected(name).output).toString('latin1'));
      expect(r.status).toBe(tskvmExpectedStatus(name));
    });
  }

  it('dev-timer with raw counts is byte-identical across two --clock virtual runs, with the same exits', async () => {
    const exits = (file: string) => {
      const stats = JSON.parse(readFileSync(file, 'utf8')) as { vcpus: { stats: Record<string, number> }[] };
      const v = stats.vcpus[0]!.stats;
      // signal_exits is left out: it counts the host's time slices, not guest events.
      return ['exits', 'io_exits', 'halt_exits', 'irq_injections', 'userspace_exits'].map((k) => [k, v[k]]);
    };
    const a = await run('dev-timer', ['--stats=json:' + join(dir, 'timer-a.json')], { append: 'raw=1' });
    const b = await run('dev-timer', ['--stats=json:' + join(dir, 'timer-b.json')], { append: 'raw=1' });
    expect(tskvmRunArgs('dev-timer')).toEqual(['--clock', 'virtual']);
    expectAllPass(a.stdout.toString('utf8'));
    expect(a.stdout.toString('utf8')).toMatch(/^pit ticks 20 hlt wakeups 20$/m);
    expect(b.stdout.equals(a.stdout)).toBe(true);
    expect(exits(join(dir, 'timer-b.json'))).toEqual(exits(join(dir, 'timer-a.json')));
    expect(exits(join(dir, 'timer-a.json'))[0]![1]).toBeGreaterThan(0);
  });

  it('the ATA guests end at once with a FAIL when there is no disk', async () => {
    for (const name of ['dev-ata', 'dev-misprogram'] as const) {
      const r = await runTskvm(['run', '--kernel', guestImagePath(name)], { timeoutMs: TIMEOUT_MS });
      expect(r.stdout.toString()).toMatch(/^FAIL [a-z0-9-]+: no ATA master: run with a 1 MiB --disk FILE,if=ide\nDONE 0\/1\n$/);
      expect(r.status).toBe(3);
    }
  });

  it('spin prints "spinning" and runs until killed', async () => {
    const s = startTskvm(['run', '--kernel', guestImagePath('spin')], { timeoutMs: TIMEOUT_MS });
    const out: Buffer[] = [];
    await new Promise<void>((resolve) => s.child.stdout?.on('data', (b: Buffer) => {
      out.push(b);
      if (Buffer.concat(out).toString().includes('spinning\n')) resolve();
    }));
    expect(s.child.exitCode).toBeNull();
    s.child.kill('SIGKILL');
    const r = await s.done;
    expect(r.signal).toBe('SIGKILL');
  });
});

describe('virtio guests on tskvm', () => {
  it('virtio-blk passes with interrupts and polled, and leaves the documented pattern', async () => {
    const disks = disksFor('virtio-blk');
    for (const append of ['irq=1', 'irq=0']) {
      const r = await run('virtio-blk', [], { disks, append });
      const text = r.stdout.toString('utf8');
      expectAllPass(text);
      expect(text).toContain(`wrote ${VIRTIO_BLK_GUEST_PATTERN.SECTORS} sectors\n`);
      expect(r.status).toBe(1);
    }
    const img = readFileSync(disks[0]!);
    const P = VIRTIO_BLK_GUEST_PATTERN;
    for (let s = P.FIRST_SECTOR; s < P.FIRST_SECTOR + P.SECTORS; s++)
      for (const off of [0, 1, 255, 511]) expect(img[s * P.SECTOR_BYTES + off]).toBe(P.byte(s, off));
    expect(img.subarray(0, P.SECTOR_BYTES).every((b) => b === 0)).toBe(true);
    expect(img[(P.FIRST_SECTOR + P.SECTORS) * P.SECTOR_BYTES]).toBe(0);
  });

  it('virtio-rng passes', async () => {
    const r = await run('virtio-rng');
    expectAllPass(r.stdout.toString('utf8'));
    expect(r.status).toBe(1);
  });

  it('virtio-console greets, echoes its input and stops at "quit"', async () => {
    const com1 = join(dir, 'com1.txt');
    const r = await run('virtio-console', ['--serial', `file:${com1}`], { stdin: 'hello\nquit\nnot echoed\n' });
    expect(r.stdout.toString('utf8')).toBe('virtio-console ready\nhello\nquit\n');
    expectAllPass(readFileSync(com1, 'utf8'));
    expect(r.status).toBe(1);
  });

  it('virtio-net ping and pong exchange 3 frames through a hub', async () => {
    const hub = startTskvm(['hub', '--listen', '0'], { timeoutMs: TIMEOUT_MS });
    const url = await new Promise<string>((resolve) => {
      let err = '';
      hub.child.stderr?.on('data', (b: Buffer) => {
        err += b.toString();
        const m = /ws:\/\/127\.0\.0\.1:\d+/.exec(err);
        if (m) resolve(m[0]);
      });
    });
    try {
      const args = (role: string) => ['run', '--kernel', guestImagePath('virtio-net'), ...tskvmRunArgs('virtio-net', { hub: url, append: `role=${role}` })];
      const [pong, ping] = await Promise.all([runTskvm(args('pong'), { timeoutMs: TIMEOUT_MS }), runTskvm(args('ping'), { timeoutMs: TIMEOUT_MS })]);
      for (const [r, role] of [[ping, 'ping'], [pong, 'pong']] as const) {
        const t = parseTranscript(r.stdout.toString('utf8'));
        expect(t.failed, `${role}: ${r.stdout.toString()}${r.stderr}`).toEqual([]);
        expect(t.passed).toEqual(expect.arrayContaining([`virtio-net-${role}-1`, `virtio-net-${role}-2`, `virtio-net-${role}-3`]));
        expect(r.status).toBe(1);
      }
    } finally {
      hub.child.kill('SIGTERM');
      await hub.done;
    }
  });
});

describe('benchmark and demo guests on tskvm', () => {
  const cases: [GuestName, string, RegExp][] = [
    ['bench-compute', 'iters=3', /^bench-compute iters=3 tsc=0x[0-9a-f]+ checksum=0x[0-9a-f]{8}$/],
    ['bench-cpuid', 'n=1000', /^bench-cpuid n=1000 tsc=0x[0-9a-f]+ ok$/],
    ['bench-pio', 'n=1000', /^bench-pio n=1000 tsc=0x[0-9a-f]+ ok$/],
    ['bench-mmio', 'n=1000', /^bench-mmio n=1000 tsc=0x[0-9a-f]+ ok$/],
    ['bench-doorbell', 'n=1000', /^bench-doorbell n=1000 tsc=0x[0-9a-f]+ ok$/],
    ['bench-paging', 'iters=5', /^bench-paging iters=5 tsc=0x[0-9a-f]+ checksum=0x[0-9a-f]{8}$/],
    ['bench-timer', 'ticks=20', /^bench-timer ticks=20 tsc=0x[0-9a-f]+ halts=20$/],
    ['bench-disk', 'dev=ata bs=65536 total=262144', /^bench-disk dev=ata bs=65536 total=262144 tsc=0x[0-9a-f]+ ok$/],
  ];
  for (const [name, append, line] of cases) {
    it(`${name} ${append} prints its result line and exits 0`, async () => {
      const r = await run(name, [], { append });
      expect(r.stdout.toString('utf8').trimEnd()).toMatch(line);
      expect(r.status).toBe(1);
    });
  }

  it('bench-disk dev=virtio writes and reads back through virtio-blk with several requests in flight', async () => {
    const disk = join(dir, 'bench-virtio.img');
    writeFileSync(disk, Buffer.alloc(1024 * 1024));
    const r = await runTskvm(['run', '--kernel', guestImagePath('bench-disk'), '--disk', `${disk},if=virtio`, '--append', 'dev=virtio bs=4096 total=65536'], { timeoutMs: TIMEOUT_MS });
    expect(r.stdout.toString().trimEnd()).toMatch(/^bench-disk dev=virtio bs=4096 total=65536 tsc=0x[0-9a-f]+ ok$/);
    expect(r.status).toBe(1);
    // Block 3 (sectors 24-31) holds its index xor the byte offset of each 32-bit word.
    expect(readFileSync(disk).readUInt32LE(3 * 4096 + 8)).toBe(3 ^ 8);
  });

  it.each([
    ['polling for completions (irq=0)', 'irq=0'],
    ['checking stamps only (verify=stamp)', 'verify=stamp'],
  ])('bench-disk dev=virtio %s', async (_what, extra) => {
    const disk = join(dir, 'bench-virtio-more.img');
    writeFileSync(disk, Buffer.alloc(8 * 1024 * 1024));
    // 8 MiB of 4 KiB requests: two 4 MiB batches of 1024 requests each way
    const r = await runTskvm(['run', '--kernel', guestImagePath('bench-disk'), '--disk', `${disk},if=virtio`, '--append', `dev=virtio bs=4096 total=8388608 ${extra}`], { timeoutMs: TIMEOUT_MS });
    expect(r.stdout.toString().trimEnd()).toMatch(/^bench-disk dev=virtio bs=4096 total=8388608( verify=stamp)? tsc=0x[0-9a-f]+ ok$/);
    expect(r.status).toBe(1);
    const image = readFileSync(disk);
    // the last block's first dword: its index (full check) or its stamp (0x5a000000 ^ index << 1)
    expect(image.readUInt32LE(2047 * 4096)).toBe(extra === 'irq=0' ? 2047 : (0x5a000000 ^ (2047 << 1)) >>> 0);
  });

  it('bench-compute gives the same checksum twice', async () => {
    const sum = async () => /checksum=(0x[0-9a-f]+)/.exec((await run('bench-compute', [], { append: 'iters=2' })).stdout.toString())?.[1];
    const a = await sum();
    expect(a).toBeDefined();
    expect(await sum()).toBe(a);
  });

  it('bench-console sends its bytes through the UART and through virtio-console', async () => {
    // 1024 bytes = 16 whole lines of 64, so the result line starts on a line of its own.
    const uart = await run('bench-console', [], { append: 'dev=uart bytes=1024' });
    const text = uart.stdout.toString('latin1');
    const result = /\nbench-console dev=uart bytes=1024 tsc=0x[0-9a-f]+ ok\n$/.exec(text);
    expect(result).not.toBeNull();
    expect(text.length).toBe(1024 + result![0].length - 1);
    expect(text.slice(0, 64)).toBe('abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk\n');
    const out = join(dir, 'console.txt');
    const v = await run('bench-console', ['--console', `virtio,file:${out}`], { append: 'dev=virtio bytes=5000' });
    expect(v.stdout.toString()).toMatch(/^bench-console dev=virtio bytes=5000 tsc=0x[0-9a-f]+ ok\n$/);
    expect(readFileSync(out).length).toBe(5000);
  });

  it('demo uses every device and exits 0', async () => {
    const r = await run('demo');
    const text = r.stdout.toString('utf8');
    for (const what of ['PIT IRQ0 with HLT', 'ATA PIO sector write/read (IRQ14)', 'virtio-blk sector write/read', 'virtio-console line'])
      expect(text).toMatch(new RegExp(`^demo: ${what.replace(/[()]/g, '\\$&')} +ok$`, 'm'));
    expect(text).toContain('Hello from the tskvm demo over virtio-console!\n');
    expect(text).not.toContain('FAILED');
    expect(r.status).toBe(1);
  });
});
