/**
 * The tskvm-dm protocol library (protocol/README.md): messages, codec, parser, framing,
 * transports, Peer and handshake. Import from here; the files behind it are implementation.
 */
export { formatAddress, parseAddress, UNIX_PATH_MAX, type TransportAddress } from './address.js';
export { decode, encode } from './codec.js';
export {
  errorCode,
  FATAL_ERROR_CODES,
  PROTOCOL_ERROR_CODES,
  ProtocolError,
  TRANSPORT_ERROR_CODES,
  TransportError,
  type ProtocolErrorCode,
  type TransportErrorCode,
} from './errors.js';
export { checkMaxFrame, encodeFrame, FRAME_HEADER_SIZE, FrameDecoder, frameHeader, type FrameStep } from './framing.js';
export { answerHello, checkHelloReply, helloMessage, type HandshakeAcceptor } from './handshake.js';
export * from './messages.js';
export { parseMessage } from './parse.js';
export { HELLO_TIMEOUT_MS, Peer, type PeerLog, type PeerOptions, type PeerSide, type PeerStats, type PostedHandler, type RequestHandler, type RequestOptions } from './peer.js';
export { connectPeer, HANDSHAKE_TIMEOUT_MS, servePeers, type ConnectPeerOptions, type ServePeersOptions } from './session.js';
export { CLOSE_CODES } from './transport-base.js';
export { createMemoryPair } from './transport-memory.js';
export { connect, listen, type CloseReason, type Listener, type Transport, type TransportOptions } from './transport.js';
