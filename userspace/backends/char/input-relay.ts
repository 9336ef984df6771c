/**
 * The input half of a CharBackend: one listener, and input that arrives before the listener is
 * attached is held for it rather than dropped.
 */
export class InputRelay {
  private listener: ((data: Uint8Array) => void) | undefined;
  private held: Uint8Array[] = [];

  setListener(listener: (data: Uint8Array) => void): void {
    this.listener = listener;
    const held = this.held;
    this.held = [];
    for (const chunk of held) listener(chunk);
  }

  deliver(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.listener === undefined) this.held.push(data);
    else this.listener(data);
  }
}

/** Bytes of a ws/socket payload as a Uint8Array. */
export function toBytes(data: Buffer | ArrayBuffer | Buffer[] | string): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
