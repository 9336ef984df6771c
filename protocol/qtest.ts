/**
 * A qtest-style driver for device models (QEMU `tests/qtest/libqtest`): it stands where the VMM
 * stands (`hello` role "qtest"), with no CPU at all — register accesses are made by the test,
 * guest RAM is a plain byte array served to the device model's DMA requests, interrupt lines and
 * events are recorded as they arrive, and the virtual clock is stepped by hand
 * (protocol/README.md §5, §7, §9, §10).
 */
import { PROTOCOL_ERROR_CODES, ProtocolError } from './errors.js';
import {
  FEATURES,
  LIMITS,
  type AccessSize,
  type ClockMode,
  type ConfigureReply,
  type DeviceSpec,
  type DmaSegment,
  type EventMessage,
  type LogMessage,
  type Posted,
  type ReplyBody,
  type Request,
} from './messages.js';
import type { Peer } from './peer.js';
import { connectPeer } from './session.js';

/** Options of Qtest.connect. */
export interface QtestOptions {
  /** Bytes of "guest RAM" from GPA 0 that DMA may reach; beyond it DMA gets DMA_FAULT. */
  ramSize: number;
  /** Features to offer (default: all of FEATURES). */
  features?: readonly string[];
  maxFrame?: number;
}

/** Bits per byte, for register values. */
const BITS_PER_BYTE = 8;

/** A test driver connected to a device model. */
export class Qtest {
  readonly ram: Uint8Array;
  /** Current level of each interrupt line, as last posted by the device model. */
  readonly irqLevels: boolean[] = new Array<boolean>(LIMITS.IRQ_LINE_MAX + 1).fill(false);
  /** Number of times each line went from low to high. */
  readonly irqRaised: number[] = new Array<number>(LIMITS.IRQ_LINE_MAX + 1).fill(0);
  readonly events: EventMessage[] = [];
  readonly logs: LogMessage[] = [];
  /** The device model's last announced timer deadline (−1: none). */
  deadline = -1;
  /** Virtual time as last sent with `clock`. */
  nowNs = 0;
  /** DMA requests answered with DMA_FAULT. */
  dmaFaults = 0;

  private constructor(readonly peer: Peer, ramSize: number) {
    this.ram = new Uint8Array(ramSize);
    peer.onRequest((req) => this.serveDma(req));
    peer.onPosted((m) => this.onPosted(m));
  }

  /** Connect to a device model at `unix:PATH` or `ws://HOST:PORT` and complete the handshake. */
  static async connect(address: string, options: QtestOptions): Promise<Qtest> {
    const { peer } = await connectPeer(address, {
      features: options.features ?? Object.values(FEATURES),
      role: 'qtest',
      ...(options.maxFrame !== undefined ? { maxFrame: options.maxFrame } : {}),
    });
    return new Qtest(peer, options.ramSize);
  }

  /** Build the machine; returns what the device model claims. */
  configure(clock: ClockMode, devices: DeviceSpec[]): Promise<ConfigureReply> {
    return this.peer.request({ type: 'configure', clock, devices });
  }

  async in(port: number, size: AccessSize): Promise<number> {
    const r = await this.peer.request({ type: 'pioRead', port, size, count: 1 });
    return littleEndian(r.data, 0, size);
  }
  inb(port: number): Promise<number> {
    return this.in(port, 1);
  }
  inw(port: number): Promise<number> {
    return this.in(port, 2);
  }
  inl(port: number): Promise<number> {
    return this.in(port, 4);
  }

  /** String input (REP INS): `count` elements of `size` bytes from one port. */
  async ins(port: number, size: AccessSize, count: number): Promise<Uint8Array> {
    return (await this.peer.request({ type: 'pioRead', port, size, count })).data;
  }

  async out(port: number, size: AccessSize, value: number): Promise<void> {
    await this.peer.request({ type: 'pioWrite', port, size, data: toLittleEndian(value, size) });
  }
  outb(port: number, value: number): Promise<void> {
    return this.out(port, 1, value);
  }
  outw(port: number, value: number): Promise<void> {
    return this.out(port, 2, value);
  }
  outl(port: number, value: number): Promise<void> {
    return this.out(port, 4, value);
  }

  /** String output (REP OUTS): `data.length / size` elements to one port. */
  async outs(port: number, size: AccessSize, data: Uint8Array): Promise<void> {
    await this.peer.request({ type: 'pioWrite', port, size, data });
  }

