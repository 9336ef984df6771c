/**
 * One end of a tskvm-dm connection (protocol/README.md §3, §4, §8): numbered requests with
 * exactly one reply, posted messages, in-order dispatch of what arrives, the handshake gate,
 * per-request timeouts, and connection-fatal error handling (send `abort`, close; never throw
 * out of a socket event). Modelled on vfio-user's message ids and reply matching
 * (facts.md §6.1), with msgpack bodies instead of packed structs.
 */
import { decode, encode, encodeParts } from './codec.js';
import { FATAL_ERROR_CODES, PROTOCOL_ERROR_CODES, ProtocolError, errorCode } from './errors.js';
import { answerHello, checkHelloReply, helloMessage, type HandshakeAcceptor } from './handshake.js';
import {
  LIMITS,
  MESSAGES,
  type HelloReply,
  type Message,
  type Posted,
  type ReplyBody,
  type ReplyTo,
  type Request,
  type Role,
  type SuccessReply,
  type Unnumbered,
} from './messages.js';
import { parseMessage } from './parse.js';
import { CLOSE_CODES } from './transport-base.js';
import type { CloseReason, Transport } from './transport.js';

/** Which process this peer runs in: the VMM (client) or the device model (server). */
export type PeerSide = 'vmm' | 'dm';

/** Handles one incoming request; returns (or resolves to) the success reply body, or throws. */
export type RequestHandler = (request: Request) => ReplyBody | Promise<ReplyBody>;
/** Handles one incoming posted message. */
export type PostedHandler = (message: Posted) => void | Promise<void>;
/** Where the peer reports protocol errors it handled (default: stderr). */
export type PeerLog = (level: 'warn' | 'error', message: string) => void;

/** Options of a Peer. */
export interface PeerOptions {
  side: PeerSide;
  /** Device-model side: what to answer `hello` with. Required when side is 'dm'. */
  accept?: HandshakeAcceptor;
  /** Device-model side: close a connection that has not sent `hello` after this many ms (default HELLO_TIMEOUT_MS). */
  helloTimeoutMs?: number;
  /** Default timeout of each request in ms; absent = wait until the connection closes. */
  requestTimeoutMs?: number;
  log?: PeerLog;
}

/** Options of one request. */
export interface RequestOptions {
  /** Overrides PeerOptions.requestTimeoutMs for this request. */
  timeoutMs?: number;
}

/** Message counters of one connection, for statistics. */
export interface PeerStats {
  requestsSent: number;
  requestsReceived: number;
  postedSent: number;
  postedReceived: number;
  errorRepliesReceived: number;
  lateReplies: number;
}

type HandshakeState = 'new' | 'hello-sent' | 'open';

