/**
 * The handshake (protocol/README.md §3), after vfio-user's VERSION command (facts.md §6.1): the
 * VMM's first message is `hello` with the protocol name, its version and the features it offers;
 * the device model answers with its version and the features both will use (the intersection),
 * or with an error reply VERSION, after which it closes the connection. Pure functions; the Peer
 * enforces that nothing else travels before the handshake completes.
 */
import { PROTOCOL_ERROR_CODES, ProtocolError } from './errors.js';
import { PROTOCOL_NAME, PROTOCOL_VERSION, type HelloReply, type HelloRequest, type ReplyBody, type Role, type Unnumbered } from './messages.js';

/** What the device model supports, for answering `hello`. */
export interface HandshakeAcceptor {
  /** Features this device model implements (FEATURES values; unknown strings are fine). */
  features: readonly string[];
  /** Implementation name for the VMM's logs, e.g. "tskvm-devices 0.1.0". */
  name: string;
}

/** The `hello` a VMM sends (without its id, which the peer assigns). */
export function helloMessage(features: readonly string[], role: Role = 'vmm'): Unnumbered<HelloRequest> {
  return { type: 'hello', protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION, features: [...new Set(features)], role };
}

/**
 * Device-model side: the reply to a `hello`, or a ProtocolError VERSION when the protocol name
 * or version differs. Accepted features keep the order the VMM offered them in.
 */
export function answerHello(hello: HelloRequest, acceptor: HandshakeAcceptor): ReplyBody<HelloReply> {
  if (hello.protocol !== PROTOCOL_NAME) {
    throw new ProtocolError(PROTOCOL_ERROR_CODES.VERSION, `protocol ${JSON.stringify(hello.protocol)} is not ${PROTOCOL_NAME}`);
  }
  if (hello.version !== PROTOCOL_VERSION) {
    throw new ProtocolError(PROTOCOL_ERROR_CODES.VERSION, `${PROTOCOL_NAME} version ${hello.version} offered, this device model speaks version ${PROTOCOL_VERSION}`);
  }
  const supported = new Set(acceptor.features);
  return {
    type: 'helloReply',
    protocol: PROTOCOL_NAME,
    version: PROTOCOL_VERSION,
    features: hello.features.filter((f) => supported.has(f)),
    name: acceptor.name,
  };
}

/**
 * VMM side: check the device model's answer. Throws ProtocolError VERSION if it names another
 * protocol or version, or accepts a feature that was not offered.
 */
export function checkHelloReply(reply: HelloReply, offered: readonly string[]): void {
  if (reply.protocol !== PROTOCOL_NAME || reply.version !== PROTOCOL_VERSION) {
    throw new ProtocolError(PROTOCOL_ERROR_CODES.VERSION, `device model answered ${reply.protocol} version ${reply.version}, expected ${PROTOCOL_NAME} version ${PROTOCOL_VERSION}`);
  }
  const offeredSet = new Set(offered);
  const extra = reply.features.filter((f) => !offeredSet.has(f));
  if (extra.length > 0) {
    throw new ProtocolError(PROTOCOL_ERROR_CODES.VERSION, `device model accepted features that were not offered: ${extra.join(', ')}`);
  }
}
