/**
 * The one validating parser of the protocol: narrows a decoded frame body (`unknown`) to the
 * `Message` union or throws a ProtocolError (protocol/README.md §5–§8 give every field's type
 * and range). Unknown message types are rejected (UNKNOWN_TYPE); unknown fields are dropped,
 * so the result holds only fields this version knows (README §2.3: open to extension, closed to
 * garbage).
 */
import { PROTOCOL_ERROR_CODES, ProtocolError } from './errors.js';
import {
  ACCESS_SIZES,
  ADDRESS_SPACES,
  CLOCK_MODES,
  EVENT_KINDS,
  LIMITS,
  LOG_LEVELS,
  MESSAGES,
  ROLES,
  VIRTIO_KINDS,
  type AccessSize,
  type AddressSpace,
  type CoalescedWrite,
  type CoalescedZone,
  type DeviceSpec,
  type DmaSegment,
  type DoorbellSpec,
  type IoRange,
  type Message,
  type MessageType,
  type ErrorReply,
} from './messages.js';

/** Number of distinct I/O ports (0 … PORT_MAX). */
const PORT_SPACE = LIMITS.PORT_MAX + 1;
/** Error codes on the wire are UPPER_SNAKE identifiers (README §8). */
const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]*$/;

type Fields = Record<string, unknown>;

function badField(path: string, what: string): never {
  throw new ProtocolError(PROTOCOL_ERROR_CODES.BAD_FIELD, `${path}: ${what}`);
}

/** A msgpack map decoded as a plain object (not an array, a bin, a Date or other extension). */
function isPlainObject(v: unknown): v is Fields {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Own property only: a missing key must never be satisfied by Object.prototype. */
function get(o: Fields, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function map(v: unknown, path: string): Fields {
  if (!isPlainObject(v)) badField(path, 'expected a map');
  return v;
}

function uint(v: unknown, path: string, max: number, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) badField(path, 'expected an integer');
  if (v < min || v > max) badField(path, `${v} out of range ${min}..${max}`);
  return v;
}

function str(v: unknown, path: string, maxLength: number, minLength = 0): string {
  if (typeof v !== 'string') badField(path, 'expected a string');
  if (v.length < minLength || v.length > maxLength) badField(path, `string length ${v.length} out of range ${minLength}..${maxLength}`);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') badField(path, 'expected a boolean');
  return v;
}

function bytes(v: unknown, path: string, maxLength: number, minLength = 1): Uint8Array {
  if (!(v instanceof Uint8Array)) badField(path, 'expected bin (bytes)');
  if (v.length < minLength || v.length > maxLength) badField(path, `byte length ${v.length} out of range ${minLength}..${maxLength}`);
  // A plain Uint8Array view (not Node's Buffer subclass), the same whatever the transport; no copy.
  return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.length);
}

function oneOf<T extends string | number>(v: unknown, path: string, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(v)) badField(path, `expected one of ${allowed.join(', ')}`);
  return v as T;
}

function list<T>(v: unknown, path: string, maxItems: number, item: (x: unknown, path: string) => T, minItems = 0): T[] {
  if (!Array.isArray(v)) badField(path, 'expected an array');
  if (v.length < minItems || v.length > maxItems) badField(path, `${v.length} items, allowed ${minItems}..${maxItems}`);
  return v.map((x, i) => item(x, `${path}[${i}]`));
}

function name(v: unknown, path: string): string {
  return str(v, path, LIMITS.NAME_MAX, 1);
}

function text(v: unknown, path: string): string {
  return str(v, path, LIMITS.STRING_MAX);
}

function u32(v: unknown, path: string): number {
  return uint(v, path, LIMITS.U32_MAX);
}

function port(v: unknown, path: string): number {
  return uint(v, path, LIMITS.PORT_MAX);
}

function irqLine(v: unknown, path: string): number {
  return uint(v, path, LIMITS.IRQ_LINE_MAX);
}

function accessSize(v: unknown, path: string): AccessSize {
  return oneOf(v, path, ACCESS_SIZES);
}