interface Pending {
  expect: SuccessReply['type'];
  resolve: (reply: SuccessReply) => void;
  reject: (error: ProtocolError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** How long a device model waits for `hello` on a new connection by default. */
export const HELLO_TIMEOUT_MS = 10_000;

/** How many timed-out request ids are remembered so that their late replies are ignored. */
const LATE_IDS_MAX = 1024;

const defaultLog: PeerLog = (level, message) => {
  process.stderr.write(`tskvm-dm protocol ${level}: ${message}\n`);
};

/** A request/reply endpoint over a Transport. */
export class Peer {
  readonly side: PeerSide;
  readonly stats: PeerStats = { requestsSent: 0, requestsReceived: 0, postedSent: 0, postedReceived: 0, errorRepliesReceived: 0, lateReplies: 0 };
  /** Features agreed in the handshake (empty until it completes). */
  features: readonly string[] = [];
  /** Why the connection closed, once it has. */
  closeReason: CloseReason | undefined;

  private readonly remote: PeerSide;
  private readonly accept: HandshakeAcceptor | undefined;
  private readonly requestTimeoutMs: number | undefined;
  private readonly log: PeerLog;
  private state: HandshakeState = 'new';
  private helloId: number | undefined;
  private offered: readonly string[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly lateIds = new Set<number>();
  private readonly inbox: (Request | Posted)[] = [];
  private busy = false;
  private requestHandler: RequestHandler | undefined;
  private postedHandler: PostedHandler | undefined;
  private readonly beforeRequestHooks: (() => void)[] = [];
  private readonly closeListeners: ((reason: CloseReason) => void)[] = [];
  private readonly handshakeWaiters: { resolve: () => void; reject: (e: ProtocolError) => void }[] = [];

  constructor(
    private readonly transport: Transport,
    options: PeerOptions,
  ) {
    this.side = options.side;
    this.remote = options.side === 'vmm' ? 'dm' : 'vmm';
    if (options.side === 'dm' && options.accept === undefined) throw new Error('Peer: a device-model peer needs options.accept'); // assertion
    this.accept = options.accept;
    this.requestTimeoutMs = options.requestTimeoutMs;
    this.log = options.log ?? defaultLog;
    if (options.side === 'dm') {
      const timer = setTimeout(() => {
        if (this.state !== 'open' && !this.isClosed) this.abort(PROTOCOL_ERROR_CODES.HANDSHAKE, 'no hello received in time');
      }, options.helloTimeoutMs ?? HELLO_TIMEOUT_MS);
      timer.unref(); // a connection waiting for hello must not keep the process alive by itself
      const clear = (): void => clearTimeout(timer);
      this.handshakeWaiters.push({ resolve: clear, reject: clear });
    }
    transport.onMessage((body) => this.receive(body));
    transport.onError((error) => {
      this.log('warn', `closing connection: ${error.code}: ${error.message}`);
      this.sendAbort(error);
    });
    transport.onClose((reason) => this.closed(reason));
  }

  /** True once the connection is closed or closing. */
  get isClosed(): boolean {
    return this.closeReason !== undefined || this.transport.closed;
  }

  /** Has the handshake completed? */
  get isOpen(): boolean {
    return this.state === 'open' && !this.isClosed;
  }

  /**
   * VMM side: send `hello` and wait for the answer. Resolves with the device model's reply (its
   * features are also in `this.features`); rejects with ProtocolError VERSION (and closes) when
   * the device model refuses the version.
   */
  async handshake(features: readonly string[], options: { role?: Role; timeoutMs?: number } = {}): Promise<HelloReply> {
    if (this.side !== 'vmm' || this.state !== 'new') throw new ProtocolError(PROTOCOL_ERROR_CODES.HANDSHAKE, 'handshake already started or not the VMM side');
    const hello = helloMessage(features, options.role ?? 'vmm');
    this.state = 'hello-sent';
    this.offered = hello.features;
    try {
      // The reply is checked and the state opened synchronously on arrival (onHelloAnswer), so
      // that messages the device model sends right after it are accepted.
      return await this.sendRequest(hello, options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {});
    } catch (e) {
      const err = e instanceof ProtocolError ? e : new ProtocolError(PROTOCOL_ERROR_CODES.INTERNAL, String(e));
      // Without an agreed protocol the connection is useless: close it whatever went wrong.
      this.close({ code: err.code, message: err.message });
      this.failHandshake(err);
      throw err;
    }
  }

  /** Resolves when the handshake has completed (either side); rejects if the connection closes first. */
  whenOpen(): Promise<void> {
    if (this.state === 'open') return Promise.resolve();
    if (this.isClosed) return Promise.reject(new ProtocolError(PROTOCOL_ERROR_CODES.CLOSED, 'connection closed before the handshake'));
    return new Promise((resolve, reject) => this.handshakeWaiters.push({ resolve, reject }));
  }

  /**
   * Send a request and wait for its success reply. An error reply rejects with a ProtocolError
   * carrying the remote code; a timeout rejects with TIMEOUT; a closed connection with CLOSED.
   */
  request<T extends Request['type']>(message: Unnumbered<Extract<Request, { type: T }>>, options: RequestOptions = {}): Promise<ReplyTo<T>> {
    if (message.type === 'hello') return Promise.reject(new ProtocolError(PROTOCOL_ERROR_CODES.HANDSHAKE, 'use handshake() to send hello'));
    if (this.state !== 'open') return Promise.reject(new ProtocolError(PROTOCOL_ERROR_CODES.HANDSHAKE, `${message.type} before the handshake completed`));
    const sent = this.sendRequest(message, options);
    if (message.type === 'shutdown') void sent.then(() => this.close({ code: CLOSE_CODES.CLOSED, message: 'shutdown' }), () => undefined);
    return sent;
  }

  /** Send a posted message. Returns false if the connection is closed (the message is dropped). */
  post(message: Posted): boolean {
    this.checkDirection(message);
    if (message.type !== 'abort' && this.state !== 'open') throw new ProtocolError(PROTOCOL_ERROR_CODES.HANDSHAKE, `${message.type} before the handshake completed`);
    if (this.isClosed) return false;
    if (message.type === 'doorbell') for (const hook of this.beforeRequestHooks) hook(); // coalesced writes precede it too
    this.transport.send(encode(message));
    this.stats.postedSent++;
    return true;
  }

  /** Set the handler of incoming requests (hello and ping are answered by the peer itself). */
  onRequest(handler: RequestHandler): void {
    this.requestHandler = handler;
  }

  /** Set the handler of incoming posted messages (abort is handled by the peer itself). */
  onPosted(handler: PostedHandler): void {
    this.postedHandler = handler;
  }

  /**
   * Run `hook` synchronously before each request and each `doorbell` is sent: the VMM flushes its
   * coalesced writes here, so that they reach the device model first (README §4.3).
   */
  beforeRequest(hook: () => void): void {
    this.beforeRequestHooks.push(hook);
  }

  onClose(listener: (reason: CloseReason) => void): void {
    if (this.closeReason !== undefined) {
      const reason = this.closeReason;
      queueMicrotask(() => listener(reason));
      return;
    }
    this.closeListeners.push(listener);
  }

  /** Close the connection; outstanding requests reject with CLOSED. */
  close(reason: CloseReason = { code: CLOSE_CODES.CLOSED, message: 'closed locally' }): void {
    this.transport.close(reason);
    this.closed(reason);
  }

  /** Send `abort` with this error and close (README §8: connection-fatal errors). */
  abort(code: string, message: string): void {
    this.sendAbort(new ProtocolError(code, message));
    this.close({ code, message });
  }

  // -------------------------------------------------------------------------------------------

  private sendRequest<T extends Request['type']>(message: Unnumbered<Extract<Request, { type: T }>>, options: RequestOptions): Promise<ReplyTo<T>> {
    try {
      this.checkDirection(message);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.isClosed) return Promise.reject(new ProtocolError(PROTOCOL_ERROR_CODES.CLOSED, `${message.type}: connection closed`));
    for (const hook of this.beforeRequestHooks) hook();
    const id = this.allocateId();
    if (message.type === 'hello') this.helloId = id;
    const expect = MESSAGES[message.type].reply;
    return new Promise<ReplyTo<T>>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
      const entry: Pending = { expect, resolve: resolve as (r: SuccessReply) => void, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          if (this.pending.delete(id)) this.rememberLate(id);
          reject(new ProtocolError(PROTOCOL_ERROR_CODES.TIMEOUT, `${message.type} #${id}: no reply within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.pending.set(id, entry);
      try {
        this.transport.sendParts(encodeParts({ ...message, id } as Message));
        this.stats.requestsSent++;
      } catch (e) {
        this.settle(id);
        reject(e instanceof ProtocolError ? e : new ProtocolError(PROTOCOL_ERROR_CODES.INTERNAL, String(e)));
      }
    });
  }

  private allocateId(): number {
    // Ids are u32 and wrap; skip any still outstanding.
    let id = this.nextId;
    while (this.pending.has(id)) id = id >= LIMITS.U32_MAX ? 1 : id + 1;
    this.nextId = id >= LIMITS.U32_MAX ? 1 : id + 1;
    return id;
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    this.pending.delete(id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    return p;
  }

  private rememberLate(id: number): void {
    this.lateIds.add(id);
    if (this.lateIds.size > LATE_IDS_MAX) {
      const oldest = this.lateIds.values().next();
      if (oldest.done !== true) this.lateIds.delete(oldest.value);
    }
  }

  private checkDirection(message: { type: Message['type'] }): void {
    const from = MESSAGES[message.type].from;
    if (from !== 'any' && from !== this.side) throw new ProtocolError(PROTOCOL_ERROR_CODES.BAD_DIRECTION, `${message.type} is sent by the ${from} side, not the ${this.side}`);
  }

  /** One frame body from the transport. Never throws: every failure becomes abort + close. */
  private receive(body: Uint8Array): void {
    if (this.isClosed) return;
    let message: Message;
    try {
      message = parseMessage(decode(body));
      const from = MESSAGES[message.type].from;
      if (from !== 'any' && from !== this.remote) throw new ProtocolError(PROTOCOL_ERROR_CODES.BAD_DIRECTION, `${message.type} may not be sent by the ${this.remote} side`);
      this.route(message);
    } catch (e) {
      const err = e instanceof ProtocolError ? e : new ProtocolError(PROTOCOL_ERROR_CODES.INTERNAL, e instanceof Error ? e.message : String(e));
      this.fatal(err);
    }
  }

  private route(message: Message): void {
    if (message.type === 'abort') {
      this.log('error', `peer aborted the connection: ${message.code}: ${message.message}`);
      this.close({ code: message.code, message: message.message });
      return;
    }
    this.gate(message);
    const kind = MESSAGES[message.type].kind;
    if (kind === 'reply') {
      this.onReply(message as Extract<Message, { reply: number }>);
      return;
    }
    if (message.type === 'hello') {
      this.onHello(message);
      return;
    }
    if (kind === 'request') this.stats.requestsReceived++;
    else this.stats.postedReceived++;
    this.inbox.push(message as Request | Posted);
    if (!this.busy) this.pump();
  }

  /** The handshake gate (README §3): nothing but hello (to the DM) / its reply (to the VMM) before it completes. */
  private gate(message: Message): void {
    if (this.state === 'open') {
      if (message.type === 'hello') throw new ProtocolError(PROTOCOL_ERROR_CODES.HANDSHAKE, 'second hello');
      return;
    }
    if (this.side === 'dm') {
      if (message.type !== 'hello') throw new ProtocolError(PROTOCOL_ERROR_CODES.HANDSHAKE, `${message.type} before hello`);
      return;
    }
    const answersHello = 'reply' in message && message.reply === this.helloId && this.helloId !== undefined;
    if (!answersHello) throw new ProtocolError(PROTOCOL_ERROR_CODES.HANDSHAKE, `${message.type} before the handshake completed`);
  }

  private onHello(hello: Extract<Message, { type: 'hello' }>): void {
    const acceptor = this.accept;
    if (acceptor === undefined) throw new Error('Peer: hello on a peer without an acceptor'); // assertion (constructor checks)
    try {
      const reply = answerHello(hello, acceptor);
      this.transport.send(encode({ ...reply, reply: hello.id }));
      this.features = reply.features;
      this.state = 'open';
      for (const w of this.handshakeWaiters.splice(0)) w.resolve();
    } catch (e) {
      const err = e instanceof ProtocolError ? e : new ProtocolError(PROTOCOL_ERROR_CODES.INTERNAL, String(e));
      this.log('error', `handshake refused: ${err.message}`);
      this.transport.send(encode({ type: 'error', reply: hello.id, code: err.code, message: err.message }));
      this.close({ code: err.code, message: err.message });
    }
  }

  private onReply(message: Extract<Message, { reply: number }>): void {
    const pending = this.settle(message.reply);
    if (pending === undefined) {
      if (this.lateIds.delete(message.reply)) {
        this.stats.lateReplies++;
        return;
      }
      throw new ProtocolError(PROTOCOL_ERROR_CODES.UNEXPECTED, `${message.type} to request #${message.reply}, which is not outstanding`);
    }
    if (message.type === 'error') {
      this.stats.errorRepliesReceived++;
      pending.reject(new ProtocolError(message.code, message.message, message.cause));
      return;
    }
    if (message.type === 'helloReply' && message.reply === this.helloId) {
      try {
        checkHelloReply(message, this.offered);
      } catch (e) {
        pending.reject(e as ProtocolError);
        throw e; // fatal: abort VERSION and close
      }
      this.features = message.features;
      this.state = 'open';
      for (const w of this.handshakeWaiters.splice(0)) w.resolve();
    }
    if (message.type !== pending.expect) {
      const err = new ProtocolError(PROTOCOL_ERROR_CODES.UNEXPECTED, `${message.type} answers request #${message.reply}, which expects ${pending.expect}`);
      pending.reject(err);
      throw err;
    }
    pending.resolve(message);
  }

  /** Dispatch queued requests and posted messages strictly in arrival order. */
  private pump(): void {
    while (this.inbox.length > 0 && !this.isClosed) {
      const message = this.inbox.shift();
      if (message === undefined) return;
      const result = MESSAGES[message.type].kind === 'request' ? this.dispatchRequest(message as Request) : this.dispatchPosted(message as Posted);
      if (result !== undefined) {
        // An asynchronous handler: later messages wait for it, replies do not (they bypass the inbox).
        this.busy = true;
        void result.then(() => {
          this.busy = false;
          this.pump();
        });
        return;
      }
    }
  }

  private dispatchRequest(request: Request): Promise<void> | undefined {
    if (request.type === 'ping') {
      this.sendReply(request, { type: 'ok' });
      return undefined;
    }
    const handler = this.requestHandler;
    if (handler === undefined) {
      this.sendError(request, new ProtocolError(PROTOCOL_ERROR_CODES.UNSUPPORTED, `no handler for ${request.type}`));
      return undefined;
    }
    let result: ReplyBody | Promise<ReplyBody>;
    try {
      result = handler(request);
    } catch (e) {
      this.sendError(request, e);
      return undefined;
    }
    if (result instanceof Promise) {
      return result.then(
        (body) => this.sendReply(request, body),
        (e: unknown) => this.sendError(request, e),
      );
    }
    this.sendReply(request, result);
    return undefined;
  }

  private dispatchPosted(message: Posted): Promise<void> | undefined {
    const handler = this.postedHandler;
    if (handler === undefined) return undefined;
    try {
      const r = handler(message);
      if (r instanceof Promise) return r.catch((e: unknown) => this.handlerFailed(message.type, e));
    } catch (e) {
      this.handlerFailed(message.type, e);
    }
    return undefined;
  }

  private handlerFailed(type: string, e: unknown): void {
    // A local handler bug: report it, keep the connection (the peer did nothing wrong).
    this.log('error', `${type} handler failed: ${e instanceof Error ? e.message : String(e)}`);
  }

  private sendReply(request: Request, body: ReplyBody): void {
    const expect = MESSAGES[request.type].reply;
    if (body.type !== expect) {
      this.sendError(request, new ProtocolError(PROTOCOL_ERROR_CODES.INTERNAL, `handler answered ${request.type} with ${body.type}, expected ${expect}`));
      return;
    }
    if (this.isClosed) return;
    try {
      this.transport.sendParts(encodeParts({ ...body, reply: request.id } as Message));
    } catch (e) {
      this.sendError(request, e);
      return;
    }
    if (request.type === 'shutdown') this.close({ code: CLOSE_CODES.CLOSED, message: 'shutdown' });
  }

  private sendError(request: Request, e: unknown): void {
    if (this.isClosed) return;
    const raw = errorCode(e);
    const code = raw !== undefined && /^[A-Z][A-Z0-9_]*$/.test(raw) && raw.length <= LIMITS.NAME_MAX ? raw : PROTOCOL_ERROR_CODES.INTERNAL;
    const message = (e instanceof Error ? e.message : String(e)).slice(0, LIMITS.STRING_MAX);
    if (code === PROTOCOL_ERROR_CODES.INTERNAL) this.log('error', `${request.type} handler failed: ${message}`);
    const cause = e instanceof ProtocolError ? e.causeCode : undefined;
    const valid = cause !== undefined && /^[A-Z][A-Z0-9_]*$/.test(cause) && cause.length <= LIMITS.NAME_MAX;
    this.transport.send(encode(valid ? { type: 'error', reply: request.id, code, message, cause } : { type: 'error', reply: request.id, code, message }));
  }

  private sendAbort(error: ProtocolError): void {
    if (this.transport.closed) return;
    try {
      this.transport.send(encode({ type: 'abort', code: error.code, message: error.message.slice(0, LIMITS.STRING_MAX) }));
    } catch {
      // The transport cannot take even the abort; closing is all that is left.
    }
  }

  /** A connection-fatal protocol error: report, tell the peer, close (README §8). */
  private fatal(error: ProtocolError): void {
    if (!FATAL_ERROR_CODES.has(error.code)) this.log('error', `internal error while receiving: ${error.message}`);
    else this.log('warn', `closing connection: ${error.code}: ${error.message}`);
    this.sendAbort(error);
    this.close({ code: error.code, message: error.message });
  }

  private failHandshake(err: ProtocolError): void {
    for (const w of this.handshakeWaiters.splice(0)) w.reject(err);
  }

  /** The connection is gone: reject everything outstanding, once. */
  private closed(reason: CloseReason): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    const detail = `connection closed (${reason.code}: ${reason.message})`;
    for (const [id, p] of this.pending) {
      this.settle(id);
      p.reject(new ProtocolError(PROTOCOL_ERROR_CODES.CLOSED, detail));
    }
    this.inbox.length = 0;
    this.failHandshake(new ProtocolError(PROTOCOL_ERROR_CODES.CLOSED, detail));
    for (const l of this.closeListeners.splice(0)) {
      try {
        l(reason);
      } catch (e) {
        this.log('error', `close listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}
