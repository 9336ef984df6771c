/**
 * The VMM's connection to the device-model process — the only file of kernel/ that speaks the
 * protocol (protocol/README.md). It spawns the device model (default) or connects to one over
 * unix/ws, forwards unclaimed port I/O and MMIO as synchronous requests, posts doorbells and
 * coalesced writes, serves DMA from guest RAM, and turns posted irq/event/deadline messages
 * into calls on the VM. With the virtual clock it also keeps the device model's time in step
 * with retired guest instructions.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { connect } from '../../protocol/transport.js';
import { UnixTransport } from '../../protocol/transport-unix.js';
import { Peer } from '../../protocol/peer.js';
import { FEATURES, type AccessSize, type CoalescedWrite as WireWrite, type ConfigureReply, type Posted, type ReplyBody, type Request } from '../../protocol/messages.js';
import { errorCode, ProtocolError } from '../../protocol/errors.js';
import { UsageError } from '../../cli/usage-error.js';
import { ImageError } from './loader/image-error.js';
import type { CoalescedWrite } from '../kvm/io-bus.js';
import { GuestRam, GuestRamError } from './guest-ram.js';
import type { MachineConfig } from './machine-config.js';
import { spawnDeviceModel } from './device-process.js';

/** The device descriptions of `configure`, as the protocol defines them. */
export type { DeviceSpec } from '../../protocol/messages.js';

export interface DeviceLinkHandlers {
  ram: GuestRam;
  onIrq(line: number, level: boolean): void;
  onEvent(e: { kind: 'exit' | 'reset' | 'error'; code?: number; message?: string }): void;
  onClosed(why: string): void;
}

/** How long the VMM waits for the device model to start and answer the handshake. */
const START_TIMEOUT_MS = 10_000;
/** How long a clean shutdown may take before the device model is killed. */
const SHUTDOWN_TIMEOUT_MS = 2_000;

/** How long a broken link waits for the spawned device model's exit status before reporting. */
const CHILD_EXIT_WAIT_MS = 200;

/** How long after a doorbell or DMA request the device model counts as busy. */
const IO_ACTIVE_MS = 2;

const OFFERED_FEATURES = [FEATURES.coalesced, FEATURES.doorbell, FEATURES.virtualClock, FEATURES.stringPio];

/** Host-side failure of the device-model link (exit status 70). */
export class DeviceLinkError extends Error {
  readonly code = 'DEVICE_MODEL';
}

