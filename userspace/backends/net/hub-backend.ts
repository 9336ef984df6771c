/**
 * The `hub:ws://HOST:PORT` net backend: a WebSocket client of a net hub (net-hub.ts), one binary
 * message per Ethernet frame.
 */
import WebSocket from 'ws';
import { ETHERNET_FRAME, NET_BACKEND_ERROR, NetBackendError, type NetBackend } from './net-backend.js';
import { rawToBuffer } from './net-hub.js';

/** Net backend connected to a hub. */
export class HubNetBackend implements NetBackend {
  private listener: ((frame: Uint8Array) => void) | null = null;
  /** Frames dropped because the connection was gone. */
  dropped = 0;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const buf = rawToBuffer(data);
      this.listener?.(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength).slice());
    });
    // After a lost connection the backend just drops frames, like an unplugged cable.
    ws.on('error', () => {});
  }

  /** Connect to the hub at `url` (ws://HOST:PORT); rejects with NetBackendError if unreachable. */
  static connect(url: string): Promise<HubNetBackend> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { maxPayload: ETHERNET_FRAME.MAX_SIZE });
      const onError = (err: Error) => {
        reject(new NetBackendError(NET_BACKEND_ERROR.HUB_UNREACHABLE, `cannot connect to net hub ${url}: ${err.message}`, { cause: err }));
      };
      ws.once('error', onError);
      ws.once('open', () => {
        ws.off('error', onError);
        resolve(new HubNetBackend(ws));
      });
    });
  }

  send(frame: Uint8Array): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      this.dropped++;
      return;
    }
    this.ws.send(frame, { binary: true });
  }

  onFrame(listener: (frame: Uint8Array) => void): void {
    this.listener = listener;
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
