/**
 * `tskvm demo` (npm start): boots the demo guest on the two-process pair with an ATA disk, a
 * virtio-blk disk and virtio-console; shows the exit statistics (handled in the kernel vs
 * forwarded to the device model); then measures the two I/O paths — 16550 vs virtio-console and
 * ATA PIO vs virtio-blk — side by side. Temporary disk images are removed whatever happens.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_IMAGES, runGuest, type GuestRun } from '../bench/run-guest.js';

const MiB = 1024 * 1024;

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
    writeFileSync(vblk, Buffer.alloc(MiB));

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

    out('\nFull emulation vs paravirtual I/O, measured now on this machine:\n');
    const consoleArgs = (dev: string, bytes: number): string[] => ['--kernel', join(GUEST_IMAGES, 'bench-console.elf'), '--append', `dev=${dev} bytes=${bytes}`, '--serial', 'null', '--console', 'virtio,null'];
    const uartBytes = 8 * 1024;
    const virtioConsoleBytes = 512 * 1024;
    const uart = await runGuest(consoleArgs('uart', uartBytes));
    const vcon = await runGuest(consoleArgs('virtio', virtioConsoleBytes));
    const diskArgs = (dev: 'ata' | 'virtio', total: number): string[] => [
      '--kernel', join(GUEST_IMAGES, 'bench-disk.elf'), '--append', `dev=${dev} bs=4096 total=${total}`, '--disk', `${dev === 'ata' ? ata : vblk},if=${dev === 'ata' ? 'ide' : 'virtio'}`,
    ];
    const ataBytes = 128 * 1024;
    const vblkBytes = 1 * MiB;
    const pio = await runGuest(diskArgs('ata', ataBytes));
    const para = await runGuest(diskArgs('virtio', vblkBytes));
    const rate = (r: GuestRun, bytes: number): number => bytes / MiB / (r.stats.runMs / 1000);
    const perMiB = (r: GuestRun, bytes: number): number => exits(r) / (bytes / MiB);
    const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3));
    out(
      table([
        ['', 'full emulation', 'virtio', 'ratio'],
        ['console throughput (MiB/s)', fmt(rate(uart, uartBytes)), fmt(rate(vcon, virtioConsoleBytes)), `${fmt(rate(vcon, virtioConsoleBytes) / rate(uart, uartBytes))}×`],
        ['console exits per MiB', fmt(perMiB(uart, uartBytes)), fmt(perMiB(vcon, virtioConsoleBytes)), ''],
        ['disk 4 KiB write+read (MiB/s)', fmt(rate(pio, 2 * ataBytes)), fmt(rate(para, 2 * vblkBytes)), `${fmt(rate(para, 2 * vblkBytes) / rate(pio, 2 * ataBytes))}×`],
        ['disk exits per MiB', fmt(perMiB(pio, 2 * ataBytes)), fmt(perMiB(para, 2 * vblkBytes)), ''],
      ]),
    );
    out('(16550 and ATA PIO: every register access is a VM exit and a round trip to the device model;\n virtio: one doorbell per batch, data moved by DMA requests. `tskvm bench` has the full suite.)\n');
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
