/**
 * `tskvm demo` (npm start): boots the demo guest on the two-process pair with an ATA disk, a
 * virtio-blk disk and virtio-console; shows the exit statistics (handled in the kernel vs
 * forwarded to the device model); then measures the two I/O paths — 16550 vs virtio-console and
 * ATA PIO vs virtio-blk — side by side. Temporary disk images are removed whatever happens.
 */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_IMAGES, runGuest, type GuestRun } from '../bench/run-guest.js';

const MiB = 1024 * 1024;
/** virtio-blk bytes moved each way by the throughput run (the disk image's size). */
const VBLK_DEMO_BYTES = 32 * MiB;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => '  ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ')).join('\n') + '\n';
}

const exits = (r: GuestRun): number => r.stats.vcpus.reduce((n, v) => n + (v.stats['exits'] ?? 0), 0);

export async function runDemo(_argv: readonly string[]): Promise<number> {
  const out = (s: string): boolean => process.stdout.write(s);
  const dir = mkdtempSync(join(tmpdir(), 'tskvm-demo-'));
  try {
    const ata = join(dir, 'ata.img');
    const vblk = join(dir, 'virtio.img');
    writeFileSync(ata, Buffer.alloc(MiB));
    writeFileSync(vblk, '');
    truncateSync(vblk, VBLK_DEMO_BYTES); // sparse: the throughput run writes before it reads

    out('$ tskvm run --kernel guests/images/demo.elf --disk ata.img,if=ide --disk virtio.img,if=virtio --console virtio\n');
    const demo = await runGuest(['--kernel', join(GUEST_IMAGES, 'demo.elf'), '--disk', `${ata},if=ide`, '--disk', `${vblk},if=virtio`, '--console', 'virtio']);
    out(demo.stdout.toString());
    if (demo.status !== 1) {
      process.stderr.write(`tskvm demo: the demo guest failed (status ${demo.status}): ${demo.stderr.trim()}\n`);
      return demo.status ?? 70;
    }

    const v = demo.stats.vcpus[0]!;
    out(`\nExit statistics: ${v.instructions} guest instructions, ${v.stats['exits']} VM exits in ${demo.stats.runMs.toFixed(0)} ms\n`);
    const reasons = Object.entries(v.exitReasons).sort((a, b) => b[1].inKernel + b[1].userspace - (a[1].inKernel + a[1].userspace));
    out(table([['exit reason', 'handled in kernel', 'forwarded to device model'], ...reasons.map(([name, c]) => [name, String(c.inKernel), String(c.userspace)])]));

    out('\nFull emulation vs paravirtual I/O, measured now on this machine (marginal: a long run minus a short one):\n');
    const consoleArgs = (dev: string, bytes: number): string[] => ['--kernel', join(GUEST_IMAGES, 'bench-console.elf'), '--append', `dev=${dev} bytes=${bytes}`, '--serial', 'null', '--console', 'virtio,null'];
    const diskArgs = (dev: 'ata' | 'virtio', total: number): string[] => [
      '--kernel', join(GUEST_IMAGES, 'bench-disk.elf'), '--append', `dev=${dev} bs=4096 total=${total} verify=stamp`, '--disk', `${dev === 'ata' ? ata : vblk},if=${dev === 'ata' ? 'ide' : 'virtio'}`,
    ];
    // Each figure is marginal: a run moving `bytes` and one moving half of it, so that guest
    // boot and device-model start (a few hundred ms) count on neither side.
    const marginal = async (args: (bytes: number) => string[], bytes: number, moved: number): Promise<{ mibps: number; exitsPerMiB: number }> => {
      const short = await runGuest(args(bytes / 2));
      const long = await runGuest(args(bytes));
      const mib = (moved * (bytes / 2)) / MiB;
      return { mibps: mib / ((long.stats.runMs - short.stats.runMs) / 1000), exitsPerMiB: (exits(long) - exits(short)) / mib };
    };
    const uart = await marginal((b) => consoleArgs('uart', b), 16 * 1024, 1);
    const vcon = await marginal((b) => consoleArgs('virtio', b), 2 * MiB, 1);
    const pio = await marginal((b) => diskArgs('ata', b), 256 * 1024, 2);
    const para = await marginal((b) => diskArgs('virtio', b), VBLK_DEMO_BYTES, 2);
    const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3));
    out(
      table([
        ['', 'full emulation', 'virtio', 'ratio'],
        ['console throughput (MiB/s)', fmt(uart.mibps), fmt(vcon.mibps), `${fmt(vcon.mibps / uart.mibps)}×`],
        ['console exits per MiB', fmt(uart.exitsPerMiB), fmt(vcon.exitsPerMiB), ''],
        ['disk 4 KiB write+read (MiB/s)', fmt(pio.mibps), fmt(para.mibps), `${fmt(para.mibps / pio.mibps)}×`],
        ['disk exits per MiB', fmt(pio.exitsPerMiB), fmt(para.exitsPerMiB), ''],
      ]),
    );
    out('(16550 and ATA PIO: every register access is a VM exit and a round trip to the device model;\n virtio: one doorbell per batch, data moved by DMA requests. `tskvm bench` has the full suite.)\n');
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
