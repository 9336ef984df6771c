/**
 * A qtest-style driver of the real device-model process (QEMU tests/qtest/libqtest.h: outb/inb,
 * readl/writel, memread/memwrite, clock_step, irq observation), speaking the real tskvm-dm
 * protocol (protocol/README.md) with `role: "qtest"` and no CPU at all. It plays the VMM's part:
 * it owns a guest-RAM buffer and answers the device model's dmaRead/dmaWrite requests from it
 * (README §9, out-of-range → error DMA_FAULT), records every posted irq/deadline/event/log, and
 * drives the virtual clock (README §10) with `clock` followed by a `ping` barrier.
 */
import { ProtocolError } from '../../protocol/errors.js';
import {
  FEATURES,
  type AccessSize,
  type ClockMode,
  type ConfigureReply,
  type DeadlineMessage,
  type DeviceSpec,
  type EventKind,
  type EventMessage,
  type LogMessage,
  type Posted,
  type ReplyBody,
  type Request,
} from '../../protocol/messages.js';
import type { Peer } from '../../protocol/peer.js';
import { connectPeer } from '../../protocol/session.js';
import { DeviceModelProcess, type ListenKind } from './device-model-process.js';

/** Guest RAM the client offers by default (as QEMU qtest machines get `-m 16M` in many tests). */
export const QTEST_MEMORY_SIZE = 16 * 1024 * 1024;
/** Default time a request or a wait may take before the test fails instead of hanging. */
export const QTEST_TIMEOUT_MS = 10_000;
/** Pause between two checks of pollUntil. */
const POLL_INTERVAL_MS = 2;
/** The DMA error code of README §8.1. */
export const DMA_FAULT = 'DMA_FAULT';

/** Every feature of README §3.2: a qtest exercises the whole protocol. */
const ALL_FEATURES = [FEATURES.coalesced, FEATURES.doorbell, FEATURES.virtualClock, FEATURES.stringPio] as const;

/** Bytes in each access size, as masks of the value range. */
const SIZE_MASK = { 1: 0xff, 2: 0xffff, 4: 0xffff_ffff } as const satisfies Record<AccessSize, number>;

/** One posted `irq` as the client saw it, with the client's virtual time when it arrived. */
export interface IrqRecord {
  line: number;
  level: boolean;
  /** Virtual time (ns) the client had sent last when the message arrived. */
  nowNs: number;
}

/** One posted `deadline`, with the client's virtual time when it arrived. */
export interface DeadlineRecord {
  ns: number;
  nowNs: number;
}

/** DMA traffic the device model caused (README §9). */
export interface QtestDmaStats {
  reads: number;
  writes: number;
  /** Requests answered with error DMA_FAULT. */
  faults: number;
  bytesRead: number;
  bytesWritten: number;
  /** Largest total length of one request (README §5.1: at most 1 MiB). */
  largestRequest: number;
  /** Most segments in one request (README §5.1: at most 1024). */
  mostSegments: number;
}

/** Options of QtestClient.start / QtestClient.attach. */
export interface QtestOptions {
  /** The machine to build (`configure.devices`). */
  devices: DeviceSpec[];
  /** Transport of a process the client starts itself (default unix). */
  listen?: ListenKind;
  /** `configure.clock` (default virtual: only clockStep moves time). */
  clock?: ClockMode;
  /** Guest RAM served to DMA; default a fresh zeroed QTEST_MEMORY_SIZE buffer. */
  memory?: Uint8Array;
  /** Features offered in `hello` (default all four). */
  features?: readonly string[];
  /** Per-request timeout in ms (default QTEST_TIMEOUT_MS). */
  timeoutMs?: number;
}

interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

/**
 * One connection to a device model with the machine configured. Use `start` to spawn a private
 * device-model process (ended by `shutdown`/`kill`), or `attach` to connect to a running one.
 */
export class QtestClient {
  /** Every posted irq change in arrival order. */
  readonly irqLog: IrqRecord[] = [];
  /** Every posted deadline in arrival order. */
  readonly deadlines: DeadlineRecord[] = [];
  /** Machine events (debug-exit, reset, device error) in arrival order. */
  readonly events: EventMessage[] = [];
  /** Log lines the device model posted. */
  readonly logs: LogMessage[] = [];
  /** DMA requests served (and refused) for the device model. */
  readonly dma: QtestDmaStats = { reads: 0, writes: 0, faults: 0, bytesRead: 0, bytesWritten: 0, largestRequest: 0, mostSegments: 0 };
  /** Virtual time last sent with `clock` (ns). */
  nowNs = 0;