function space(v: unknown, path: string): AddressSpace {
  return oneOf(v, path, ADDRESS_SPACES);
}

/** Highest value that fits an access of `size` bytes. */
function maxValue(size: AccessSize): number {
  return 2 ** (8 * size) - 1;
}

/** An address range [addr, addr+size) lying inside its space. */
function rangeEnd(sp: AddressSpace): number {
  return sp === 'pio' ? PORT_SPACE : LIMITS.GPA_LIMIT;
}

function gpa(v: unknown, path: string, size: number): number {
  const addr = uint(v, path, LIMITS.GPA_LIMIT - 1);
  if (addr + size > LIMITS.GPA_LIMIT) badField(path, 'range runs past the guest-physical address limit');
  return addr;
}

function segments(v: unknown, path: string): { segments: DmaSegment[]; total: number } {
  let total = 0;
  const segs = list(
    v,
    path,
    LIMITS.DMA_SEGMENTS_MAX,
    (x, p) => {
      const o = map(x, p);
      const len = uint(get(o, 'len'), `${p}.len`, LIMITS.DMA_BYTES_MAX, 1);
      const addr = gpa(get(o, 'addr'), `${p}.addr`, len);
      total += len;
      return { addr, len };
    },
    1,
  );
  if (total > LIMITS.DMA_BYTES_MAX) badField(path, `total length ${total} exceeds ${LIMITS.DMA_BYTES_MAX}`);
  return { segments: segs, total };
}

function ioRange(sp: AddressSpace): (x: unknown, p: string) => IoRange {
  return (x, p) => {
    const o = map(x, p);
    const size = uint(get(o, 'size'), `${p}.size`, rangeEnd(sp), 1);
    const base = uint(get(o, 'base'), `${p}.base`, rangeEnd(sp) - 1);
    if (base + size > rangeEnd(sp)) badField(p, `range runs past the end of the ${sp} space`);
    return { base, size, name: name(get(o, 'name'), `${p}.name`) };
  };
}

function doorbellSpec(x: unknown, p: string): DoorbellSpec {
  const o = map(x, p);
  const sp = space(get(o, 'space'), `${p}.space`);
  const size = oneOf(get(o, 'size'), `${p}.size`, [0, ...ACCESS_SIZES]);
  // facts.md §3.7: a zero-length doorbell matches any width, so only MMIO and never with a datamatch
  if (size === 0 && sp === 'pio') badField(`${p}.size`, 'size 0 (any width) is only allowed for mmio');
  const addr = uint(get(o, 'addr'), `${p}.addr`, rangeEnd(sp) - Math.max(size, 1));
  const spec: DoorbellSpec = { doorbell: u32(get(o, 'doorbell'), `${p}.doorbell`), space: sp, addr, size };
  const dm = get(o, 'datamatch');
  if (dm !== undefined) {
    if (size === 0) badField(`${p}.datamatch`, 'not allowed with size 0');
    spec.datamatch = uint(dm, `${p}.datamatch`, maxValue(size));
  }
  return spec;
}

function coalescedZone(x: unknown, p: string): CoalescedZone {
  const o = map(x, p);
  const sp = space(get(o, 'space'), `${p}.space`);
  const r = ioRange(sp)({ base: get(o, 'base'), size: get(o, 'size'), name: 'zone' }, p);
  return { space: sp, base: r.base, size: r.size };
}

function coalescedWrite(x: unknown, p: string): CoalescedWrite {
  const o = map(x, p);
  const sp = space(get(o, 'space'), `${p}.space`);
  const size = accessSize(get(o, 'size'), `${p}.size`);
  const addr = uint(get(o, 'addr'), `${p}.addr`, rangeEnd(sp) - size);
  return { space: sp, addr, size, value: uint(get(o, 'value'), `${p}.value`, maxValue(size)) };
}

