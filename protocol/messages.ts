/**
 * The messages of the tskvm VMM ↔ device-model protocol ("tskvm-dm"), as one discriminated
 * union of plain objects tagged by `type` (protocol/README.md §5–§7). Modelled on vfio-user
 * (facts.md §6.1): the VMM is the client that owns guest RAM and the vCPUs, the device model is
 * the server that owns the devices; register accesses flow VMM→DM, DMA flows DM→VMM.
 *
 * Three kinds (README §4): requests carry an `id` and get exactly one reply; replies carry
 * `reply` (the id they answer) and are either the request's success reply or `error`; posted
 * messages have neither and get no reply.
 */

/** Protocol name carried by `hello` (README §3). */
export const PROTOCOL_NAME = 'tskvm-dm';

/** The protocol version this code speaks. Peers must agree exactly (README §3). */
export const PROTOCOL_VERSION = 1;

/** Size limits and value ranges a receiver enforces (README §2, §5). */
export const LIMITS = {
  /** Default maximum frame body, in bytes; each side may configure its own. */
  FRAME_MAX_DEFAULT: 16 * 1024 * 1024,
  /** Largest pioRead/pioWrite payload (size × count), one page as KVM's PIO data page. */
  PIO_DATA_MAX: 4096,
  /** Largest number of scatter-gather segments in one dmaRead/dmaWrite. */
  DMA_SEGMENTS_MAX: 1024,
  /** Largest total length of one dmaRead/dmaWrite (vfio-user's default max_data_xfer_size). */
  DMA_BYTES_MAX: 1024 * 1024,
  /** Largest number of writes in one `coalesced` batch. */
  COALESCED_WRITES_MAX: 4096,
  /** Largest number of devices in `configure`. */
  DEVICES_MAX: 64,
  /** Largest number of entries in each list of `configureReply`. */
  RANGES_MAX: 256,
  /** Largest number of feature strings in `hello`/`helloReply`. */
  FEATURES_MAX: 64,
  /** Largest number of counters in a `statsReply`. */
  COUNTERS_MAX: 1024,
  /** Largest number of keys in a virtio device's `options` map. */
  OPTIONS_MAX: 32,
  /** Longest string field, in UTF-16 code units (paths, messages, backend specs). */
  STRING_MAX: 4096,
  /** Longest short identifier (feature names, error codes, option keys, range names). */
  NAME_MAX: 64,
  /** Highest I/O port. */
  PORT_MAX: 0xffff,
  /** Highest request id / doorbell id (u32). */
  U32_MAX: 0xffff_ffff,
  /** Exclusive upper bound of guest-physical addresses (52-bit physical address width). */
  GPA_LIMIT: 2 ** 52,
  /** Highest interrupt line (GSI; ISA IRQs are 0–15). */
  IRQ_LINE_MAX: 23,
} as const;

/** Register access sizes, in bytes (README §5.3). */
export const ACCESS_SIZES = [1, 2, 4] as const;
/** A register access width in bytes. */
export type AccessSize = (typeof ACCESS_SIZES)[number];

/** Optional behaviours negotiated in the handshake (README §3.2). */
export const FEATURES = {
  /** The VMM batches writes to coalesced zones into `coalesced` messages. */
  coalesced: 'coalesced',
  /** The VMM turns writes to registered doorbells into posted `doorbell` messages. */
  doorbell: 'doorbell',
  /** `clock` and `deadline` messages drive device timers from the VMM's virtual clock. */
  virtualClock: 'virtual-clock',
  /** pioRead/pioWrite may carry count > 1 (REP INS/OUTS in one message). */
  stringPio: 'string-pio',
} as const;

/** Who sends `hello`: the VMM proper, or a qtest-like driver with no CPU (README §3.1). */
export const ROLES = ['vmm', 'qtest'] as const;
/** The `role` field of `hello`. */
export type Role = (typeof ROLES)[number];

/** `configure.clock`: real time or the VMM's instruction-derived virtual time (README §10). */
export const CLOCK_MODES = ['host', 'virtual'] as const;
/** One of CLOCK_MODES. */
export type ClockMode = (typeof CLOCK_MODES)[number];