  private readonly levels = new Map<number, boolean>();
  private lastDeadline = -1;
  private readonly waiters: Waiter[] = [];
  private readonly timeoutMs: number;

  private constructor(
    readonly peer: Peer,
    /** What the device model claimed: PIO/MMIO ranges, doorbells, coalesced zones. */
    readonly configuration: ConfigureReply,
    /** Guest RAM, guest-physical address 0 at index 0. */
    readonly memory: Uint8Array,
    /** The process this client started, if it started one. */
    readonly process: DeviceModelProcess | undefined,
    timeoutMs: number,
  ) {
    this.timeoutMs = timeoutMs;
  }

  /** Spawn a device model (`--once`), connect, handshake as `qtest`, configure `devices`. */
  static async start(options: QtestOptions): Promise<QtestClient> {
    const dm = await DeviceModelProcess.start({ listen: options.listen ?? 'unix', once: true });
    try {
      return await QtestClient.connect(dm.address, options, dm);
    } catch (e) {
      await dm.kill();
      throw e;
    }
  }

  /** Connect to a device model that is already listening (e.g. one serving many connections). */
  static attach(address: string, options: QtestOptions): Promise<QtestClient> {
    return QtestClient.connect(address, options, undefined);
  }

  private static async connect(address: string, options: QtestOptions, dm: DeviceModelProcess | undefined): Promise<QtestClient> {
    const timeoutMs = options.timeoutMs ?? QTEST_TIMEOUT_MS;
    const features = options.features ?? ALL_FEATURES;
    const { peer } = await connectPeer(address, {
      features,
      role: 'qtest',
      requestTimeoutMs: timeoutMs,
      handshakeTimeoutMs: timeoutMs,
      log: () => undefined, // the tests look at close reasons themselves
    });
    const memory = options.memory ?? new Uint8Array(QTEST_MEMORY_SIZE);
    // Posted messages and DMA requests can arrive right after `configure` is sent (the first
    // `deadline`, DMA of a device activated later): install the handlers before it.
    let client: QtestClient | undefined;
    const early: Posted[] = [];
    peer.onPosted((m) => (client ? client.onPosted(m) : void early.push(m)));
    peer.onRequest((r) => QtestClient.serveDma(memory, r, client?.dma));
    let configuration: ConfigureReply;
    try {
      configuration = await peer.request({ type: 'configure', clock: options.clock ?? 'virtual', devices: options.devices });
    } catch (e) {
      peer.close(); // a machine that could not be built: this connection has nothing left to do
      throw e;
    }
    client = new QtestClient(peer, configuration, memory, dm, timeoutMs);
    for (const m of early) client.onPosted(m);
    return client;
  }

  // --- port I/O (README §5.3) --------------------------------------------------------------

  async outb(port: number, value: number): Promise<void> {
    await this.pioWrite(port, 1, [value]);
  }
  async outw(port: number, value: number): Promise<void> {
    await this.pioWrite(port, 2, [value]);
  }
  async outl(port: number, value: number): Promise<void> {
    await this.pioWrite(port, 4, [value]);
  }
  async inb(port: number): Promise<number> {
    return (await this.pioRead(port, 1, 1))[0] ?? 0;
  }
  async inw(port: number): Promise<number> {
    return (await this.pioRead(port, 2, 1))[0] ?? 0;
  }
  async inl(port: number): Promise<number> {
    return (await this.pioRead(port, 4, 1))[0] ?? 0;
  }

  /** `pioWrite` of `values.length` elements of `size` bytes (string I/O when more than one). */
  async pioWrite(port: number, size: AccessSize, values: readonly number[]): Promise<void> {
    const data = new Uint8Array(values.length * size);
    values.forEach((v, i) => {
      const masked = (v & SIZE_MASK[size]) >>> 0;
      for (let b = 0; b < size; b++) data[i * size + b] = (masked >>> (8 * b)) & 0xff;
    });
    await this.peer.request({ type: 'pioWrite', port, size, data });
  }

