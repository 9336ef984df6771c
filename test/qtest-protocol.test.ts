/**
 * Protocol robustness against the real device-model process (protocol/README.md §2, §3, §8.2):
 * garbage bytes, oversized and zero-length frames, values that are not messages, unknown types,
 * requests before `hello`, a second `hello`, bad fields, wrong directions, unexpected replies and
 * a wrong version — each refused with `abort` (or an `error` reply for VERSION) and a closed
 * connection, over a Unix socket and a WebSocket, while the same process (started without
 * `--once`) keeps serving well-behaved connections, including one that stays open throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../protocol/framing.js';
import { LIMITS, PROTOCOL_NAME, PROTOCOL_VERSION, type DeviceSpec } from '../protocol/messages.js';
import { DeviceModelProcess } from './qtest/device-model-process.js';
import { QtestClient } from './qtest/qtest-client.js';
import { packValue, RawConnection } from './qtest/raw-connection.js';

/** COM1's scratch register: a one-register proof that a connection works end to end. */
const COM1 = { BASE: 0x3f8, IRQ: 4, SCR: 7 } as const;
const MACHINE: DeviceSpec[] = [{ type: 'serial', base: COM1.BASE, irq: COM1.IRQ, backend: 'null' }];
/** 0xC1 is the one byte msgpack never uses. */
const MSGPACK_NEVER_USED = 0xc1;
/** README §3.1: a device model closes a connection without hello after 10 s. */
const HELLO_TIMEOUT_MS = 10_000;
/** ws close statuses (RFC 6455 §7.4.1). */
const WS_CLOSE = { POLICY_VIOLATION: 1008, MESSAGE_TOO_BIG: 1009 } as const;

const hello = (id: number, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'hello',
  id,
  protocol: PROTOCOL_NAME,
  version: PROTOCOL_VERSION,
  features: [],
  role: 'qtest',
  ...overrides,
});

/** A well-behaved client gets the whole way: connect, handshake, configure, registers, shutdown. */
async function wellBehaved(dm: DeviceModelProcess, value: number): Promise<void> {
  const c = await QtestClient.attach(dm.address, { devices: MACHINE });
  await c.outb(COM1.BASE + COM1.SCR, value);
  expect(await c.inb(COM1.BASE + COM1.SCR)).toBe(value);
  await c.shutdown();
  expect(dm.alive).toBe(true);
}

/** Open, misbehave, expect `abort {code}` and the close. */
async function refused(dm: DeviceModelProcess, code: string, misbehave: (c: RawConnection) => void | Promise<void>): Promise<RawConnection> {
  const c = await RawConnection.open(dm.address);
  try {
    await misbehave(c);
    const abort = await c.waitForFrame((f) => f['type'] === 'abort');
    expect(abort['code']).toBe(code);
    expect(typeof abort['message']).toBe('string');
    await c.waitForClose();
    return c;
  } finally {
    c.destroy();
  }
}