  async read(addr: number, size: AccessSize): Promise<number> {
    return (await this.peer.request({ type: 'mmioRead', addr, size })).value;
  }
  readb(addr: number): Promise<number> {
    return this.read(addr, 1);
  }
  readw(addr: number): Promise<number> {
    return this.read(addr, 2);
  }
  readl(addr: number): Promise<number> {
    return this.read(addr, 4);
  }

  async write(addr: number, size: AccessSize, value: number): Promise<void> {
    await this.peer.request({ type: 'mmioWrite', addr, size, value });
  }
  writeb(addr: number, value: number): Promise<void> {
    return this.write(addr, 1, value);
  }
  writew(addr: number, value: number): Promise<void> {
    return this.write(addr, 2, value);
  }
  writel(addr: number, value: number): Promise<void> {
    return this.write(addr, 4, value);
  }

  /** Ring a doorbell as the VMM does when the guest writes a registered address. */
  doorbell(doorbell: number, value: number): void {
    this.peer.post({ type: 'doorbell', doorbell, value });
  }

  /**
   * Advance the virtual clock by `ns` and wait until the device model has handled it: a `ping`
   * behind the `clock` returns only after its timers fired and their irqs arrived (README §10).
   */
  async clockStep(ns: number): Promise<void> {
    this.nowNs += ns;
    this.peer.post({ type: 'clock', nowNs: this.nowNs });
    await this.peer.request({ type: 'ping' });
  }

  /** Wait until every message sent so far has been handled (a ping round trip). */
  async sync(): Promise<void> {
    await this.peer.request({ type: 'ping' });
  }

  /** Level of interrupt line `line`. */
  irq(line: number): boolean {
    return this.irqLevels[line] ?? false;
  }

  /** Orderly end: `shutdown`, then both sides close. */
  async shutdown(): Promise<void> {
    await this.peer.request({ type: 'shutdown' });
  }

  private onPosted(m: Posted): void {
    switch (m.type) {
      case 'irq':
        if (m.level && !this.irqLevels[m.line]) this.irqRaised[m.line] = (this.irqRaised[m.line] ?? 0) + 1;
        this.irqLevels[m.line] = m.level;
        return;
      case 'deadline':
        this.deadline = m.ns;
        return;
      case 'event':
        this.events.push(m);
        return;
      case 'log':
        this.logs.push(m);
        return;
      default:
        return; // VMM-bound posted types only; the peer has already checked directions
    }
  }

  private serveDma(req: Request): ReplyBody {
    if (req.type === 'dmaRead') {
      this.checkDma(req.segments);
      const out = new Uint8Array(req.segments.reduce((n, s) => n + s.len, 0));
      let off = 0;
      for (const s of req.segments) {
        out.set(this.ram.subarray(s.addr, s.addr + s.len), off);
        off += s.len;
      }
      return { type: 'dmaReadReply', data: out };
    }
    if (req.type === 'dmaWrite') {
      this.checkDma(req.segments); // all segments before any byte is written (README §9)
      let off = 0;
      for (const s of req.segments) {
        this.ram.set(req.data.subarray(off, off + s.len), s.addr);
        off += s.len;
      }
      return { type: 'ok' };
    }
    throw new ProtocolError(PROTOCOL_ERROR_CODES.UNSUPPORTED, `${req.type} is not served by qtest`);
  }

  private checkDma(segments: readonly DmaSegment[]): void {
    for (const s of segments) {
      if (s.addr + s.len > this.ram.length) {
        this.dmaFaults++;
        throw new ProtocolError(PROTOCOL_ERROR_CODES.DMA_FAULT, `DMA outside guest RAM: 0x${s.addr.toString(16)}+${s.len}`);
      }
    }
  }
}

/** The little-endian unsigned value of `size` bytes at `offset`. */
function littleEndian(data: Uint8Array, offset: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 2 ** BITS_PER_BYTE + (data[offset + i] ?? 0);
  return v;
}

/** `value` as `size` little-endian bytes. */
function toLittleEndian(value: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let v = value;
  for (let i = 0; i < size; i++) {
    out[i] = v % 2 ** BITS_PER_BYTE;
    v = Math.floor(v / 2 ** BITS_PER_BYTE);
  }
  return out;
}
