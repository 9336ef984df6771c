/**
 * One device-model session: the devices of one VM behind one protocol connection (the server
 * side of protocol/README.md). The VMM's `configure` says what to build; register accesses are
 * dispatched on the PIO and MMIO buses; interrupt lines, guest exits and timer deadlines go back
 * as posted messages; virtio devices reach guest memory through DMA requests.
 */
import { Peer } from '../protocol/peer.js';
import { errorCode, PROTOCOL_ERROR_CODES, ProtocolError } from '../protocol/errors.js';
import { FEATURES, type ConfigureRequest, type IoRange, type Posted, type ReplyBody, type Request } from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';
import type { DmaPort, IrqLine } from './bus/device.js';
import { MmioBus } from './bus/mmio-bus.js';
import { PioBus } from './bus/pio-bus.js';
import { HostDeviceClock, VirtualDeviceClock, type DeviceClock } from './clock/device-clocks.js';
import { buildDevices, type BuiltMachine } from './machine-builder.js';

export const DEVICE_MODEL_NAME = 'tskvm-devices 0.1.0';

/** The features this device model implements. */
const SUPPORTED_FEATURES = [FEATURES.coalesced, FEATURES.doorbell, FEATURES.virtualClock, FEATURES.stringPio];

export class DeviceModelSession {
  readonly peer: Peer;
  readonly pio = new PioBus();
  readonly mmio = new MmioBus();
  private clock: DeviceClock | undefined;
  private machine: BuiltMachine | undefined;
  private readonly irqLevels = new Map<number, boolean>();
  private closedResolve: () => void = () => {};
  /** Resolves when the connection is gone and the backends are released. */
  readonly closed = new Promise<void>((resolve) => (this.closedResolve = resolve));

  constructor(transport: Transport) {
    this.peer = new Peer(transport, {
      side: 'dm',
      accept: { features: SUPPORTED_FEATURES, name: DEVICE_MODEL_NAME },
      log: (level, message) => process.stderr.write(`tskvm devices: protocol ${level}: ${message}\n`),
    });
    this.peer.onRequest((r) => this.onRequest(r));
    this.peer.onPosted((m) => this.onPosted(m));
    this.peer.onClose(() => {
      void this.release().then(() => this.closedResolve());
    });
  }

  private async release(): Promise<void> {
    this.clock?.dispose();
    const m = this.machine;
    this.machine = undefined;
    if (m) await m.close();
  }

  /** An IRQ line that posts `irq` messages on level changes only. */
  private irqLine(line: number): IrqLine {
    return {
      set: (level: boolean) => {
        if ((this.irqLevels.get(line) ?? false) === level) return;
        this.irqLevels.set(line, level);
        this.peer.post({ type: 'irq', line, level });
      },
    };
  }

  private readonly dma: DmaPort = {
    read: async (segments) => {
      const r = await this.peer.request({ type: 'dmaRead', segments: segments.map((s) => ({ addr: s.addr, len: s.len })) });
      return r.data;
    },
    write: async (segments, data) => {
      await this.peer.request({ type: 'dmaWrite', segments: segments.map((s) => ({ addr: s.addr, len: s.len })), data });
    },
  };

  private async configure(req: ConfigureRequest): Promise<ReplyBody> {
    if (this.machine || this.clock) throw new ProtocolError(PROTOCOL_ERROR_CODES.CONFIG, 'configure was already received');
    if (req.clock === 'virtual' && !this.peer.features.includes(FEATURES.virtualClock)) {
      throw new ProtocolError(PROTOCOL_ERROR_CODES.CONFIG, `clock 'virtual' needs the '${FEATURES.virtualClock}' feature, which was not agreed`);
    }
    const clock: DeviceClock =
      req.clock === 'virtual' ? new VirtualDeviceClock((m) => this.peer.post({ type: 'log', level: 'warn', message: m })) : new HostDeviceClock();
    clock.onDeadlineChange((ns) => this.peer.post({ type: 'deadline', ns }));
    this.clock = clock;
    let machine: BuiltMachine;
    try {
      machine = await this.build(req, clock);
    } catch (e) {
      // A machine that cannot be built is CONFIG; `cause` keeps the device's own code.
      throw new ProtocolError(PROTOCOL_ERROR_CODES.CONFIG, (e as Error).message, errorCode(e));
    }
    this.machine = machine;
    clock.announce();
    const pio: IoRange[] = this.pio.ranges().map((r) => ({ base: r.base, size: r.length, name: r.name }));
    const mmio: IoRange[] = this.mmio.ranges().map((r) => ({ base: r.base, size: r.length, name: r.name }));
    return { type: 'configureReply', pio, mmio, doorbells: machine.doorbells, coalesced: machine.coalesced };
  }

