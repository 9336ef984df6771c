/**
 * Transport over a WebSocket (RFC 6455; protocol/README.md §1.2): one binary ws message is one
 * frame body, no length prefix. The ws library's `maxPayload` enforces the maximum frame size
 * from the ws frame header before buffering the payload, and closes with 1009 (Message Too Big).
 * Protocol errors close with 1008 and the reason "CODE: message".
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { formatAddress } from './address.js';
import { PROTOCOL_ERROR_CODES, ProtocolError, TRANSPORT_ERROR_CODES, TransportError } from './errors.js';
import { checkMaxFrame } from './framing.js';
import { LIMITS } from './messages.js';
import { CLOSE_CODES, TransportBase, acceptConnection } from './transport-base.js';
import type { CloseReason, Listener, Transport, TransportOptions } from './transport.js';

/** WebSocket close status codes used here (RFC 6455 §7.4.1). */
export const WS_CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
} as const;

/** RFC 6455 §5.5: a close frame's reason is at most 123 bytes of UTF-8. */
const CLOSE_REASON_MAX = 123;
const CLOSE_GRACE_MS = 1000;
/** "CODE: message" as carried in a close reason. */
const REASON_PATTERN = /^([A-Z][A-Z0-9_]*): ?(.*)$/s;

function truncateUtf8(s: string, maxBytes: number): string {
  let out = s;
  while (Buffer.byteLength(out) > maxBytes) out = out.slice(0, -1);
  return out;
}

/** Map a received ws close status and reason to a CloseReason. */
function closeReasonOf(status: number, reasonText: string): CloseReason {
  const m = REASON_PATTERN.exec(reasonText);
  if (m !== null && m[1] !== undefined) return { code: m[1], message: m[2] ?? '' };
  if (status === WS_CLOSE.MESSAGE_TOO_BIG) return { code: PROTOCOL_ERROR_CODES.TOO_LARGE, message: `ws close ${status}: ${reasonText || 'message too big'}` };
  if (status === WS_CLOSE.NORMAL || status === WS_CLOSE.GOING_AWAY || status === WS_CLOSE.NO_STATUS) {
    return { code: CLOSE_CODES.CLOSED, message: 'connection closed by peer' };
  }
  if (status === WS_CLOSE.ABNORMAL) return { code: CLOSE_CODES.IO_ERROR, message: 'connection lost' };
  return { code: PROTOCOL_ERROR_CODES.MALFORMED, message: `ws close ${status}${reasonText ? `: ${reasonText}` : ''}` };
}

/** The ws close status a local CloseReason is sent with. */
function statusOf(reason: CloseReason): number {
  if (reason.code === CLOSE_CODES.CLOSED) return WS_CLOSE.NORMAL;
  if (reason.code === PROTOCOL_ERROR_CODES.TOO_LARGE) return WS_CLOSE.MESSAGE_TOO_BIG;
  return WS_CLOSE.POLICY_VIOLATION;
}

/** A frame-per-message connection over an open WebSocket. */
export class WsTransport extends TransportBase {
  readonly maxFrame: number;
  readonly description: string;
  private corked = false;

