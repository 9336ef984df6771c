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
