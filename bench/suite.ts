/**
 * The benchmark suite (`tskvm bench`): each row runs real guests on the real two-process pair
 * and reports a median over repeated runs, with its unit and, where the project has one, its
 * target. Rows compare the two I/O paths (full emulation vs virtio), the two MMUs, the two PIT
 * placements and the two transports, beside the raw transport floor measured in the same run.
 */
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectPeer } from '../protocol/session.js';
import { measurePingPong } from '../protocol/bench-pingpong.js';
import { GUEST_IMAGES, median, runGuest, TSKVM_BIN, type GuestRun } from './run-guest.js';

export interface Row {
  id: string;
  label: string;
  value: number;
  unit: string;
  /** Target from the issues, with its direction. */
  target?: { op: '>=' | '<='; value: number };
  /** Extra figures (exits per MiB, counts) shown beside the value. */
  detail?: string;
}

export interface SuiteOptions {
  runs: number;
  log: (line: string) => void;
}

const MiB = 1024 * 1024;
/** guests/linux's /init leaves through isa-debug-exit with 0x2a: status (0x2a << 1) | 1. */
const LINUX_INIT_STATUS = 85;

function image(name: string): string {
  return join(GUEST_IMAGES, `${name}.elf`);
}

/** Run a benchmark guest `runs` times; every run must exit with the guest's success status. */
async function repeat(name: string, extra: readonly string[], runs: number): Promise<GuestRun[]> {
  const out: GuestRun[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await runGuest(['--kernel', image(name), ...extra]);
    if (r.status !== 1 && r.status !== 0) throw new Error(`${name} ${extra.join(' ')} exited with status ${r.status}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
    out.push(r);
  }
  return out;
}

const exitsOf = (r: GuestRun): number => r.stats.vcpus.reduce((n, v) => n + (v.stats['exits'] ?? 0), 0);
const userExitsOf = (r: GuestRun): number => r.stats.vcpus.reduce((n, v) => n + (v.stats['userspace_exits'] ?? 0), 0);
const instructionsOf = (r: GuestRun): number => r.stats.vcpus.reduce((n, v) => n + v.instructions, 0);

/** Per-operation cost in µs from a guest that performs `n` of them. */
async function perOp(name: string, n: number, extra: readonly string[], runs: number): Promise<{ us: number; exits: number }> {
  const rs = await repeat(name, ['--append', `n=${n}`, ...extra], runs);
  return { us: median(rs.map((r) => (r.stats.runMs * 1000) / n)), exits: median(rs.map(exitsOf)) };
}

/**
 * Marginal cost in µs of one operation: runs with n and 2n operations, (t(2n) - t(n)) / n, so
 * that boot, device-model start and JIT warm-up (tens of ms) do not count as per-exit cost.
 */
async function marginalOp(name: string, n: number, runs: number): Promise<{ us: number; exits: number }> {
  const once = await repeat(name, ['--append', `n=${n}`], runs);
  const twice = await repeat(name, ['--append', `n=${2 * n}`], runs);
  const us = once.map((r, i) => ((twice[i]!.stats.runMs - r.stats.runMs) * 1000) / n);
  return { us: median(us), exits: median(twice.map(exitsOf)) - median(once.map(exitsOf)) };
}

/** Throughput in MiB/s and exits per MiB from a guest that moves `bytes`. */
async function throughput(name: string, append: string, bytes: number, extra: readonly string[], runs: number): Promise<{ mibps: number; exitsPerMiB: number }> {
  const rs = await repeat(name, ['--append', append, ...extra], runs);
  return {
    mibps: median(rs.map((r) => bytes / MiB / (r.stats.runMs / 1000))),
    exitsPerMiB: median(rs.map((r) => exitsOf(r) / (bytes / MiB))),
  };
}

/**
 * Marginal throughput: runs moving `bytes` and half of it, (bytes/2) / (t(bytes) - t(bytes/2)),
 * so the fixed part of a run (guest boot, warm-up, feature negotiation) counts on neither path.
 * `append(total)` is the guest's command line for a run that moves `total` each way.
 */
async function marginalThroughput(name: string, append: (total: number) => string, total: number, extra: readonly string[], runs: number): Promise<{ mibps: number; exitsPerMiB: number }> {
  const half = await repeat(name, ['--append', append(total / 2), ...extra], runs);
  const full = await repeat(name, ['--append', append(total), ...extra], runs);
  const movedMiB = (2 * (total / 2)) / MiB; // write + read of the second half
  return {
    mibps: median(full.map((r, i) => movedMiB / ((r.stats.runMs - half[i]!.stats.runMs) / 1000))),
    exitsPerMiB: (median(full.map(exitsOf)) - median(half.map(exitsOf))) / movedMiB,
  };
}

/** A device model started on its own (`tskvm devices --listen ADDRESS --once`). */
async function startDeviceModel(address: string): Promise<{ bound: string; closed: Promise<unknown> }> {
  const dm = spawn(process.execPath, [TSKVM_BIN, 'devices', '--listen', address, '--once'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const bound = await new Promise<string>((resolve, reject) => {
    let err = '';
    dm.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve(m[1] as string);
    });
    dm.on('exit', () => reject(new Error(`device model exited: ${err}`)));
  });
  return { bound, closed: new Promise((resolve) => dm.on('close', resolve)) };
}

/** The raw transport floor: msgpack request/reply to a real device-model process. */
async function transportFloor(address: string): Promise<number> {
  const dm = await startDeviceModel(address);
  const { peer } = await connectPeer(dm.bound, { features: [], role: 'qtest' });
  const r = await measurePingPong(peer, { rounds: 2000 });
  peer.close();
  await dm.closed;
  return r.p50Us;
}

/** Start-up: time from spawning `tskvm run` to the first COM1 byte. */
async function startup(runs: number): Promise<{ firstByteMs: number; rssMiB: number }> {
  const rs: GuestRun[] = [];
  for (let i = 0; i < runs; i++) rs.push(await runGuest(['--kernel', image('hello'), '--mem', '128M']));
  return { firstByteMs: median(rs.map((r) => r.firstByteMs)), rssMiB: median(rs.map((r) => r.stats.memory.rssBytes / MiB)) };
}

function hasImage(name: string): boolean {
  return existsSync(image(name));
}

export async function runSuite(o: SuiteOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const add = (r: Row): void => {
    rows.push(r);
    o.log(formatRow(r));
  };
  const runs = o.runs;

  if (hasImage('bench-compute')) {
    const rs = await repeat('bench-compute', [], runs);
    const guestMs = (r: GuestRun): number => r.stats.vcpus.reduce((n, v) => n + (v.stats['guest_ns'] ?? 0), 0) / 1e6;
    add({ id: 'guest_mips', label: 'guest instructions per second in the guest (bench-compute)', value: median(rs.map((r) => instructionsOf(r) / guestMs(r) / 1000)), unit: 'M instr/s', target: { op: '>=', value: 150 } });
    add({ id: 'guest_mips_wall', label: '  same, over the whole run (incl. I/O waits)', value: median(rs.map((r) => instructionsOf(r) / r.stats.runMs / 1000)), unit: 'M instr/s' });
  }
  if (hasImage('bench-cpuid')) {
    const c = await marginalOp('bench-cpuid', 500_000, runs);
    add({ id: 'exit_in_kernel_us', label: 'in-kernel exit (CPUID loop, marginal: 1M - 500k exits)', value: c.us, unit: 'µs/exit', target: { op: '<=', value: 0.5 }, detail: `${c.exits} more exits` });
  }
  const floorUnix = await transportFloor(`unix:${join(mkdtempSync(join(tmpdir(), 'tskvm-floor-')), 'dm.sock')}`);
  add({ id: 'transport_floor_unix_us', label: 'raw transport floor (msgpack ping-pong, unix)', value: floorUnix, unit: 'µs' });
  const floorWs = await transportFloor('ws://127.0.0.1:0');
  add({ id: 'transport_floor_ws_us', label: 'raw transport floor (msgpack ping-pong, ws)', value: floorWs, unit: 'µs' });
  if (hasImage('bench-pio')) {
    const p = await perOp('bench-pio', 20_000, [], runs);
    add({ id: 'pio_roundtrip_us', label: 'port-I/O round trip to the device model', value: p.us, unit: 'µs', target: { op: '<=', value: 1.3 * floorUnix }, detail: `${(p.us / floorUnix).toFixed(2)}× floor` });
  }
  if (hasImage('bench-mmio')) {
    const m = await perOp('bench-mmio', 20_000, ['--rng', 'virtio'], runs);
    add({ id: 'mmio_roundtrip_us', label: 'MMIO round trip to the device model', value: m.us, unit: 'µs', detail: `${(m.us / floorUnix).toFixed(2)}× floor` });
  }
  if (hasImage('bench-doorbell')) {
    const d = await perOp('bench-doorbell', 20_000, ['--rng', 'virtio'], runs);
    add({ id: 'doorbell_us', label: 'posted doorbell (ioeventfd), incl. the DMA it triggers on the VMM thread', value: d.us, unit: 'µs' });
  }
  if (hasImage('bench-console')) {
    const uart = await throughput('bench-console', `dev=uart bytes=${64 * 1024}`, 64 * 1024, ['--serial', 'null'], runs);
    const virtio = await throughput('bench-console', `dev=virtio bytes=${4 * MiB}`, 4 * MiB, ['--serial', 'null', '--console', 'virtio,null'], runs);
    add({ id: 'console_16550_mibps', label: 'console 16550', value: uart.mibps, unit: 'MiB/s', detail: `${Math.round(uart.exitsPerMiB)} exits/MiB` });
    add({ id: 'console_virtio_mibps', label: 'console virtio-console', value: virtio.mibps, unit: 'MiB/s', detail: `${Math.round(virtio.exitsPerMiB)} exits/MiB` });
    add({ id: 'console_speedup', label: 'virtio-console / 16550 throughput', value: virtio.mibps / uart.mibps, unit: '×', target: { op: '>=', value: 50 } });
  }
  if (hasImage('bench-disk')) {
    const dir = mkdtempSync(join(tmpdir(), 'tskvm-disk-'));
    const disk = join(dir, 'disk.img');
    try {
      // ATA moves 1 MiB each way (about 2 s a run), virtio-blk 64 MiB, each also with half of
      // that: the rows are marginal (marginalThroughput), so a run's fixed part (guest boot,
      // warm-up, feature negotiation: 0.2-0.3 s) counts on neither path. Both check a stamp at
      // each end of every block instead of every dword (bench-disk verify=stamp), so the guest's
      // own work stays small next to the I/O on both paths.
      const ataBytes = 1 * MiB;
      const virtioBytes = 64 * MiB;
      writeFileSync(disk, '');
      truncateSync(disk, virtioBytes); // sparse: the rows write before they read
      for (const bs of [4096, 65536]) {
        const ata = await marginalThroughput('bench-disk', (t) => `dev=ata bs=${bs} total=${t} verify=stamp`, ataBytes, ['--disk', `${disk},if=ide`], runs);
        const vio = await marginalThroughput('bench-disk', (t) => `dev=virtio bs=${bs} total=${t} verify=stamp`, virtioBytes, ['--disk', `${disk},if=virtio`], runs);
        const k = bs / 1024;
        add({ id: `disk_ata_${k}k_mibps`, label: `disk ATA PIO, ${k} KiB sequential write+read (marginal)`, value: ata.mibps, unit: 'MiB/s', detail: `${Math.round(ata.exitsPerMiB)} exits/MiB` });
        add({ id: `disk_virtio_${k}k_mibps`, label: `disk virtio-blk, ${k} KiB sequential write+read (marginal)`, value: vio.mibps, unit: 'MiB/s', detail: `${Math.round(vio.exitsPerMiB)} exits/MiB` });
        add({ id: `disk_speedup_${k}k`, label: `virtio-blk / ATA PIO throughput, ${k} KiB`, value: vio.mibps / ata.mibps, unit: '×', target: { op: '>=', value: 100 } });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (hasImage('bench-paging')) {
    for (const mmu of ['ept', 'shadow'] as const) {
      const rs = await repeat('bench-paging', ['--mmu', mmu], runs);
      add({
        id: `paging_${mmu}_ms`, label: `page-table-heavy guest, --mmu ${mmu}`, value: median(rs.map((r) => r.stats.runMs)), unit: 'ms',
        detail: `${median(rs.map(exitsOf))} exits, ${median(rs.map((r) => r.stats.eptWalk.references))} EPT walk refs`,
      });
    }
  }
  const linux = join(GUEST_IMAGES, '..', 'linux');
  if (existsSync(join(linux, 'bzImage'))) {
    // A real kernel: mostly cold code run once, and thousands of 16550 exits for its log.
    const dir = mkdtempSync(join(tmpdir(), 'tskvm-linux-'));
    try {
      const disk = join(dir, 'disk.img');
      writeFileSync(disk, '');
      truncateSync(disk, MiB);
      const rs: GuestRun[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await runGuest(['--kernel', join(linux, 'bzImage'), '--initrd', join(linux, 'initramfs.cpio'), '--append', 'console=ttyS0 pata_legacy.probe_mask=1',
          '--serial', 'null', '--disk', `${disk},if=virtio`, '--console', 'virtio,null', '--rng', 'virtio', '--clock', 'virtual']);
        if (r.status !== LINUX_INIT_STATUS) throw new Error(`Linux did not reach /init's exit (status ${r.status}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
        rs.push(r);
      }
      add({
        id: 'linux_boot_s', label: 'Linux 6.1 boot to /init and back out (guests/linux, --clock virtual)', value: median(rs.map((r) => r.wallMs)) / 1000, unit: 's',
        detail: `${Math.round(median(rs.map(instructionsOf)) / 1e6)} M instructions, ${median(rs.map((r) => instructionsOf(r) / r.stats.runMs / 1000)).toFixed(0)} M instr/s, ${median(rs.map(userExitsOf))} exits to userspace`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (hasImage('bench-timer')) {
    for (const pit of ['user', 'kernel'] as const) {
      const rs = await repeat('bench-timer', ['--pit', pit, '--clock', 'virtual'], runs);
      add({ id: `timer_pit_${pit}_ms`, label: `timer-heavy guest, --pit ${pit}`, value: median(rs.map((r) => r.stats.runMs)), unit: 'ms', detail: `${median(rs.map(userExitsOf))} exits to userspace` });
    }
  }
  if (hasImage('bench-pio')) {
    for (const transport of ['unix', 'ws'] as const) {
      const address = transport === 'unix' ? `unix:${join(mkdtempSync(join(tmpdir(), 'tskvm-tr-')), 'dm.sock')}` : 'ws://127.0.0.1:0';
      const us = await pioOverListener(address, runs);
      add({ id: `pio_${transport}_us`, label: `port-I/O round trip, device model over ${transport}`, value: us, unit: 'µs' });
    }
  }
  const s = await startup(Math.max(3, runs));
  add({ id: 'startup_first_byte_ms', label: 'start-up: `tskvm run` to first COM1 byte', value: s.firstByteMs, unit: 'ms', target: { op: '<=', value: 300 } });
  add({ id: 'vmm_rss_128m_mib', label: 'VMM resident memory, 128 MiB guest', value: s.rssMiB, unit: 'MiB', target: { op: '<=', value: 64 } });
  if (hasImage('bench-compute') && spawnSync('qemu-system-i386', ['--version']).status === 0) {
    const q = qemuCompute(runs);
    const rs = await repeat('bench-compute', [], runs);
    add({ id: 'qemu_tcg_ratio', label: 'bench-compute wall time, tskvm / QEMU TCG', value: median(rs.map((r) => r.wallMs)) / q, unit: '×' });
  }
  return rows;
}

/** bench-pio against a device model started on its own at `address`. */
async function pioOverListener(address: string, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dm = await startDeviceModel(address);
    const n = 20_000;
    const r = await runGuest(['--kernel', image('bench-pio'), '--append', `n=${n}`, '--devices', dm.bound]);
    await dm.closed;
    times.push((r.stats.runMs * 1000) / n);
  }
  return median(times);
}

function qemuCompute(runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    spawnSync('qemu-system-i386', ['-kernel', image('bench-compute'), '-display', 'none', '-serial', 'null', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-m', '128'], { stdio: 'ignore', timeout: 300_000 });
    times.push(performance.now() - t0);
  }
  return median(times);
}

export function formatRow(r: Row): string {
  const v = formatValue(r.value);
  const t = r.target ? `  target ${r.target.op} ${formatValue(r.target.value)}${met(r) ? ' ✓' : ' ✗'}` : '';
  return `${r.label.padEnd(52)} ${v.padStart(9)} ${r.unit.padEnd(10)}${r.detail ? ` (${r.detail})` : ''}${t}`;
}

function formatValue(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export function met(r: Row): boolean | undefined {
  if (!r.target) return undefined;
  return r.target.op === '>=' ? r.value >= r.target.value : r.value <= r.target.value;
}