  private build(req: ConfigureRequest, clock: DeviceClock): Promise<BuiltMachine> {
    return buildDevices(req.devices, {
      pio: this.pio,
      mmio: this.mmio,
      clock,
      dma: this.dma,
      irq: (line) => this.irqLine(line),
      event: (e) => this.peer.post({ type: 'event', ...e }),
      log: (level, message) => this.peer.post({ type: 'log', level, message }),
    });
  }

  /** Bus misses and every device's numeric `stats` fields, as flat named counters. */
  private counters(): Record<string, number> {
    const out: Record<string, number> = {
      'pio.misses': this.pio.stats.misses,
      'pio.readMisses': this.pio.stats.readMisses,
      'pio.writeMisses': this.pio.stats.writeMisses,
      'mmio.misses': this.mmio.stats.misses,
    };
    for (const [name, stats] of this.machine?.deviceStats() ?? []) {
      for (const [k, v] of Object.entries(stats)) if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) out[`${name}.${k}`] = v;
    }
    return out;
  }

  /** String I/O (count > 1) is allowed only when 'string-pio' was agreed. */
  private checkStringPio(count: number): void {
    if (count > 1 && !this.peer.features.includes(FEATURES.stringPio)) {
      throw new ProtocolError(PROTOCOL_ERROR_CODES.UNSUPPORTED, `string port I/O (count ${count}) needs the '${FEATURES.stringPio}' feature, which was not agreed`);
    }
  }

  private onRequest(r: Request): ReplyBody | Promise<ReplyBody> {
    switch (r.type) {
      case 'configure':
        return this.configure(r);
      case 'pioRead': {
        this.checkStringPio(r.count);
        const data = new Uint8Array(r.size * r.count);
        for (let i = 0; i < r.count; i++) {
          const v = this.pio.read(r.port, r.size);
          for (let b = 0; b < r.size; b++) data[i * r.size + b] = (v >>> (8 * b)) & 0xff;
        }
        return { type: 'pioReadReply', data };
      }
      case 'pioWrite': {
        this.checkStringPio(r.data.length / r.size);
        const d = r.data;
        for (let at = 0; at + r.size <= d.length; at += r.size) {
          let v = 0;
          for (let b = 0; b < r.size; b++) v |= d[at + b]! << (8 * b);
          this.pio.write(r.port, r.size, v >>> 0);
        }
        return { type: 'ok' };
      }
      case 'mmioRead':
        return { type: 'mmioReadReply', value: this.mmio.read(r.addr, r.size) >>> 0 };
      case 'mmioWrite':
        this.mmio.write(r.addr, r.size, r.value);
        return { type: 'ok' };
      case 'ping':
        return { type: 'ok' };
      case 'stats':
        return { type: 'statsReply', counters: this.counters() };
      case 'shutdown':
        // Reply first, then let the VMM close the connection; backends are released on close.
        return { type: 'ok' };
      default:
        throw new ProtocolError(PROTOCOL_ERROR_CODES.UNEXPECTED, `the device model does not serve ${r.type} requests`);
    }
  }

  /** Posted messages; a doorbell's promise makes the peer finish it before the next message. */
  private onPosted(m: Posted): Promise<void> | undefined {
    switch (m.type) {
      case 'clock':
        this.clock?.advance(m.nowNs);
        break;
      case 'doorbell':
        return this.machine?.doorbell(m.doorbell, m.value);
      case 'coalesced':
        for (const w of m.writes) (w.space === 'pio' ? this.pio : this.mmio).write(w.addr, w.size, w.value);
        break;
      default:
        break;
    }
    return undefined;
  }
}

