/**
 * The far end of a device model's `unix:PATH,server` character backend (DESIGN.md "Command
 * line" `--serial unix:PATH`; QEMU `-serial unix:PATH,server`): a test connects to it to type
 * into the guest's UART and to read what the guest transmits.
 */
import { createConnection, type Socket } from 'node:net';

/** Default wait for bytes from the device model. */
const WAIT_MS = 10_000;

/** A connected Unix-socket peer of a character backend. */
export class CharSocket {
  private received: Buffer[] = [];
  private total = 0;
  private listeners: (() => void)[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.received.push(b);
      this.total += b.length;
      for (const l of this.listeners.splice(0)) l();
    });
  }

  /** Connect to the backend listening at `path`. */
  static connect(path: string): Promise<CharSocket> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => resolve(new CharSocket(socket)));
      socket.once('error', reject);
    });
  }

  /** Bytes for the guest (they reach the UART's receiver through the backend). */
  send(bytes: Uint8Array | readonly number[]): void {
    this.socket.write(Uint8Array.from(bytes));
  }

  /** Everything the guest transmitted so far. */
  get bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.received));
  }

  /** Wait until at least `n` bytes have been received. */
  async waitForBytes(n: number, timeoutMs = WAIT_MS): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.total < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`char socket: ${this.total} of ${n} bytes after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.bytes;
  }

  close(): void {
    this.socket.destroy();
  }
}