/** The two I/O address spaces: port I/O and memory-mapped I/O. */
export const ADDRESS_SPACES = ['pio', 'mmio'] as const;
/** One of ADDRESS_SPACES. */
export type AddressSpace = (typeof ADDRESS_SPACES)[number];

/** virtio device kinds the device model can build (README §5.2). */
export const VIRTIO_KINDS = ['blk', 'console', 'net', 'rng'] as const;
/** One of VIRTIO_KINDS. */
export type VirtioKind = (typeof VIRTIO_KINDS)[number];

/** `event.kind`: debug-exit, reset request, device failure (README §7). */
export const EVENT_KINDS = ['exit', 'reset', 'error'] as const;
/** One of EVENT_KINDS. */
export type EventKind = (typeof EVENT_KINDS)[number];

/** `log.level` (README §7). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
/** One of LOG_LEVELS. */
export type LogLevel = (typeof LOG_LEVELS)[number];

// ---------------------------------------------------------------------------------------------
// Shared structures (README §5.2, §7, §9)

/** A guest-physical scatter-gather element (vfio-user DMA_READ/DMA_WRITE address + count). */
export interface DmaSegment {
  addr: number;
  len: number;
}

/** One device model in `configure` (README §5.2), tagged by `type`. */
export type DeviceSpec =
  | { type: 'serial'; base: number; irq: number; backend: string }
  | { type: 'debugExit'; port: number; size: AccessSize }
  | { type: 'debugcon'; port: number; backend: string }
  | { type: 'pit'; port: number; irq: number }
  | { type: 'cmos'; irq: number; /** Guest RAM in bytes, for the CMOS memory-size registers. */ ramSize?: number }
  | { type: 'i8042' }
  | { type: 'port80' }
  | { type: 'ata'; path: string; readOnly: boolean }
  | {
      type: 'virtio';
      kind: VirtioKind;
      base: number;
      irq: number;
      backend: string;
      options: Record<string, string | number | boolean>;
    };

/** The `type` tag of a DeviceSpec. */
export type DeviceType = DeviceSpec['type'];

/** A register window the device model claims (README §5.2). */
export interface IoRange {
  base: number;
  size: number;
  name: string;
}

/** An ioeventfd the device model asks the VMM to register (facts.md §3.7 matching rules). */
export interface DoorbellSpec {
  doorbell: number;
  space: AddressSpace;
  addr: number;
  /** 0 = any access length (MMIO only), else 1, 2 or 4. */
  size: 0 | AccessSize;
  /** Present: only writes of exactly this value ring; absent: any value. */
  datamatch?: number;
}

/** A zone whose writes the VMM may batch (facts.md §3.9). */
export interface CoalescedZone {
  space: AddressSpace;
  base: number;
  size: number;
}

/** One batched write. */
export interface CoalescedWrite {
  space: AddressSpace;
  addr: number;
  size: AccessSize;
  value: number;
}

// ---------------------------------------------------------------------------------------------
// Requests (README §5)

/** VMM → DM: first message of a connection (README §3.1). */
export interface HelloRequest {
  type: 'hello';
  id: number;
  protocol: string;
  version: number;
  features: string[];
  role: Role;
}
/** VMM → DM: the machine to build (README §5.2). */
export interface ConfigureRequest {
  type: 'configure';
  id: number;
  clock: ClockMode;
  devices: DeviceSpec[];
}
/** VMM → DM: port read, `count` elements for string I/O (README §5.3). */
export interface PioReadRequest {
  type: 'pioRead';
  id: number;
  port: number;
  size: AccessSize;
  count: number;
}
/** VMM → DM: port write (README §5.3). */
export interface PioWriteRequest {
  type: 'pioWrite';
  id: number;
  port: number;
  size: AccessSize;
  /** size × count bytes, each value little-endian; count = data.length / size. */
  data: Uint8Array;
}
/** VMM → DM: MMIO read (README §5.3). */
export interface MmioReadRequest {
  type: 'mmioRead';
  id: number;
  addr: number;
  size: AccessSize;
}
/** VMM → DM: MMIO write (README §5.3). */
export interface MmioWriteRequest {
  type: 'mmioWrite';
  id: number;
  addr: number;
  size: AccessSize;
  value: number;
}
/** DM → VMM: read guest memory, vfio-user DMA_READ with a scatter-gather list (README §9). */
export interface DmaReadRequest {
  type: 'dmaRead';
  id: number;
  segments: DmaSegment[];
}
/** DM → VMM: write guest memory, vfio-user DMA_WRITE with a scatter-gather list (README §9). */
export interface DmaWriteRequest {
  type: 'dmaWrite';
  id: number;
  segments: DmaSegment[];
  /** Exactly the sum of the segment lengths, written segment by segment in order. */
  data: Uint8Array;
}
/** VMM → DM: flush and close (README §5.4). */
export interface ShutdownRequest {
  type: 'shutdown';
  id: number;
}
/** Either side: liveness and synchronisation point (README §5.4, §10). */
/** Ask the device model for its counters (bus misses, per-device statistics). */
export interface StatsRequest {
  type: 'stats';
  id: number;
}
export interface PingRequest {
  type: 'ping';
  id: number;
}

