/**
 * Transport addresses (protocol/README.md §1): `unix:PATH` for a Unix domain stream socket and
 * `ws://HOST:PORT` for a WebSocket. Parsed and validated here, so that a bad `--devices` or
 * `--listen` argument gives one clear error instead of a socket failure later.
 */
import { TRANSPORT_ERROR_CODES, TransportError } from './errors.js';

/** A parsed transport address. */
export type TransportAddress = { kind: 'unix'; path: string } | { kind: 'ws'; host: string; port: number };

/** Longest socket path: Linux `sun_path` is 108 bytes including the terminating NUL (unix(7)). */
export const UNIX_PATH_MAX = 107;

const UNIX_PREFIX = 'unix:';
/** ws://HOST:PORT with an optional trailing slash; HOST is a name, IPv4 or a bracketed IPv6. */
const WS_PATTERN = /^ws:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})\/?$/;
const PORT_MAX = 0xffff;

function bad(address: string, why: string): never {
  throw new TransportError(TRANSPORT_ERROR_CODES.BAD_ADDRESS, `bad address ${JSON.stringify(address)}: ${why} (expected unix:PATH or ws://HOST:PORT)`);
}

/**
 * Parse `unix:PATH` or `ws://HOST:PORT`. Port 0 is accepted (listen on an ephemeral port);
 * `connect` rejects it. Throws TransportError BAD_ADDRESS for anything else.
 */
export function parseAddress(address: string): TransportAddress {
  if (address.startsWith(UNIX_PREFIX)) {
    const path = address.slice(UNIX_PREFIX.length);
    if (path.length === 0) bad(address, 'empty socket path');
    if (path.includes('\0')) bad(address, 'NUL in socket path');
    if (Buffer.byteLength(path) > UNIX_PATH_MAX) bad(address, `socket path longer than ${UNIX_PATH_MAX} bytes`);
    return { kind: 'unix', path };
  }
  const m = WS_PATTERN.exec(address);
  if (m === null) bad(address, address.startsWith('ws://') ? 'not HOST:PORT' : 'unknown scheme');
  const host = m[1] ?? bad(address, 'no host');
  const port = Number(m[2]);
  if (port > PORT_MAX) bad(address, `port ${port} out of range 0..${PORT_MAX}`);
  return { kind: 'ws', host, port };
}

/** The canonical string of an address (inverse of parseAddress). */
export function formatAddress(a: TransportAddress): string {
  return a.kind === 'unix' ? `${UNIX_PREFIX}${a.path}` : `ws://${a.host}:${a.port}`;
}
