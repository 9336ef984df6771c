/**
 * Builds the devices a `configure` message names, puts them on the PIO and MMIO buses, and
 * wires their IRQ lines, clock, backends and guest-exit/reset callbacks. Also answers which
 * doorbells (ioeventfds) and coalesced zones the VMM should register for them.
 */
import type { DeviceSpec, DoorbellSpec, CoalescedZone, EventKind, LogLevel } from '../protocol/messages.js';
import type { CharBackend, Clock, DmaPort, IrqLine } from './bus/device.js';
import type { MmioBus } from './bus/mmio-bus.js';
import type { PioBus } from './bus/pio-bus.js';
import { createCharBackend } from './backends/char/create-char-backend.js';
import { Uart16550 } from './devices/serial/uart-16550.js';
import { IsaDebugExit } from './devices/misc/isa-debug-exit.js';
import { Debugcon } from './devices/misc/debugcon.js';
import { Port80 } from './devices/misc/port-80.js';
import { I8042 } from './devices/misc/i8042.js';
import { CmosRtc } from './devices/rtc/cmos-rtc.js';
import { I8254 } from './devices/pit/i8254.js';
import { Port61 } from './devices/pit/port61.js';
import { AtaPioChannel } from './devices/ata/ata-pio.js';
import { openBlockBackend } from './backends/block/open-block-backend.js';
import type { BlockBackend } from './bus/device.js';
import { VirtioMmioTransport, VIRTIO_MMIO, VIRTIO_MMIO_WINDOW_SIZE } from './devices/virtio/mmio-transport.js';
import type { VirtioDeviceModel } from './devices/virtio/device-model.js';
import { VirtioBlk } from './devices/virtio/blk.js';
import { VirtioConsole } from './devices/virtio/console.js';
import { entropyFromSpec, VirtioRng } from './devices/virtio/rng.js';
import { VirtioNet } from './devices/virtio/net.js';
import { createNetBackend } from './backends/net/create-net-backend.js';
import type { NetBackend } from './backends/net/net-backend.js';

export interface BuildContext {
  pio: PioBus;
  mmio: MmioBus;
  clock: Clock & { readonly mode: 'host' | 'virtual' };
  dma: DmaPort;
  irq(line: number): IrqLine;
  event(e: { kind: EventKind; code?: number; message?: string }): void;
  log(level: LogLevel, message: string): void;
}

export interface BuiltMachine {
  doorbells: DoorbellSpec[];
  coalesced: CoalescedZone[];
  /** A posted doorbell from the VMM (an ioeventfd fired); resolves when the queue was processed. */
  doorbell(id: number, value: number): Promise<void> | undefined;
  /** Each device's `stats` object by the name it has on its bus. */
  deviceStats(): Array<[string, object]>;
  /** Release every backend, flushing output. */
  close(): Promise<void>;
}

/** Unix time the virtual clock's RTC starts at, so virtual runs are reproducible (2026-01-01). */
export const VIRTUAL_RTC_EPOCH = 1_767_225_600;

/** Typed error for a configure request the device model cannot satisfy. */
export class ConfigureError extends Error {
  readonly code = 'CONFIG';
}

/** Guest debug output on the device model's stderr (debugcon without a file). */
class StderrCharBackend implements CharBackend {
  write(data: Uint8Array): void {
    process.stderr.write(data);
  }
  onInput(): void {}
  async close(): Promise<void> {}
}