function counters(v: unknown, path: string): Record<string, number> {
  const o = map(v, path);
  const keys = Object.keys(o);
  if (keys.length > LIMITS.COUNTERS_MAX) badField(path, `${keys.length} counters, at most ${LIMITS.COUNTERS_MAX}`);
  const out: Record<string, number> = {};
  for (const k of keys) out[text(k, `${path} key`)] = uint(o[k], `${path}.${k}`, Number.MAX_SAFE_INTEGER);
  return out;
}

function options(v: unknown, path: string): Record<string, string | number | boolean> {
  if (v === undefined) return {};
  const o = map(v, path);
  const keys = Object.keys(o);
  if (keys.length > LIMITS.OPTIONS_MAX) badField(path, `${keys.length} options, at most ${LIMITS.OPTIONS_MAX}`);
  const out: Record<string, string | number | boolean> = {};
  for (const k of keys) {
    const p = `${path}.${name(k, `${path} key`)}`;
    const val = o[k];
    if (typeof val === 'string') out[k] = text(val, p);
    else if (typeof val === 'number' && Number.isFinite(val)) out[k] = val;
    else if (typeof val === 'boolean') out[k] = val;
    else badField(p, 'expected a string, number or boolean');
  }
  return out;
}

/** A device's register window: `base` + `count` ports must fit the port space. */
function portBase(v: unknown, path: string, count: number): number {
  return uint(v, path, PORT_SPACE - count);
}

/** Ports a 16550 occupies (facts.md §5.1: 8 registers). */
const UART_PORTS = 8;
/** A virtio-mmio device's window (DESIGN.md "Full vs paravirtual I/O"). */
const VIRTIO_MMIO_WINDOW = 0x1000;

function deviceSpec(x: unknown, p: string): DeviceSpec {
  const o = map(x, p);
  const t = get(o, 'type');
  switch (t) {
    case 'serial':
      return { type: t, base: portBase(get(o, 'base'), `${p}.base`, UART_PORTS), irq: irqLine(get(o, 'irq'), `${p}.irq`), backend: text(get(o, 'backend'), `${p}.backend`) };
    case 'debugExit': {
      const size = accessSize(get(o, 'size'), `${p}.size`);
      return { type: t, port: portBase(get(o, 'port'), `${p}.port`, size), size };
    }
    case 'debugcon':
      return { type: t, port: port(get(o, 'port'), `${p}.port`), backend: text(get(o, 'backend'), `${p}.backend`) };
    case 'pit':
      return { type: t, port: port(get(o, 'port'), `${p}.port`), irq: irqLine(get(o, 'irq'), `${p}.irq`) };
    case 'cmos': {
      const spec: DeviceSpec = { type: t, irq: irqLine(get(o, 'irq'), `${p}.irq`) };
      const ramSize = get(o, 'ramSize');
      if (ramSize !== undefined) spec.ramSize = uint(ramSize, `${p}.ramSize`, LIMITS.GPA_LIMIT);
      return spec;
    }
    case 'i8042':
    case 'port80':
      return { type: t };
    case 'ata':
      return { type: t, path: str(get(o, 'path'), `${p}.path`, LIMITS.STRING_MAX, 1), readOnly: bool(get(o, 'readOnly'), `${p}.readOnly`) };
    case 'virtio': {
      const base = gpa(get(o, 'base'), `${p}.base`, VIRTIO_MMIO_WINDOW);
      if (base % VIRTIO_MMIO_WINDOW !== 0) badField(`${p}.base`, 'virtio-mmio window must be 4 KiB aligned');
      return {
        type: t,
        kind: oneOf(get(o, 'kind'), `${p}.kind`, VIRTIO_KINDS),
        base,
        irq: irqLine(get(o, 'irq'), `${p}.irq`),
        backend: text(get(o, 'backend'), `${p}.backend`),
        options: options(get(o, 'options'), `${p}.options`),
      };
    }
    default:
      return badField(`${p}.type`, `unknown device type ${JSON.stringify(t)}`);
  }
}

type Parser<T extends MessageType> = (o: Fields) => Extract<Message, { type: T }>;

