/**
 * Typed errors of the VMM ↔ device-model protocol (tier 2 of the error policy: expected host
 * failures with a stable `code`). The same codes travel on the wire in `error` replies and
 * `abort` messages (protocol/README.md §8).
 */

/**
 * Stable error codes, named as protocol/README.md §8 names them. Codes up to `HANDSHAKE` are
 * connection-fatal protocol violations; the rest are carried by error replies and the
 * connection stays up.
 */
export const PROTOCOL_ERROR_CODES = {
  /** A zero-length frame, a body that is not exactly one msgpack value, or not a map with a string `type`. */
  MALFORMED: 'MALFORMED',
  /** `type` names no message of this protocol version. */
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  /** A field is missing, has the wrong msgpack type, or is out of range. */
  BAD_FIELD: 'BAD_FIELD',
  /** A frame (or a ws message) is larger than the receiver's maximum. */
  TOO_LARGE: 'TOO_LARGE',
  /** Protocol name or version not supported; the connection closes after the error reply. */
  VERSION: 'VERSION',
  /** A message sent in the wrong direction (e.g. a `dmaRead` from the VMM). */
  BAD_DIRECTION: 'BAD_DIRECTION',
  /** A message that is valid but not expected now: a reply to no outstanding request, a reply of the wrong type. */
  UNEXPECTED: 'UNEXPECTED',
  /** Anything other than `hello` before the handshake completed. */
  HANDSHAKE: 'HANDSHAKE',
  /** The connection closed (or was closed) while a request was outstanding. */
  CLOSED: 'CLOSED',
  /** No reply within the request's timeout (local only, never sent). */
  TIMEOUT: 'TIMEOUT',
  /** A DMA segment lies (partly) outside guest RAM. */
  DMA_FAULT: 'DMA_FAULT',
  /** The request is well-formed but the receiver does not implement it (feature not negotiated). */
  UNSUPPORTED: 'UNSUPPORTED',
  /** The device model could not build the described machine (bad backend, missing disk file…). */
  CONFIG: 'CONFIG',
  /** A handler failed for a reason it did not classify (a bug on the replying side). */
  INTERNAL: 'INTERNAL',
} as const;

/** One of the codes defined by this version. */
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[keyof typeof PROTOCOL_ERROR_CODES];

/**
 * A protocol failure with a stable code. `code` is a string so that codes the peer sends in an
 * error reply which this version does not know still round-trip (README §8: codes are an open
 * set of UPPER_SNAKE strings).
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode | (string & {}),
    message: string,
    /** The code of the underlying failure, carried in an error reply's `cause`. */
    readonly causeCode?: string,
  ) {
    super(message);
  }
}

/** Error codes after which the connection is closed (README §8: "fatal"). */
export const FATAL_ERROR_CODES: ReadonlySet<string> = new Set<string>([
  PROTOCOL_ERROR_CODES.MALFORMED,
  PROTOCOL_ERROR_CODES.UNKNOWN_TYPE,
  PROTOCOL_ERROR_CODES.BAD_FIELD,
  PROTOCOL_ERROR_CODES.TOO_LARGE,
  PROTOCOL_ERROR_CODES.VERSION,
  PROTOCOL_ERROR_CODES.BAD_DIRECTION,
  PROTOCOL_ERROR_CODES.UNEXPECTED,
  PROTOCOL_ERROR_CODES.HANDSHAKE,
]);

/** Narrowing helper: does `e` carry a string `code` (ProtocolError, DmaError and the like)? */
export function errorCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = (e as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Stable codes of transport failures (README §1). */
export const TRANSPORT_ERROR_CODES = {
  /** The address string is not `unix:PATH` or `ws://HOST:PORT`. */
  BAD_ADDRESS: 'BAD_ADDRESS',
  /** Nothing accepted the connection (no such socket, refused, unreachable). */
  CONNECT_FAILED: 'CONNECT_FAILED',
  /** The address could not be bound (in use, permission). */
  LISTEN_FAILED: 'LISTEN_FAILED',
} as const;

/** One of TRANSPORT_ERROR_CODES. */
export type TransportErrorCode = (typeof TRANSPORT_ERROR_CODES)[keyof typeof TRANSPORT_ERROR_CODES];

/** A transport could not be set up; `code` is stable, `message` is for the user. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message);
  }
}
