/**
 * msgpack encoding of frame bodies (protocol/README.md §2.2). Standard msgpack only: maps with
 * string keys, no msgpackr record or structured-clone extensions, so that any msgpack library
 * can read and write the protocol. `decode` returns `unknown`; only `parseMessage` narrows it.
 */
import { Packr } from 'msgpackr';
import { PROTOCOL_ERROR_CODES, ProtocolError } from './errors.js';
import type { Message } from './messages.js';

/** msgpackr's int64AsType 'auto' (numbers within ±2^53, bigint beyond) is missing from its typings. */
const INT64_AUTO = 'auto' as unknown as 'number';

const packr = new Packr({
  useRecords: false, // plain msgpack maps, readable by every implementation
  mapsAsObjects: true,
  variableMapSize: true, // fixmap for small maps, as most encoders write them
  moreTypes: false,
  int64AsType: INT64_AUTO, // 64-bit ints beyond ±2^53 decode as bigint, which the parser rejects
});

/** Encode one message as a frame body (without the length prefix). */
export function encode(message: Message): Uint8Array {
  return packr.pack(message);
}

/** Binary `data` fields at least this long are not copied into the encoder's buffer (encodeParts). */
export const SPLIT_DATA_MIN = 64 * 1024;

/**
 * Encode one message as the parts of a frame body whose concatenation is exactly what encode()
 * gives up to map-field order (README §2.2: order is irrelevant): a large binary `data` field
 * (DMA payloads) becomes its own part — the caller's buffer, not a copy — after the other fields
 * and a bin 32 header. Other messages are one part.
 */
export function encodeParts(message: Message): Uint8Array[] {
  const data = (message as { data?: unknown }).data;
  if (!(data instanceof Uint8Array) || data.length < SPLIT_DATA_MIN) return [encode(message)];
  const { data: _data, ...rest } = message as Message & { data: Uint8Array };
  const head = packr.pack(rest);
  const fields = (head[0] ?? 0) - 0x80;
  // fixmap (0x80-0x8f) with room for one more field; anything else takes the plain path.
  if (fields < 0 || fields >= 15) return [encode(message)];
  const prefix = new Uint8Array(head.length + DATA_KEY.length + 5);
  prefix.set(head);
  prefix[0] = 0x80 + fields + 1;
  prefix.set(DATA_KEY, head.length);
  const bin = head.length + DATA_KEY.length;
  prefix[bin] = 0xc6; // bin 32, big-endian length
  new DataView(prefix.buffer).setUint32(bin + 1, data.length, false);
  return [prefix, data];
}

/** fixstr "data". */
const DATA_KEY = Uint8Array.of(0xa4, 0x64, 0x61, 0x74, 0x61);

/**
 * Decode one frame body into an unchecked value. Throws ProtocolError MALFORMED when the bytes
 * are not exactly one msgpack value. Binary fields come back as Uint8Array views of `body`.
 */
export function decode(body: Uint8Array): unknown {
  if (body.length === 0) throw new ProtocolError(PROTOCOL_ERROR_CODES.MALFORMED, 'empty frame body');
  try {
    return packr.unpack(body);
  } catch (e) {
    throw new ProtocolError(PROTOCOL_ERROR_CODES.MALFORMED, `frame body is not one msgpack value: ${(e as Error).message}`);
  }
}
