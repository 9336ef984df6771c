/**
 * Ready-made endpoints for the two processes (protocol/README.md §1, §3): the VMM connects and
 * performs the handshake; the device model listens and gets one handshaking Peer per
 * connection. Thin glue over `connect`/`listen` and `Peer`.
 */
import type { HandshakeAcceptor } from './handshake.js';
import type { HelloReply, Role } from './messages.js';
import { Peer, type PeerLog } from './peer.js';
import { connect, listen, type Listener, type TransportOptions } from './transport.js';

/** Default time the VMM waits for the answer to `hello`. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Options of connectPeer. */
export interface ConnectPeerOptions extends TransportOptions {
  /** Features the VMM offers (FEATURES values). */
  features: readonly string[];
  role?: Role;
  /** Default timeout of later requests; absent = none. */
  requestTimeoutMs?: number;
  /** Time to wait for the hello reply (default HANDSHAKE_TIMEOUT_MS). */
  handshakeTimeoutMs?: number;
  log?: PeerLog;
}

/**
 * VMM side: connect to a device model at `unix:PATH` or `ws://HOST:PORT` and complete the
 * handshake. Rejects with TransportError (BAD_ADDRESS, CONNECT_FAILED) or ProtocolError
 * (VERSION, TIMEOUT, CLOSED…); the connection is closed on failure.
 */
export async function connectPeer(address: string, options: ConnectPeerOptions): Promise<{ peer: Peer; hello: HelloReply }> {
  const transport = await connect(address, options.maxFrame !== undefined ? { maxFrame: options.maxFrame } : {});
  const peer = new Peer(transport, {
    side: 'vmm',
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.log !== undefined ? { log: options.log } : {}),
  });
  const hello = await peer.handshake(options.features, { role: options.role ?? 'vmm', timeoutMs: options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS });
  return { peer, hello };
}

/** Options of servePeers. */
export interface ServePeersOptions extends TransportOptions {
  accept: HandshakeAcceptor;
  /** Close connections that send no `hello` within this many ms (default HELLO_TIMEOUT_MS). */
  helloTimeoutMs?: number;
  requestTimeoutMs?: number;
  log?: PeerLog;
}

/**
 * Device-model side: listen at `unix:PATH` or `ws://HOST:PORT`; `onPeer` gets each new Peer
 * synchronously, before any message is read, so it can install its handlers. The Peer answers
 * `hello` itself and refuses anything before it; `peer.whenOpen()` resolves after the handshake.
 */
export function servePeers(address: string, options: ServePeersOptions, onPeer: (peer: Peer) => void): Promise<Listener> {
  return listen(
    address,
    (transport) => {
      onPeer(
        new Peer(transport, {
          side: 'dm',
          accept: options.accept,
          ...(options.helloTimeoutMs !== undefined ? { helloTimeoutMs: options.helloTimeoutMs } : {}),
          ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
          ...(options.log !== undefined ? { log: options.log } : {}),
        }),
      );
    },
    options.maxFrame !== undefined ? { maxFrame: options.maxFrame } : {},
  );
}