/** Every request (carries `id`, gets exactly one reply). */
export type Request =
  | HelloRequest
  | ConfigureRequest
  | PioReadRequest
  | PioWriteRequest
  | MmioReadRequest
  | MmioWriteRequest
  | DmaReadRequest
  | DmaWriteRequest
  | ShutdownRequest
  | PingRequest
  | StatsRequest;

// ---------------------------------------------------------------------------------------------
// Replies (README §6)

/** DM → VMM: answer to `hello` (README §3.1). */
export interface HelloReply {
  type: 'helloReply';
  reply: number;
  protocol: string;
  version: number;
  /** The features both sides will use: a subset of those offered in `hello`. */
  features: string[];
  /** Free-form implementation name, for logs. */
  name: string;
}
/** DM → VMM: what to route to the device model (README §5.2). */
export interface ConfigureReply {
  type: 'configureReply';
  reply: number;
  pio: IoRange[];
  mmio: IoRange[];
  doorbells: DoorbellSpec[];
  coalesced: CoalescedZone[];
}
/** DM → VMM: answer to `pioRead`. */
export interface PioReadReply {
  type: 'pioReadReply';
  reply: number;
  /** size × count bytes. */
  data: Uint8Array;
}
/** DM → VMM: answer to `mmioRead`. */
export interface MmioReadReply {
  type: 'mmioReadReply';
  reply: number;
  value: number;
}
/** VMM → DM: answer to `dmaRead`. */
export interface DmaReadReply {
  type: 'dmaReadReply';
  reply: number;
  data: Uint8Array;
}
/** Success reply without data (README §6). */
export interface StatsReply {
  type: 'statsReply';
  reply: number;
  /** Counter name → value (non-negative integers), e.g. `pio.misses`, `serial@0x3f8.txBytes`. */
  counters: Record<string, number>;
}
export interface OkReply {
  type: 'ok';
  reply: number;
}
/** Failure reply to any request (README §6, §8.1). */
export interface ErrorReply {
  type: 'error';
  reply: number;
  code: string;
  message: string;
  /** Optional: the code of the underlying failure (e.g. BAD_IMAGE inside a CONFIG refusal). */
  cause?: string;
}

/** Every success reply. */
export type SuccessReply = HelloReply | ConfigureReply | PioReadReply | MmioReadReply | DmaReadReply | StatsReply | OkReply;
/** Every reply (carries `reply`, the id it answers). */
export type Reply = SuccessReply | ErrorReply;

// ---------------------------------------------------------------------------------------------
// Posted messages (README §7)

/** VMM → DM: a registered doorbell was written (KVM ioeventfd; README §7). */
export interface DoorbellMessage {
  type: 'doorbell';
  doorbell: number;
  value: number;
}
/** VMM → DM: buffered writes to coalesced zones, in guest order (README §7). */
export interface CoalescedMessage {
  type: 'coalesced';
  writes: CoalescedWrite[];
}
/** VMM → DM: virtual time advanced (README §10). */
export interface ClockMessage {
  type: 'clock';
  nowNs: number;
}
/** DM → VMM: set an interrupt line's level (README §7). */
export interface IrqMessage {
  type: 'irq';
  line: number;
  level: boolean;
}
/** DM → VMM: earliest timer deadline on the virtual clock (README §10). */
export interface DeadlineMessage {
  type: 'deadline';
  /** Next timer deadline on the virtual clock, or -1 for none. */
  ns: number;
}
/** DM → VMM: debug-exit, reset request or device failure (README §7). */
export interface EventMessage {
  type: 'event';
  kind: EventKind;
  code?: number;
  message?: string;
}
/** DM → VMM: a line for the VMM's stderr. */
export interface LogMessage {
  type: 'log';
  level: LogLevel;
  message: string;
}
/** Either side: connection-fatal error, the sender closes next (README §8.2). */
export interface AbortMessage {
  type: 'abort';
  code: string;
  message: string;
}