  /** `pioRead` of `count` elements of `size` bytes; returns the element values. */
  async pioRead(port: number, size: AccessSize, count: number): Promise<number[]> {
    const reply = await this.peer.request({ type: 'pioRead', port, size, count });
    if (reply.data.length !== size * count) throw new Error(`assertion: pioRead answered ${reply.data.length} bytes for ${size}×${count}`);
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      let v = 0;
      for (let b = 0; b < size; b++) v |= (reply.data[i * size + b] ?? 0) << (8 * b);
      out.push(v >>> 0);
    }
    return out;
  }

  // --- MMIO (README §5.3) ------------------------------------------------------------------

  readb(addr: number): Promise<number> {
    return this.mmioRead(addr, 1);
  }
  readw(addr: number): Promise<number> {
    return this.mmioRead(addr, 2);
  }
  readl(addr: number): Promise<number> {
    return this.mmioRead(addr, 4);
  }
  writeb(addr: number, value: number): Promise<void> {
    return this.mmioWrite(addr, 1, value);
  }
  writew(addr: number, value: number): Promise<void> {
    return this.mmioWrite(addr, 2, value);
  }
  writel(addr: number, value: number): Promise<void> {
    return this.mmioWrite(addr, 4, value);
  }

  async mmioRead(addr: number, size: AccessSize): Promise<number> {
    const reply = await this.peer.request({ type: 'mmioRead', addr, size });
    // The VMM uses the low `size` bytes of the value (README §5.3).
    return (reply.value & SIZE_MASK[size]) >>> 0;
  }

  async mmioWrite(addr: number, size: AccessSize, value: number): Promise<void> {
    await this.peer.request({ type: 'mmioWrite', addr, size, value: (value & SIZE_MASK[size]) >>> 0 });
  }

  /** Post a `doorbell` (the guest wrote a registered ioeventfd; README §7). */
  doorbell(doorbell: number, value: number): void {
    this.peer.post({ type: 'doorbell', doorbell, value });
  }

  /** A `ping` round trip: every message the device model sent before its reply has been handled. */
  async ping(): Promise<void> {
    await this.peer.request({ type: 'ping' });
  }

  // --- time (README §10) -------------------------------------------------------------------

  /**
   * Advance virtual time by `ns` (qtest clock_step): post `clock`, then `ping`, so that every
   * timer due by then has fired and its irq has arrived. Returns the new time.
   */
  async clockStep(ns: number): Promise<number> {
    if (!Number.isSafeInteger(ns) || ns < 0) throw new Error(`assertion: clockStep(${ns}) needs a non-negative integer`);
    return this.clockSet(this.nowNs + ns);
  }

  /** Set virtual time to `ns` (never backwards), then the `ping` barrier. */
  async clockSet(ns: number): Promise<number> {
    if (ns < this.nowNs) throw new Error(`assertion: virtual time cannot go back from ${this.nowNs} to ${ns}`);
    this.nowNs = ns;
    this.peer.post({ type: 'clock', nowNs: ns });
    await this.ping();
    return ns;
  }

  /** Step exactly to the announced deadline (the VMM's preemption-timer stop); false if none. */
  async clockStepToDeadline(): Promise<boolean> {
    const d = this.lastDeadline;
    if (d < 0) return false;
    await this.clockSet(Math.max(d, this.nowNs));
    return true;
  }

  /** The last posted deadline (−1: none). */
  get deadline(): number {
    return this.lastDeadline;
  }

  // --- interrupts and events ---------------------------------------------------------------

  /** Level of `line` as last posted (false if never posted). */
  irq(line: number): boolean {
    return this.levels.get(line) ?? false;
  }

  /** Rising edges (posted level true) of `line` recorded from irqLog index `from` on. */
  irqRaises(line: number, from = 0): number {
    let n = 0;
    for (let i = from; i < this.irqLog.length; i++) {
      const r = this.irqLog[i];
      if (r !== undefined && r.line === line && r.level) n++;
    }
    return n;
  }

  /** Wait until `line` is at `level` (already there: at once). */
  waitForIrq(line: number, level: boolean, timeoutMs = this.timeoutMs): Promise<void> {
    return this.waitUntil(() => this.irq(line) === level, `irq ${line} ${level ? 'high' : 'low'}`, timeoutMs);
  }

  /** Wait for an event of `kind` beyond the first `from` events; resolves with it. */
  async waitForEvent(kind: EventKind, from = 0, timeoutMs = this.timeoutMs): Promise<EventMessage> {
    const find = (): EventMessage | undefined => this.events.slice(from).find((e) => e.kind === kind);
    await this.waitUntil(() => find() !== undefined, `event ${kind}`, timeoutMs);
    const e = find();
    if (e === undefined) throw new Error('assertion: waited-for event vanished');
    return e;
  }

  /** Wait until `predicate` holds; it is re-checked whenever a posted message arrives. */
  waitUntil(predicate: () => boolean, what: string, timeoutMs = this.timeoutMs): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        check: predicate,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new ProtocolError('TIMEOUT', `qtest: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /**
   * Wait until `predicate` holds for state no posted message announces (a used ring in guest
   * RAM written by DMA without an interrupt): re-checked after each `ping` round trip.
   */
  async pollUntil(predicate: () => boolean, what: string, timeoutMs = this.timeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new ProtocolError('TIMEOUT', `qtest: no ${what} within ${timeoutMs} ms`);
      await this.ping();
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }

  // --- guest memory (README §9) ------------------------------------------------------------

  /** Copy of `len` bytes of guest RAM at `addr` (qtest memread). */
  memread(addr: number, len: number): Uint8Array {
    this.checkRam(addr, len);
    return this.memory.slice(addr, addr + len);
  }

  /** Write `data` into guest RAM at `addr` (qtest memwrite). */
  memwrite(addr: number, data: Uint8Array): void {
    this.checkRam(addr, data.length);
    this.memory.set(data, addr);
  }

  private checkRam(addr: number, len: number): void {
    if (!inRam(this.memory, addr, len)) throw new Error(`assertion: test access 0x${addr.toString(16)}+${len} outside guest RAM`);
  }

  // --- ending ------------------------------------------------------------------------------

  /**
   * Orderly end (README §5.4): `shutdown`, the device model flushes its backends and closes. If
   * this client started the process, waits for it to exit (it runs with `--once`).
   */
  async shutdown(): Promise<void> {
    if (!this.peer.isClosed) await this.peer.request({ type: 'shutdown' });
    this.peer.close();
    if (this.process !== undefined) await this.process.waitForExit(this.timeoutMs);
  }

  /** Kill the process this client started (default SIGKILL) and wait for its exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.process === undefined) throw new Error('assertion: kill() on a client that did not start its process');
    await this.process.kill(signal);
    this.peer.close();
  }

  /** Best-effort cleanup for afterEach: shut down if possible, kill whatever is left. */
  async dispose(): Promise<void> {
    try {
      if (!this.peer.isClosed) await this.shutdown();
    } catch {
      // The connection may already be broken; killing below is what matters.
    }
    this.peer.close();
    if (this.process?.alive) await this.process.kill();
  }

  // -------------------------------------------------------------------------------------------

  private onPosted(m: Posted): void {
    switch (m.type) {
      case 'irq':
        this.levels.set(m.line, m.level);
        this.irqLog.push({ line: m.line, level: m.level, nowNs: this.nowNs });
        break;
      case 'deadline':
        this.recordDeadline(m);
        break;
      case 'event':
        this.events.push(m);
        break;
      case 'log':
        this.logs.push(m);
        break;
      default:
        break; // VMM-bound posted messages only; the peer rejects the rest by direction
    }
    for (const w of [...this.waiters]) {
      if (w.check()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  private recordDeadline(m: DeadlineMessage): void {
    this.lastDeadline = m.ns;
    this.deadlines.push({ ns: m.ns, nowNs: this.nowNs });
  }

  /** The VMM's DMA service (README §9): check every segment first, then copy. */
  private static serveDma(memory: Uint8Array, r: Request, stats: QtestDmaStats | undefined): ReplyBody {
    if (r.type !== 'dmaRead' && r.type !== 'dmaWrite') throw new ProtocolError('UNSUPPORTED', `a qtest client does not serve ${r.type}`);
    const bad = r.segments.find((s) => !inRam(memory, s.addr, s.len));
    if (bad !== undefined) {
      if (stats) stats.faults++;
      throw new ProtocolError(DMA_FAULT, `${r.type} segment 0x${bad.addr.toString(16)}+${bad.len} is outside guest RAM (${memory.length} bytes)`);
    }
    const total = r.segments.reduce((n, s) => n + s.len, 0);
    if (stats) {
      stats.largestRequest = Math.max(stats.largestRequest, total);
      stats.mostSegments = Math.max(stats.mostSegments, r.segments.length);
    }
    if (r.type === 'dmaRead') {
      const data = new Uint8Array(total);
      let at = 0;
      for (const s of r.segments) {
        data.set(memory.subarray(s.addr, s.addr + s.len), at);
        at += s.len;
      }
      if (stats) {
        stats.reads++;
        stats.bytesRead += total;
      }
      return { type: 'dmaReadReply', data };
    }
    // The parser already checked data.length against the segments (README §9); segments apply in order.
    let at = 0;
    for (const s of r.segments) {
      memory.set(r.data.subarray(at, at + s.len), s.addr);
      at += s.len;
    }
    if (stats) {
      stats.writes++;
      stats.bytesWritten += total;
    }
    return { type: 'ok' };
  }
}

/** Is [addr, addr + len) inside guest RAM? */
function inRam(memory: Uint8Array, addr: number, len: number): boolean {
  return Number.isSafeInteger(addr) && Number.isSafeInteger(len) && addr >= 0 && len >= 0 && addr + len <= memory.length;
}