const id = (o: Fields): number => u32(get(o, 'id'), 'id');
const reply = (o: Fields): number => u32(get(o, 'reply'), 'reply');
const features = (o: Fields): string[] => list(get(o, 'features'), 'features', LIMITS.FEATURES_MAX, name);

/** One parser per message type; the table is the list of types this version accepts. */
const PARSERS: { [T in MessageType]: Parser<T> } = {
  hello: (o) => ({
    type: 'hello',
    id: id(o),
    protocol: name(get(o, 'protocol'), 'protocol'),
    version: u32(get(o, 'version'), 'version'),
    features: features(o),
    role: oneOf(get(o, 'role'), 'role', ROLES),
  }),
  configure: (o) => ({
    type: 'configure',
    id: id(o),
    clock: oneOf(get(o, 'clock'), 'clock', CLOCK_MODES),
    devices: list(get(o, 'devices'), 'devices', LIMITS.DEVICES_MAX, deviceSpec),
  }),
  pioRead: (o) => {
    const size = accessSize(get(o, 'size'), 'size');
    return {
      type: 'pioRead',
      id: id(o),
      port: port(get(o, 'port'), 'port'),
      size,
      count: uint(get(o, 'count'), 'count', LIMITS.PIO_DATA_MAX / size, 1),
    };
  },
  pioWrite: (o) => {
    const size = accessSize(get(o, 'size'), 'size');
    const data = bytes(get(o, 'data'), 'data', LIMITS.PIO_DATA_MAX, size);
    if (data.length % size !== 0) badField('data', `length ${data.length} is not a multiple of size ${size}`);
    return { type: 'pioWrite', id: id(o), port: port(get(o, 'port'), 'port'), size, data };
  },
  mmioRead: (o) => {
    const size = accessSize(get(o, 'size'), 'size');
    return { type: 'mmioRead', id: id(o), addr: gpa(get(o, 'addr'), 'addr', size), size };
  },
  mmioWrite: (o) => {
    const size = accessSize(get(o, 'size'), 'size');
    return { type: 'mmioWrite', id: id(o), addr: gpa(get(o, 'addr'), 'addr', size), size, value: uint(get(o, 'value'), 'value', maxValue(size)) };
  },
  dmaRead: (o) => ({ type: 'dmaRead', id: id(o), segments: segments(get(o, 'segments'), 'segments').segments }),
  dmaWrite: (o) => {
    const s = segments(get(o, 'segments'), 'segments');
    const data = bytes(get(o, 'data'), 'data', LIMITS.DMA_BYTES_MAX);
    if (data.length !== s.total) badField('data', `length ${data.length} differs from the segments' total ${s.total}`);
    return { type: 'dmaWrite', id: id(o), segments: s.segments, data };
  },
  shutdown: (o) => ({ type: 'shutdown', id: id(o) }),
  ping: (o) => ({ type: 'ping', id: id(o) }),
  stats: (o) => ({ type: 'stats', id: id(o) }),
  statsReply: (o) => ({ type: 'statsReply', reply: reply(o), counters: counters(get(o, 'counters'), 'counters') }),
  helloReply: (o) => ({
    type: 'helloReply',
    reply: reply(o),
    protocol: name(get(o, 'protocol'), 'protocol'),
    version: u32(get(o, 'version'), 'version'),
    features: features(o),
    name: text(get(o, 'name'), 'name'),
  }),
  configureReply: (o) => ({
    type: 'configureReply',
    reply: reply(o),
    pio: list(get(o, 'pio'), 'pio', LIMITS.RANGES_MAX, ioRange('pio')),
    mmio: list(get(o, 'mmio'), 'mmio', LIMITS.RANGES_MAX, ioRange('mmio')),
    doorbells: list(get(o, 'doorbells'), 'doorbells', LIMITS.RANGES_MAX, doorbellSpec),
    coalesced: list(get(o, 'coalesced'), 'coalesced', LIMITS.RANGES_MAX, coalescedZone),
  }),
  pioReadReply: (o) => ({ type: 'pioReadReply', reply: reply(o), data: bytes(get(o, 'data'), 'data', LIMITS.PIO_DATA_MAX) }),
  mmioReadReply: (o) => ({ type: 'mmioReadReply', reply: reply(o), value: u32(get(o, 'value'), 'value') }),
  dmaReadReply: (o) => ({ type: 'dmaReadReply', reply: reply(o), data: bytes(get(o, 'data'), 'data', LIMITS.DMA_BYTES_MAX) }),
  ok: (o) => ({ type: 'ok', reply: reply(o) }),
  error: (o) => {
    const code = name(get(o, 'code'), 'code');
    if (!ERROR_CODE_PATTERN.test(code)) badField('code', 'expected an UPPER_SNAKE identifier');
    const out: ErrorReply = { type: 'error', reply: reply(o), code, message: text(get(o, 'message'), 'message') };
    const rawCause = get(o, 'cause');
    if (rawCause !== undefined) {
      const cause = name(rawCause, 'cause');
      if (!ERROR_CODE_PATTERN.test(cause)) badField('cause', 'expected an UPPER_SNAKE identifier');
      out.cause = cause;
    }
    return out;
  },
  doorbell: (o) => ({ type: 'doorbell', doorbell: u32(get(o, 'doorbell'), 'doorbell'), value: u32(get(o, 'value'), 'value') }),
  coalesced: (o) => ({ type: 'coalesced', writes: list(get(o, 'writes'), 'writes', LIMITS.COALESCED_WRITES_MAX, coalescedWrite, 1) }),
  clock: (o) => ({ type: 'clock', nowNs: uint(get(o, 'nowNs'), 'nowNs', Number.MAX_SAFE_INTEGER) }),
  irq: (o) => ({ type: 'irq', line: irqLine(get(o, 'line'), 'line'), level: bool(get(o, 'level'), 'level') }),
  deadline: (o) => ({ type: 'deadline', ns: uint(get(o, 'ns'), 'ns', Number.MAX_SAFE_INTEGER, -1) }),
  event: (o) => {
    const ev: Extract<Message, { type: 'event' }> = { type: 'event', kind: oneOf(get(o, 'kind'), 'kind', EVENT_KINDS) };
    const code = get(o, 'code');
    if (code !== undefined) ev.code = u32(code, 'code');
    const message = get(o, 'message');
    if (message !== undefined) ev.message = text(message, 'message');
    return ev;
  },
  log: (o) => ({ type: 'log', level: oneOf(get(o, 'level'), 'level', LOG_LEVELS), message: text(get(o, 'message'), 'message') }),
  abort: (o) => ({ type: 'abort', code: name(get(o, 'code'), 'code'), message: text(get(o, 'message'), 'message') }),
};

/**
 * Narrow a decoded frame body to a Message. Throws ProtocolError with code MALFORMED (not a map,
 * no string `type`), UNKNOWN_TYPE (type not in this version) or BAD_FIELD (a field missing,
 * mistyped or out of range; the message names the field).
 */
export function parseMessage(value: unknown): Message {
  if (!isPlainObject(value)) throw new ProtocolError(PROTOCOL_ERROR_CODES.MALFORMED, 'message is not a msgpack map');
  const type = get(value, 'type');
  if (typeof type !== 'string') throw new ProtocolError(PROTOCOL_ERROR_CODES.MALFORMED, 'message has no string "type"');
  if (!Object.hasOwn(MESSAGES, type)) {
    throw new ProtocolError(PROTOCOL_ERROR_CODES.UNKNOWN_TYPE, `unknown message type ${JSON.stringify(type.slice(0, LIMITS.NAME_MAX))}`);
  }
  const parser = PARSERS[type as MessageType] as (o: Fields) => Message;
  try {
    return parser(value);
  } catch (e) {
    if (e instanceof ProtocolError) throw new ProtocolError(e.code, `${type}.${e.message}`);
    throw e;
  }
}
