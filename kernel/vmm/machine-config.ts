/**
 * The PC machine of DESIGN.md as the device model must build it (the `configure` message), and
 * the kernel command line that announces the virtio-mmio devices the Linux way.
 */
import type { RunOptions } from '../../cli/run-options.js';
import type { DeviceSpec } from './device-link.js';

/** virtio-mmio windows: 4 KiB each from 0xD0000000, ISA IRQs 5, 6, 7, 9, 10, 11 in order. */
export const VIRTIO_MMIO_BASE = 0xd000_0000;
export const VIRTIO_MMIO_SIZE = 0x1000;
export const VIRTIO_MMIO_IRQS = [5, 6, 7, 9, 10, 11] as const;

export const PC_DEVICES = {
  com1: { base: 0x3f8, irq: 4 },
  pit: { base: 0x40, irq: 0 },
  cmos: { irq: 8 },
} as const;

export interface MachineConfig {
  clock: 'host' | 'virtual';
  devices: DeviceSpec[];
  cmdline: string;
}

export function buildMachineConfig(o: RunOptions): MachineConfig {
  const devices: DeviceSpec[] = [
    { type: 'serial', base: PC_DEVICES.com1.base, irq: PC_DEVICES.com1.irq, backend: o.serial },
    { type: 'cmos', irq: PC_DEVICES.cmos.irq, ramSize: o.memSize },
    { type: 'i8042' },
    { type: 'port80' },
  ];
  if (o.pit === 'user') devices.push({ type: 'pit', port: PC_DEVICES.pit.base, irq: PC_DEVICES.pit.irq });
  if (o.debugExit !== null) devices.push({ type: 'debugExit', port: o.debugExit, size: 4 });
  if (o.debugcon) devices.push({ type: 'debugcon', port: o.debugcon.port, backend: o.debugcon.file !== undefined ? `file:${o.debugcon.file}` : 'stderr' });
  const ide = o.disks.filter((d) => d.if === 'ide');
  if (ide.length > 1) throw new RangeError('only one IDE disk (the primary master) is supported');
  for (const d of ide) devices.push({ type: 'ata', path: d.path, readOnly: d.readOnly });

  const virtio: Array<{ kind: 'blk' | 'console' | 'net' | 'rng'; backend: string; options: Record<string, string | number | boolean> }> = [];
  for (const d of o.disks.filter((x) => x.if === 'virtio')) virtio.push({ kind: 'blk', backend: d.path, options: { readOnly: d.readOnly } });
  if (o.console) virtio.push({ kind: 'console', backend: o.console.backend, options: {} });
  // The virtual clock promises repeatable runs, and the guest's entropy steers it too.
  if (o.rng) virtio.push({ kind: 'rng', backend: o.clock === 'virtual' ? 'seed:0' : 'crypto', options: {} });
  for (const n of o.net) virtio.push({ kind: 'net', backend: n, options: {} });
  if (virtio.length > VIRTIO_MMIO_IRQS.length) throw new RangeError(`at most ${VIRTIO_MMIO_IRQS.length} virtio devices`);
  const announce: string[] = [];
  virtio.forEach((v, n) => {
    const base = VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SIZE;
    const irq = VIRTIO_MMIO_IRQS[n] as number;
    devices.push({ type: 'virtio', kind: v.kind, base, irq, backend: v.backend, options: v.options });
    announce.push(`virtio_mmio.device=4K@0x${base.toString(16)}:${irq}`);
  });
  const cmdline = [o.append, ...announce].filter((s) => s.length > 0).join(' ');
  return { clock: o.clock, devices, cmdline };
}