export async function buildDevices(specs: readonly DeviceSpec[], ctx: BuildContext): Promise<BuiltMachine> {
  const backends: CharBackend[] = [];
  const disks: BlockBackend[] = [];
  const nets: NetBackend[] = [];
  const statsOf: Array<[string, object]> = [];
  const track = (name: string, device: { stats?: object }): void => {
    if (device.stats) statsOf.push([name, device.stats]);
  };
  const doorbellHandlers = new Map<number, (value: number) => Promise<void>>();
  const doorbells: DoorbellSpec[] = [];
  const coalesced: CoalescedZone[] = [];
  const charBackend = async (spec: string): Promise<CharBackend> => {
    const b = spec === 'stderr' ? new StderrCharBackend() : await createCharBackend(spec, { log: (m: string) => ctx.log('warn', m) });
    backends.push(b);
    return b;
  };
  const closeAll = async (): Promise<void> => {
    await Promise.all(backends.map((b) => b.close().catch(() => undefined)));
    await Promise.all(nets.map((n) => n.close().catch(() => undefined)));
    for (const d of disks) d.close();
  };
  try {
    for (const spec of specs) {
      switch (spec.type) {
        case 'serial': {
          const uart = new Uart16550({ irq: ctx.irq(spec.irq), clock: ctx.clock, backend: await charBackend(spec.backend) });
          ctx.pio.register(`serial@0x${spec.base.toString(16)}`, spec.base, 8, uart);
          track(`serial@0x${spec.base.toString(16)}`, uart);
          break;
        }
        case 'debugExit':
          ctx.pio.register('isa-debug-exit', spec.port, spec.size, new IsaDebugExit((status) => ctx.event({ kind: 'exit', code: status })));
          break;
        // Writes to these have nothing to answer: KVM may queue them (coalesced PIO) instead of exiting.
        case 'debugcon':
          ctx.pio.register('debugcon', spec.port, 1, new Debugcon(await charBackend(spec.backend)));
          coalesced.push({ space: 'pio', base: spec.port, size: 1 });
          break;
        case 'port80':
          ctx.pio.register('port80', 0x80, 1, new Port80());
          coalesced.push({ space: 'pio', base: 0x80, size: 1 });
          break;
        case 'i8042': {
          const kbc = new I8042({ kbdIrq: ctx.irq(1), auxIrq: ctx.irq(12), onReset: () => ctx.event({ kind: 'reset' }) });
          ctx.pio.register('i8042-data', 0x60, 1, kbc.dataPort);
          ctx.pio.register('i8042-cmd', 0x64, 1, kbc.commandPort);
          break;
        }
        case 'cmos': {
          const epoch = ctx.clock.mode === 'virtual' ? VIRTUAL_RTC_EPOCH : Math.floor(Date.now() / 1000);
          const rtc = new CmosRtc({ clock: ctx.clock, irq: ctx.irq(spec.irq), baseEpochSeconds: epoch, ramSizeBytes: spec.ramSize ?? 0 });
          ctx.pio.register('cmos', 0x70, 2, rtc);
          break;
        }
        case 'pit': {
          const pit = new I8254(ctx.clock, ctx.irq(spec.irq));
          ctx.pio.register('pit', spec.port, 4, pit);
          track('pit', pit);
          ctx.pio.register('port61', 0x61, 1, new Port61(pit));
          break;
        }
        case 'ata': {
          const disk = openBlockBackend(spec.readOnly ? `${spec.path},ro` : spec.path);
          disks.push(disk);
          const ata = new AtaPioChannel(disk, ctx.irq(14), { log: (m: string) => ctx.log('warn', m) });
          ctx.pio.register('ata0-command', 0x1f0, 8, ata.commandBlock);
          ctx.pio.register('ata0-control', 0x3f6, 1, ata.controlBlock);
          track('ata0', ata);
          break;
        }
        case 'virtio': {
          const log = (m: string): void => ctx.log('warn', m);
          let device: VirtioDeviceModel;
          switch (spec.kind) {
            case 'blk': {
              const disk = openBlockBackend(spec.options['readOnly'] === true ? `${spec.backend},ro` : spec.backend);
              disks.push(disk);
              device = new VirtioBlk(disk, { log });
              break;
            }
            case 'console':
              device = new VirtioConsole(await charBackend(spec.backend));
              break;
            case 'rng': {
              const source = entropyFromSpec(spec.backend);
              if (!source) throw new ConfigureError(`virtio-rng: unknown entropy source '${spec.backend}' (crypto or seed:N)`);
              device = new VirtioRng({ source });
              break;
            }
            case 'net': {
              const net = await createNetBackend(spec.backend);
              nets.push(net);
              device = new VirtioNet(net, { log });
              break;
            }
          }
          const name = `virtio-${spec.kind}@0x${spec.base.toString(16)}`;
          const transport = new VirtioMmioTransport({ device, dma: ctx.dma, irq: ctx.irq(spec.irq), log, name });
          ctx.mmio.register(name, spec.base, VIRTIO_MMIO_WINDOW_SIZE, transport);
          track(name, transport);
          track(`${name}.device`, device as { stats?: object });
          const id = doorbells.length;
          doorbells.push({ doorbell: id, space: 'mmio', addr: spec.base + VIRTIO_MMIO.QUEUE_NOTIFY, size: 4 });
          doorbellHandlers.set(id, (value) => transport.notify(value));
          break;
        }
        default:
          throw new ConfigureError(`device type '${(spec as { type: string }).type}' is not available in this device model`);
      }
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  return {
    doorbells,
    coalesced,
    doorbell: (id, value) => doorbellHandlers.get(id)?.(value),
    deviceStats: () => statsOf,
    close: closeAll,
  };
}