/** Every posted message (no id, no reply). */
export type Posted =
  | DoorbellMessage
  | CoalescedMessage
  | ClockMessage
  | IrqMessage
  | DeadlineMessage
  | EventMessage
  | LogMessage
  | AbortMessage;

/** Every message of the protocol. */
export type Message = Request | Reply | Posted;
/** The `type` tag of a Message. */
export type MessageType = Message['type'];

// ---------------------------------------------------------------------------------------------
// The message table: kind, direction and reply type of each message (README §4, §5)

/** Which side may send a message: the VMM, the device model, or either. */
export type Sender = 'vmm' | 'dm' | 'any';

/**
 * Every message type with its kind, its legal sender and (requests) its success reply type.
 * The parser rejects types not listed here; the peer checks direction and reply types with it.
 */
export const MESSAGES = {
  hello: { kind: 'request', from: 'vmm', reply: 'helloReply' },
  configure: { kind: 'request', from: 'vmm', reply: 'configureReply' },
  pioRead: { kind: 'request', from: 'vmm', reply: 'pioReadReply' },
  pioWrite: { kind: 'request', from: 'vmm', reply: 'ok' },
  mmioRead: { kind: 'request', from: 'vmm', reply: 'mmioReadReply' },
  mmioWrite: { kind: 'request', from: 'vmm', reply: 'ok' },
  dmaRead: { kind: 'request', from: 'dm', reply: 'dmaReadReply' },
  dmaWrite: { kind: 'request', from: 'dm', reply: 'ok' },
  shutdown: { kind: 'request', from: 'vmm', reply: 'ok' },
  ping: { kind: 'request', from: 'any', reply: 'ok' },
  stats: { kind: 'request', from: 'vmm', reply: 'statsReply' },
  helloReply: { kind: 'reply', from: 'dm' },
  configureReply: { kind: 'reply', from: 'dm' },
  pioReadReply: { kind: 'reply', from: 'dm' },
  mmioReadReply: { kind: 'reply', from: 'dm' },
  dmaReadReply: { kind: 'reply', from: 'vmm' },
  statsReply: { kind: 'reply', from: 'dm' },
  ok: { kind: 'reply', from: 'any' },
  error: { kind: 'reply', from: 'any' },
  doorbell: { kind: 'posted', from: 'vmm' },
  coalesced: { kind: 'posted', from: 'vmm' },
  clock: { kind: 'posted', from: 'vmm' },
  irq: { kind: 'posted', from: 'dm' },
  deadline: { kind: 'posted', from: 'dm' },
  event: { kind: 'posted', from: 'dm' },
  log: { kind: 'posted', from: 'dm' },
  abort: { kind: 'posted', from: 'any' },
} as const satisfies Record<MessageType, { kind: 'request' | 'reply' | 'posted'; from: Sender; reply?: SuccessReply['type'] }>;

/** The success reply type of each request type. */
export type ReplyTo<T extends Request['type']> = Extract<SuccessReply, { type: (typeof MESSAGES)[T]['reply'] }>;

/** A message as its sender writes it: requests without `id` (the peer assigns it). */
export type Unnumbered<M> = M extends { id: number } ? Omit<M, 'id'> : M;

/** A success reply as a request handler returns it: the peer fills `reply`. */
export type ReplyBody<M extends SuccessReply = SuccessReply> = M extends SuccessReply ? Omit<M, 'reply'> : never;

/** Is this message type a request? */
export function isRequest(m: Message): m is Request {
  return MESSAGES[m.type].kind === 'request';
}

/** Is this message type a reply (success or error)? */
export function isReply(m: Message): m is Reply {
  return MESSAGES[m.type].kind === 'reply';
}

/** Is this message type posted? */
export function isPosted(m: Message): m is Posted {
  return MESSAGES[m.type].kind === 'posted';
}
