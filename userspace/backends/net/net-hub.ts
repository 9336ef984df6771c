/**
 * A tiny Ethernet hub over WebSocket: every binary message is one Ethernet frame, and each frame a
 * client sends is forwarded to every other connected client (a hub, not a switch: no MAC
 * learning). Lets several tskvm guests, possibly on different machines, share one segment.
 */
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ETHERNET_FRAME, NET_BACKEND_ERROR, NetBackendError } from './net-backend.js';

/** A running hub. */
export interface NetHub {
  /** The port it listens on (useful when started on port 0). */
  readonly port: number;
  /** Connected clients right now. */
  clientCount(): number;
  /** Frames forwarded (one per frame, however many receivers). */
  readonly stats: { frames: number };
  /** Disconnect everyone and stop listening. */
  close(): Promise<void>;
}

/** Listen on `host:port` (port 0 picks a free one) and forward frames between clients. */
export function startHub(port: number, host = '127.0.0.1'): Promise<NetHub> {
  return new Promise((resolve, reject) => {
    // Oversized messages close the sender's connection (ws answers 1009) instead of being buffered.
    const server = new WebSocketServer({ host, port, maxPayload: ETHERNET_FRAME.MAX_SIZE });
    const clients = new Set<WebSocket>();
    const stats = { frames: 0 };

    server.on('connection', (ws) => {
      clients.add(ws);
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (!isBinary) return; // text is not a frame
        const frame = rawToBuffer(data);
        if (frame.length < ETHERNET_FRAME.HEADER_SIZE) return;
        stats.frames++;
        for (const other of clients) {
          if (other !== ws && other.readyState === other.OPEN) other.send(frame, { binary: true });
        }
      });
      ws.on('close', () => clients.delete(ws));
      ws.on('error', () => clients.delete(ws));
    });

    server.once('error', (err) => {
      reject(new NetBackendError(NET_BACKEND_ERROR.HUB_LISTEN_FAILED, `net hub cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    });

    server.once('listening', () => {
      const address = server.address();
      const actualPort = typeof address === 'object' && address !== null ? address.port : port;
      resolve({
        port: actualPort,
        stats,
        clientCount: () => clients.size,
        close: () =>
          new Promise<void>((done) => {
            for (const ws of clients) ws.terminate();
            clients.clear();
            server.close(() => done());
          }),
      });
    });
  });
}

/** ws hands messages over as a Buffer, an ArrayBuffer or fragments. */
export function rawToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