describe.each(['unix', 'ws'] as const)('a device model listening on %s', (listen) => {
  let dm: DeviceModelProcess;
  let bystander: QtestClient;
  let checks = 0;

  beforeAll(async () => {
    dm = await DeviceModelProcess.start({ listen, once: false });
    bystander = await QtestClient.attach(dm.address, { devices: MACHINE });
  });
  afterAll(async () => {
    await bystander.dispose();
    const exit = await dm.kill('SIGTERM');
    // SIGTERM is an orderly stop (userspace/main.ts): status 0, not a signal death.
    expect(exit).toEqual({ code: 0, signal: null });
  });

  /** After every refusal: the process is alive, a new connection works, the open one too. */
  async function stillServing(): Promise<void> {
    checks++;
    expect(dm.alive).toBe(true);
    await wellBehaved(dm, 0x40 + checks);
    await bystander.outb(COM1.BASE + COM1.SCR, checks);
    expect(await bystander.inb(COM1.BASE + COM1.SCR)).toBe(checks);
  }

  it('refuses a frame that is not msgpack (MALFORMED)', async () => {
    if (listen === 'unix') await refused(dm, 'MALFORMED', (c) => c.sendBytes([0x01, 0x00, 0x00, 0x00, MSGPACK_NEVER_USED]));
    else await refused(dm, 'MALFORMED', (c) => c.sendBytes([MSGPACK_NEVER_USED]));
    await stillServing();
  });

  it('refuses msgpack that is not a message map, or has trailing bytes (MALFORMED)', async () => {
    await refused(dm, 'MALFORMED', (c) => c.sendValue([1, 2, 3]));
    await refused(dm, 'MALFORMED', (c) => c.sendValue({ id: 1 }));
    await refused(dm, 'MALFORMED', (c) => {
      const body = [0x81, 0xa4, ...Buffer.from('type'), 0xa4, ...Buffer.from('ping'), 0x00];
      c.sendBytes(listen === 'unix' ? [body.length, 0, 0, 0, ...body] : body);
    });
    await stillServing();
  });

  it('refuses a valid frame with an unknown message type (UNKNOWN_TYPE)', async () => {
    await refused(dm, 'UNKNOWN_TYPE', (c) => c.sendValue({ type: 'frobnicate', id: 1 }));
    await stillServing();
  });

  it('refuses a request before hello (HANDSHAKE)', async () => {
    await refused(dm, 'HANDSHAKE', (c) => c.sendValue({ type: 'ping', id: 1 }));
    await refused(dm, 'HANDSHAKE', (c) => c.sendValue({ type: 'pioRead', id: 1, port: COM1.BASE, size: 1, count: 1 }));
    await stillServing();
  });

  it('refuses a second hello (HANDSHAKE), a bad field (BAD_FIELD), a wrong direction (BAD_DIRECTION), a stray reply (UNEXPECTED)', async () => {
    const afterHello = async (c: RawConnection, then: () => void): Promise<void> => {
      c.sendValue(hello(1));
      await c.waitForFrame((f) => f['type'] === 'helloReply' && f['reply'] === 1);
      then();
    };
    await refused(dm, 'HANDSHAKE', (c) => afterHello(c, () => c.sendValue(hello(2))));
    const bad = await refused(dm, 'BAD_FIELD', (c) => afterHello(c, () => c.sendValue({ type: 'pioRead', id: 2, port: 0x1_0000, size: 1, count: 1 })));
    expect(String((bad.frames.at(-1) as Record<string, unknown>)['message'])).toMatch(/port/);
    await refused(dm, 'BAD_FIELD', (c) => afterHello(c, () => c.sendValue({ type: 'pioWrite', id: 2, port: COM1.BASE, size: 3, data: Uint8Array.of(1, 2, 3) })));
    await refused(dm, 'BAD_DIRECTION', (c) => afterHello(c, () => c.sendValue({ type: 'irq', line: 4, level: true })));
    await refused(dm, 'UNEXPECTED', (c) => afterHello(c, () => c.sendValue({ type: 'ok', reply: 77 })));
    await stillServing();
  });

  it('answers a hello of another version with error VERSION and closes', async () => {
    const c = await RawConnection.open(dm.address);
    try {
      c.sendValue(hello(5, { version: PROTOCOL_VERSION + 1 }));
      const err = await c.waitForFrame((f) => f['type'] === 'error');
      expect(err['reply']).toBe(5);
      expect(err['code']).toBe('VERSION');
      await c.waitForClose();
    } finally {
      c.destroy();
    }
    await stillServing();
  });

  it('reassembles a hello that arrives one byte at a time', async () => {
    const c = await RawConnection.open(dm.address);
    try {
      if (listen === 'unix') {
        for (const b of encodeFrame(packValue(hello(9)))) {
          c.sendBytes([b]);
          await new Promise((r) => setTimeout(r, 1));
        }
      } else {
        c.sendValue(hello(9));
      }
      const reply = await c.waitForFrame((f) => f['type'] === 'helloReply');
      expect(reply['reply']).toBe(9);
      expect(reply['protocol']).toBe(PROTOCOL_NAME);
    } finally {
      c.destroy();
    }
    await stillServing();
  });

  if (listen === 'unix') {
    it('refuses an oversized length prefix at once, without waiting for the body (TOO_LARGE)', async () => {
      const t0 = Date.now();
      await refused(dm, 'TOO_LARGE', (c) => c.sendBytes([0xff, 0xff, 0xff, 0xff]));
      // An HTTP request on the Unix socket: "GET " read as a length is ~542 MB.
      await refused(dm, 'TOO_LARGE', (c) => c.sendBytes([...Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]));
      // Just over the maximum: refused from the prefix alone.
      const over = LIMITS.FRAME_MAX_DEFAULT + 1;
      await refused(dm, 'TOO_LARGE', (c) => c.sendBytes([over & 0xff, (over >>> 8) & 0xff, (over >>> 16) & 0xff, over >>> 24]));
      expect(Date.now() - t0).toBeLessThan(5_000);
      await stillServing();
    });

    it('closes a connection that sends no hello within 10 s (HANDSHAKE)', async () => {
      const c = await RawConnection.open(dm.address);
      try {
        const t0 = Date.now();
        const abort = await c.waitForFrame((f) => f['type'] === 'abort', HELLO_TIMEOUT_MS + 5_000);
        expect(abort['code']).toBe('HANDSHAKE');
        await c.waitForClose();
        expect(Date.now() - t0).toBeGreaterThanOrEqual(HELLO_TIMEOUT_MS - 1_000);
      } finally {
        c.destroy();
      }
      await stillServing();
    }, 30_000);

    it('refuses a zero-length frame (MALFORMED)', async () => {
      await refused(dm, 'MALFORMED', (c) => c.sendBytes([0, 0, 0, 0]));
      await stillServing();
    });
  } else {
    it('closes with 1008 and "CODE: message" on a text message (MALFORMED)', async () => {
      const c = await RawConnection.open(dm.address);
      try {
        c.sendText('{"type":"hello"}');
        const close = await c.waitForClose();
        expect(close.wsCode).toBe(WS_CLOSE.POLICY_VIOLATION);
        expect(close.wsReason).toMatch(/^MALFORMED: /);
      } finally {
        c.destroy();
      }
      await stillServing();
    });

    it('closes with 1009 on a message above the maximum frame size (TOO_LARGE)', async () => {
      const c = await RawConnection.open(dm.address);
      try {
        c.sendBytes(new Uint8Array(LIMITS.FRAME_MAX_DEFAULT + 1));
        const close = await c.waitForClose();
        expect(close.wsCode).toBe(WS_CLOSE.MESSAGE_TOO_BIG);
      } finally {
        c.destroy();
      }
      await stillServing();
    });

    it('closes protocol errors with 1008 and the code in the reason', async () => {
      const c = await refused(dm, 'UNKNOWN_TYPE', (r) => r.sendValue({ type: 'frobnicate', id: 1 }));
      const close = await c.closed;
      expect(close.wsCode).toBe(WS_CLOSE.POLICY_VIOLATION);
      expect(close.wsReason).toMatch(/^UNKNOWN_TYPE: /);
      await stillServing();
    });
  }
});
