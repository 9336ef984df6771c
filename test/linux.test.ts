/**
 * A real Linux kernel on tskvm (guests/linux): the bzImage boots through the 32-bit protocol,
 * its own drivers find the 16550, the CMOS RTC and the virtio-mmio devices tskvm announces on
 * the command line and the legacy ATA channel, and /init in ring 3 reads the virtio disk and the
 * IDE disk, writes to the virtio console, reads the virtio rng and ends the VM through
 * isa-debug-exit.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUESTS, runTskvm } from './support/tskvm.js';

const KERNEL = join(GUESTS, 'linux', 'bzImage');
const INITRD = join(GUESTS, 'linux', 'initramfs.cpio');
/** /init writes 0x2a to isa-debug-exit: (0x2a << 1) | 1. */
const INIT_STATUS = 85;

function boot(extra: string[]): { args: string[]; hvc: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tskvm-linux-'));
  const disk = Buffer.alloc(1 << 20);
  disk.write('written by test/linux.test.ts\n\0');
  writeFileSync(join(dir, 'disk.img'), disk);
  const ata = Buffer.alloc(1 << 20);
  ata.write('an IDE disk, read through libata\n\0');
  writeFileSync(join(dir, 'ata.img'), ata);
  const hvc = join(dir, 'hvc.txt');
  // pata_legacy would probe all four legacy ATA channels; the primary is enough
  const args = ['run', '--kernel', KERNEL, '--initrd', INITRD, '--append', 'console=ttyS0 pata_legacy.probe_mask=1',
    '--disk', `${join(dir, 'disk.img')},if=virtio`, '--disk', `${join(dir, 'ata.img')},if=ide`,
    '--console', `virtio,file:${hvc}`, '--rng', 'virtio', ...extra];
  return { args, hvc };
}

describe('Linux 6.1 on tskvm', () => {
  for (const mmu of ['ept', 'shadow']) {
    it(`boots to /init, which uses virtio-blk, ATA PIO, virtio-console and virtio-rng (--mmu ${mmu})`, async () => {
      const { args, hvc } = boot(['--mmu', mmu]);
      const r = await runTskvm(args, { timeoutMs: 120_000 });
      const log = r.stdout.toString('latin1');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(INIT_STATUS);
      for (const line of [
        'Linux version 6.1.192',
        'Kernel command line: console=ttyS0 pata_legacy.probe_mask=1 virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6 virtio_mmio.device=4K@0xd0002000:7',
        'x86/fpu: x87 FPU will use FSAVE',
        'serial8250: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A',
        'virtio_blk virtio0: [vda] 2048 512-byte logical blocks (1.05 MB/1.00 MiB)',
        'rtc_cmos rtc_cmos: registered as rtc0',
        'ata1: PATA max PIO4 cmd 0x1f0 ctl 0x3f6 irq 14',
        'ata1.00: ATA-7: TSKVM HARDDISK, 0.1, max PIO4',
        'sd 0:0:0:0: [sda] 2048 512-byte logical blocks: (1.05 MB/1.00 MiB)',
        'Run /init as init process',
        // the tty turns LF into CR LF (ONLCR)
        'tskvm-init: hello from user space, pid 1\r\n',
        'tskvm-init: Linux 6.1.192 i686\r\n',
        'tskvm-init: mount devtmpfs on /dev: ok\r\n',
        'tskvm-init: /dev/vda says: written by test/linux.test.ts\r\n',
        'tskvm-init: /dev/sda says: an IDE disk, read through libata\r\n',
        'tskvm-init: write /dev/hvc0: ok\r\n',
        'tskvm-init: read 16 random bytes\r\n',
        'tskvm-init: bye\r\n',
      ]) {
        expect(log).toContain(line);
      }
      expect(log).not.toMatch(/Oops|BUG:|WARNING:|Call Trace|panic/);
      // /dev/hvc0 is a tty too: ONLCR
      expect(readFileSync(hvc, 'latin1')).toBe('hello over virtio-console from Linux user space\r\n');
    });
  }

  it('--clock virtual: two boots print the same log after the same instructions and exits', async () => {
    const runs = [];
    for (let i = 0; i < 2; i++) runs.push(await runTskvm(boot(['--clock', 'virtual', '--pit', 'kernel', '--stats=json']).args, { timeoutMs: 120_000 }));
    const [a, b] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(a.status).toBe(INIT_STATUS);
    expect(b.status).toBe(INIT_STATUS);
    expect(a.stdout.equals(b.stdout)).toBe(true);
    // everything but the host's own counters (event-loop yields, wall time in the guest)
    const guestVisible = (stderr: string): unknown => {
      const v = JSON.parse(stderr.trim().split('\n').pop() as string).vcpus[0];
      const { host_yields: _y, guest_ns: _g, ...stats } = v.stats;
      return { instructions: v.instructions, stats, exitReasons: v.exitReasons };
    };
    expect(guestVisible(a.stderr)).toEqual(guestVisible(b.stderr));
    // The virtual clock's CMOS time is fixed, so even the kernel's wall clock matches.
    expect(a.stdout.toString('latin1')).toContain('rtc_cmos rtc_cmos: setting system clock to 2026-01-01T00:00:01 UTC');
  });
});