  /** `socket` is the TCP stream under `ws` (from the upgrade), corked to batch writes. */
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    options: TransportOptions & { description: string },
  ) {
    super();
    this.maxFrame = checkMaxFrame(options.maxFrame ?? LIMITS.FRAME_MAX_DEFAULT);
    this.description = options.description;
    ws.on('message', (data: RawData, isBinary: boolean) => this.onWsMessage(data, isBinary));
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the connection itself after a receive error; record why.
      const tooBig = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
      this.reason ??= tooBig ? { code: PROTOCOL_ERROR_CODES.TOO_LARGE, message: err.message } : { code: CLOSE_CODES.IO_ERROR, message: err.message };
    });
    ws.on('close', (status: number, reason: Buffer) => this.finished(closeReasonOf(status, reason.toString('utf8'))));
  }

  send(body: Uint8Array): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    if (body.length === 0 || body.length > this.maxFrame) {
      throw new ProtocolError(PROTOCOL_ERROR_CODES.TOO_LARGE, `refusing to send a frame of ${body.length} bytes (limit ${this.maxFrame})`);
    }
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.ws.send(body, { binary: true });
  }

  protected shutdown(reason: CloseReason): void {
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      const text = reason.code === CLOSE_CODES.CLOSED ? '' : truncateUtf8(`${reason.code}: ${reason.message}`, CLOSE_REASON_MAX);
      this.ws.close(statusOf(reason), text);
    }
    const timer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    timer.unref();
    this.ws.once('close', () => clearTimeout(timer));
  }

  private onWsMessage(data: RawData, isBinary: boolean): void {
    if (!isBinary) {
      this.malformed(new ProtocolError(PROTOCOL_ERROR_CODES.MALFORMED, 'text ws message; frames are binary messages'));
      return;
    }
    const body = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    if (body.length === 0) {
      this.malformed(new ProtocolError(PROTOCOL_ERROR_CODES.MALFORMED, 'zero-length frame'));
      return;
    }
    this.deliver(body);
  }
}

/** Host as written in a ws URL (IPv6 literals keep their brackets) → as node:net wants it. */
function bareHost(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** Listen for WebSocket connections on HOST:PORT (port 0 = ephemeral; see Listener.address). */
export async function listenWs(host: string, port: number, onConnection: (t: Transport) => void, options: TransportOptions = {}): Promise<Listener> {
  const maxFrame = checkMaxFrame(options.maxFrame ?? LIMITS.FRAME_MAX_DEFAULT);
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrame, perMessageDeflate: false });
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('tskvm-dm: WebSocket upgrade required\n');
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {
      // errors before the handshake completes are the client's problem; the socket is dropped
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      acceptConnection(new WsTransport(ws, socket, { maxFrame, description: `ws://${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}` }), onConnection);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new TransportError(TRANSPORT_ERROR_CODES.LISTEN_FAILED, `cannot listen on ws://${host}:${port}: ${err.message}`)));
    server.listen(port, bareHost(host), () => resolve());
  });
  server.on('error', () => {
    // after a successful bind nothing is reported here; connections have their own handlers
  });
  const bound = server.address();
  const actualPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  return {
    address: formatAddress({ kind: 'ws', host, port: actualPort }),
    close: () =>
      new Promise<void>((resolve) => {
        // Stop listening at once; established connections stay up (see transport-unix.ts).
        wss.close();
        server.close();
        setImmediate(resolve);
      }),
  };
}

/** Connect to a WebSocket listener at HOST:PORT. */
export function connectWs(host: string, port: number, options: TransportOptions = {}): Promise<Transport> {
  const address = formatAddress({ kind: 'ws', host, port });
  const maxFrame = checkMaxFrame(options.maxFrame ?? LIMITS.FRAME_MAX_DEFAULT);
  if (port === 0) return Promise.reject(new TransportError(TRANSPORT_ERROR_CODES.BAD_ADDRESS, `cannot connect to ${address}: port 0`));
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${address}/`, { maxPayload: maxFrame, perMessageDeflate: false });
    let socket: Duplex | undefined;
    ws.once('upgrade', (res: http.IncomingMessage) => {
      socket = res.socket;
    });
    const onError = (err: Error): void => {
      reject(new TransportError(TRANSPORT_ERROR_CODES.CONNECT_FAILED, `cannot connect to ${address}: ${err.message}`));
    };
    ws.once('error', onError);
    ws.once('open', () => {
      ws.off('error', onError);
      if (socket === undefined) {
        ws.terminate();
        reject(new TransportError(TRANSPORT_ERROR_CODES.CONNECT_FAILED, `cannot connect to ${address}: no upgraded socket`));
        return;
      }
      resolve(new WsTransport(ws, socket, { maxFrame, description: address }));
    });
  });
}
