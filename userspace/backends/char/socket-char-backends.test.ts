import { spawn } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createCharBackend } from './create-char-backend.js';
import { UnixClientCharBackend } from './unix-client-char-backend.js';
import { UnixServerCharBackend } from './unix-server-char-backend.js';
import { WsCharBackend } from './ws-char-backend.js';
import { InputCollector, waitFor } from './test-support.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tskvm-sock-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path, () => resolve(s));
    s.once('error', reject);
  });
}

function collect(socket: Socket): { text: () => string } {
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  return { text: () => Buffer.concat(chunks).toString('latin1') };
}

describe('unix:PATH (client)', () => {
  it('talks to a real listening server both ways', async () => {
    const path = join(dir, 'peer.sock');
    let peer: Socket | undefined;
    const server: Server = createServer((s) => (peer = s));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const backend = await createCharBackend(`unix:${path}`);
    expect(backend).toBeInstanceOf(UnixClientCharBackend);
    await waitFor(() => peer !== undefined);
    const fromGuest = collect(peer as Socket);
    for (const c of 'hello from COM1') backend.write(Buffer.from(c));
    await waitFor(() => fromGuest.text() === 'hello from COM1');
    const got = new InputCollector();
    backend.onInput(got.listener);
    peer?.write('typed');
    await waitFor(() => got.text() === 'typed');
    await backend.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('drops output after the peer hangs up instead of failing', async () => {
    const path = join(dir, 'peer.sock');
    let peer: Socket | undefined;
    const server = createServer((s) => (peer = s));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const backend = (await createCharBackend(`unix:${path}`)) as UnixClientCharBackend;
    await waitFor(() => peer !== undefined);
    peer?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await waitFor(() => {
      backend.write(Buffer.from('x'));
      return backend.dropped > 0;
    });
    await backend.close();
  });

  it('reports a missing socket as BACKEND_OPEN', async () => {
    await expect(createCharBackend(`unix:${join(dir, 'nobody.sock')}`)).rejects.toMatchObject({ code: 'BACKEND_OPEN' });
  });
});

describe('unix:PATH,server', () => {
  it('serves one client at a time and drops output while nobody is connected', async () => {
    const path = join(dir, 'com1.sock');
    const backend = (await createCharBackend(`unix:${path},server`)) as UnixServerCharBackend;
    expect(backend).toBeInstanceOf(UnixServerCharBackend);
    backend.write(Buffer.from('lost'));
    expect(backend.dropped).toBe(4);
    const got = new InputCollector();
    backend.onInput(got.listener);

    const first = await connect(path);
    const firstOut = collect(first);
    await waitFor(() => backend.hasClient());
    backend.write(Buffer.from('to first'));
    await waitFor(() => firstOut.text() === 'to first');
    first.write('from first');
    await waitFor(() => got.text() === 'from first');

    const second = await connect(path);
    const secondClosed = new Promise<void>((resolve) => second.once('close', () => resolve()));
    await secondClosed; // refused while the first is connected
    expect(backend.refused).toBe(1);

    first.destroy();
    await waitFor(() => !backend.hasClient());
    const third = await connect(path);
    const thirdOut = collect(third);
    await waitFor(() => backend.hasClient());
    backend.write(Buffer.from('to third'));
    await waitFor(() => thirdOut.text() === 'to third');
    const thirdClosed = new Promise<void>((resolve) => third.once('close', () => resolve()));
    await backend.close();
    await thirdClosed;
    expect(existsSync(path)).toBe(false);
  });

  it('replaces a stale socket file but refuses a live one', async () => {
    const path = join(dir, 'stale.sock');
    const live = await UnixServerCharBackend.listen(path);
    await expect(UnixServerCharBackend.listen(path)).rejects.toMatchObject({ code: 'BACKEND_OPEN' });
    await live.close();
    // A process that dies by SIGKILL leaves its socket file behind with nothing listening.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(path)).toBe(true);
    const fresh = await UnixServerCharBackend.listen(path);
    const client = await connect(path);
    await waitFor(() => fresh.hasClient());
    client.destroy();
    await fresh.close();
  });
});

describe('ws:PORT', () => {
  async function openClient(port: number): Promise<{ ws: WebSocket; text: () => string }> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    const chunks: Buffer[] = [];
    ws.on('message', (data: Buffer) => chunks.push(Buffer.from(data)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return { ws, text: () => Buffer.concat(chunks).toString('latin1') };
  }

  it('broadcasts output to every client and takes input from any', async () => {
    const backend = (await createCharBackend('ws:0')) as WsCharBackend;
    expect(backend).toBeInstanceOf(WsCharBackend);
    expect(backend.port).toBeGreaterThan(0);
    const got = new InputCollector();
    backend.onInput(got.listener);
    const a = await openClient(backend.port);
    const b = await openClient(backend.port);
    await waitFor(() => backend.clientCount() === 2);
    for (const c of 'boot ok\n') backend.write(Buffer.from(c));
    await waitFor(() => a.text() === 'boot ok\n' && b.text() === 'boot ok\n');
    a.ws.send(Buffer.from([0x03]));
    await waitFor(() => got.text() === '\x03');
    b.ws.send('ls\r');
    await waitFor(() => got.text() === '\x03ls\r');
    const closedA = new Promise<number>((resolve) => a.ws.once('close', (code) => resolve(code)));
    await backend.close();
    expect(await closedA).toBe(1001);
  });

  it('reports a port in use as BACKEND_OPEN', async () => {
    const first = await WsCharBackend.listen(0);
    await expect(createCharBackend(`ws:${first.port}`)).rejects.toMatchObject({ code: 'BACKEND_OPEN' });
    await first.close();
  });
});