/** A Uint8Array whose bytes are not zeroed first (the caller writes every one). */
function uninitialised(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

export class DeviceLink {
  private deadline = -1;
  /** Until when (performance.now() ms) the device model is expected to ask for DMA. */
  private ioActiveUntil = 0;
  private lastClockPosted = -1;
  private closing = false;
  /** Once the connection is gone: why, as the user should hear it. */
  private lost: Promise<string> | undefined;
  private clockNow: (() => number) | undefined;
  readonly counters = { pioReads: 0, pioWrites: 0, mmioReads: 0, mmioWrites: 0, doorbells: 0, coalescedBatches: 0, dmaReads: 0, dmaWrites: 0, dmaBytes: 0, irqMessages: 0 };

  private constructor(private readonly peer: Peer, private readonly child: ChildProcess | undefined, private readonly h: DeviceLinkHandlers) {
    peer.onPosted((m) => this.onPosted(m));
    peer.onRequest((r) => this.onRequest(r));
    peer.onClose((reason) => {
      if (this.closing) return;
      this.lost = this.waitForExit().then(() => this.describeLoss(reason.message));
      void this.lost.then((why) => this.h.onClosed(why));
    });
  }

  /**
   * The socket usually breaks (EPIPE, ECONNRESET, EOF) just before the child's exit is
   * reported: wait a moment so the user hears that the device model died, and how.
   */
  private waitForExit(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, CHILD_EXIT_WAIT_MS);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Spawn (or take the device model spawned early) or connect, then complete the handshake. */
  static async open(spec: string, h: DeviceLinkHandlers, spawned?: ChildProcess): Promise<DeviceLink> {
    let child: ChildProcess | undefined;
    let transport;
    if (spec === 'spawn') {
      child = spawned ?? spawnDeviceModel();
      const socket = child.stdio[3] as Socket | null;
      if (!socket) throw new DeviceLinkError('could not create the device-model socket pair');
      transport = new UnixTransport(socket, { description: 'spawned device model' });
    } else {
      try {
        transport = await connect(spec);
      } catch (e) {
        throw new DeviceLinkError(`cannot connect to the device model at ${spec}: ${(e as Error).message}`);
      }
    }
    const peer = new Peer(transport, { side: 'vmm', log: (level, message) => process.stderr.write(`tskvm: device-model protocol ${level}: ${message}\n`) });
    const link = new DeviceLink(peer, child, h);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        peer.handshake(OFFERED_FEATURES, { role: 'vmm' }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new DeviceLinkError(`the device model did not answer within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
        }),
      ]);
    } catch (e) {
      link.closing = true;
      peer.close();
      child?.kill('SIGKILL');
      if (e instanceof DeviceLinkError) throw e;
      throw new DeviceLinkError(`device-model handshake failed: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    return link;
  }

  private describeLoss(message: string): string {
    const c = this.child;
    if (c && (c.exitCode !== null || c.signalCode !== null)) {
      return `device-model process exited (${c.signalCode ? `signal ${c.signalCode}` : `status ${c.exitCode}`})`;
    }
    return message;
  }

  private async call<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      if (e instanceof ProtocolError && e.code === 'CLOSED') {
        // Report the loss the way onClose does, once we know whether the process died.
        const why = await (this.lost ?? Promise.resolve(this.describeLoss(e.message)));
        throw new DeviceLinkError(`device model connection lost: ${why}`);
      }
      throw e;
    }
  }

  /** Send the machine description; a refusal is reported against the flag that caused it. */
  async configure(config: MachineConfig): Promise<ReplyBody<ConfigureReply>> {
    try {
      return await this.call(this.peer.request({ type: 'configure', clock: config.clock, devices: config.devices }));
    } catch (e) {
      const cause = e instanceof ProtocolError ? (e.causeCode ?? e.code) : errorCode(e);
      const message = (e as Error).message;
      if (cause === 'BAD_IMAGE' || cause === 'OPEN_FAILED') throw new ImageError(message);
      if (cause === 'BAD_BACKEND' || cause === 'BAD_SPEC' || cause === 'NET_BAD_SPEC') throw new UsageError(message);
      throw new DeviceLinkError(`the device model refused the machine: ${message}`);
    }
  }

  /** Run `hook` before every synchronous message (the VMM flushes its coalesced writes there). */
  beforeRequest(hook: () => void): void {
    this.peer.beforeRequest(hook);
  }

  /** Virtual clock: every synchronous message is preceded by the guest's current time. */
  useVirtualClock(now: () => number): void {
    this.clockNow = now;
    this.peer.beforeRequest(() => this.postClock());
  }

  private postClock(): void {
    if (!this.clockNow) return;
    const t = this.clockNow();
    if (t !== this.lastClockPosted) {
      this.lastClockPosted = t;
      this.peer.post({ type: 'clock', nowNs: t });
    }
  }

  async pioRead(port: number, size: number, count: number): Promise<Uint8Array> {
    this.counters.pioReads++;
    const r = await this.call(this.peer.request({ type: 'pioRead', port, size: size as AccessSize, count }));
    return r.data;
  }

  async pioWrite(port: number, size: number, data: Uint8Array): Promise<void> {
    this.counters.pioWrites++;
    await this.call(this.peer.request({ type: 'pioWrite', port, size: size as AccessSize, data: data.slice() }));
  }

  async mmioRead(addr: number, size: number): Promise<number> {
    this.counters.mmioReads++;
    const r = await this.call(this.peer.request({ type: 'mmioRead', addr, size: size as AccessSize }));
    return r.value;
  }

  async mmioWrite(addr: number, size: number, value: number): Promise<void> {
    this.counters.mmioWrites++;
    await this.call(this.peer.request({ type: 'mmioWrite', addr, size: size as AccessSize, value }));
  }

  /**
   * The device model is working on a doorbell or DMA: the vCPU should return to the event loop
   * often so that its DMA requests are served without waiting for a whole slice.
   */
  get ioActive(): boolean {
    return performance.now() < this.ioActiveUntil;
  }

  postDoorbell(doorbell: number, value: number): void {
    this.counters.doorbells++;
    this.ioActiveUntil = performance.now() + IO_ACTIVE_MS;
    this.postClock();
    this.peer.post({ type: 'doorbell', doorbell, value: value >>> 0 });
  }

  postCoalesced(writes: CoalescedWrite[]): void {
    this.counters.coalescedBatches++;
    const wire: WireWrite[] = writes.map((w) => ({ space: w.pio ? 'pio' : 'mmio', addr: w.addr, size: w.len as AccessSize, value: w.value >>> 0 }));
    this.peer.post({ type: 'coalesced', writes: wire });
  }

  /** The device model's counters (bus misses, device statistics). */
  async deviceStats(): Promise<Record<string, number>> {
    const r = await this.call(this.peer.request({ type: 'stats' }));
    return r.counters;
  }

  /** A synchronous barrier: everything the device model posted before it has been handled. */
  async sync(): Promise<void> {
    await this.call(this.peer.request({ type: 'ping' }));
  }

  /** The device model's next timer deadline on the virtual clock (-1: none). */
  get nextDeadline(): number {
    return this.deadline;
  }

  private onPosted(m: Posted): void {
    switch (m.type) {
      case 'irq':
        this.counters.irqMessages++;
        this.h.onIrq(m.line, m.level);
        break;
      case 'deadline':
        this.deadline = m.ns;
        break;
      case 'event':
        this.h.onEvent({ kind: m.kind, ...(m.code !== undefined ? { code: m.code } : {}), ...(m.message !== undefined ? { message: m.message } : {}) });
        break;
      case 'log':
        process.stderr.write(`tskvm: device model ${m.level}: ${m.message}\n`);
        break;
      default:
        break;
    }
  }

  private onRequest(r: Request): ReplyBody {
    const ram = this.h.ram;
    this.ioActiveUntil = performance.now() + IO_ACTIVE_MS;
    try {
      if (r.type === 'dmaRead') {
        this.counters.dmaReads++;
        const total = r.segments.reduce((n, s) => n + s.len, 0);
        // Every byte is written below (untouched pages as zeros): no need to zero it first.
        const out = uninitialised(total);
        let at = 0;
        for (const s of r.segments) {
          ram.readInto(s.addr, s.len, out, at);
          at += s.len;
        }
        this.counters.dmaBytes += total;
        return { type: 'dmaReadReply', data: out };
      }
      if (r.type === 'dmaWrite') {
        this.counters.dmaWrites++;
        // Check every segment before writing any, so a bad list changes nothing.
        for (const s of r.segments) if (!ram.contains(s.addr, s.len)) throw new GuestRamError(s.addr, s.len);
        let at = 0;
        for (const s of r.segments) {
          ram.write(s.addr, r.data.subarray(at, at + s.len));
          at += s.len;
        }
        this.counters.dmaBytes += at;
        return { type: 'ok' };
      }
      if (r.type === 'ping') return { type: 'ok' };
    } catch (e) {
      if (e instanceof GuestRamError) throw new ProtocolError('DMA_FAULT', e.message);
      throw e;
    }
    throw new ProtocolError('UNEXPECTED', `the VMM does not serve ${r.type} requests`);
  }

  get stats(): Record<string, number> {
    return { ...this.counters, ...this.peer.stats };
  }

  /** Orderly shutdown; kills a spawned device model that does not leave in time. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (!this.peer.isClosed) {
      try {
        await this.peer.request({ type: 'shutdown' }, { timeoutMs: SHUTDOWN_TIMEOUT_MS });
      } catch {
        // The device model is gone or stuck; it is killed below.
      }
      this.peer.close();
    }
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      const timer = setTimeout(() => c.kill('SIGKILL'), SHUTDOWN_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
  }
}
