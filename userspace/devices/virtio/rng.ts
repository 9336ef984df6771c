/**
 * virtio-rng, the entropy device (device id 4; virtio 1.x §5.4 "Entropy Device"; facts §4.8): one
 * request queue whose device-writable buffers are filled with random bytes from node:crypto, or
 * from a seeded generator (`seed:N`, what `--clock virtual` uses so runs repeat), or from an
 * injected source.
 */
import { randomFillSync } from 'node:crypto';
import type { VirtioDeviceContext, VirtioDeviceModel } from './device-model.js';
import { VIRTIO_ID } from './features.js';
import type { SplitQueue } from './queue.js';

/** Fills a buffer with random bytes. */
export type EntropySource = (buffer: Uint8Array) => void;

/** Options for VirtioRng. */
export interface VirtioRngOptions {
  readonly source?: EntropySource;
  readonly queueSize?: number;
  /** Most bytes served per request (QEMU caps requests too); the guest simply asks again. */
  readonly maxRequestBytes?: number;
}

const DEFAULT_QUEUE_SIZE = 64;
const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;

/** Crypto-strength default source. */
export const cryptoEntropy: EntropySource = (buffer) => {
  randomFillSync(buffer);
};

/**
 * A reproducible stream (xorshift128, seeded through splitmix32): for runs that must repeat,
 * never for secrets. The guest's entropy pool then differs only by the seed.
 */
export function seededEntropy(seed: number): EntropySource {
  let z = seed >>> 0;
  const splitmix = (): number => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    return (t ^ (t >>> 16)) >>> 0;
  };
  const st = [splitmix(), splitmix(), splitmix(), splitmix() || 1];
  const next = (): number => {
    let t = st[3]!;
    const s = st[0]!;
    st[3] = st[2]!;
    st[2] = st[1]!;
    st[1] = s;
    t ^= t << 11;
    t ^= t >>> 8;
    st[0] = (t ^ s ^ (s >>> 19)) >>> 0;
    return st[0];
  };
  return (buffer) => {
    for (let i = 0; i < buffer.length; i += 4) {
      const v = next();
      for (let b = 0; b < 4 && i + b < buffer.length; b++) buffer[i + b] = (v >>> (b * 8)) & 0xff;
    }
  };
}

/** The source a backend spec names: `crypto` (or empty) or `seed:N` (N a 32-bit unsigned integer). */
export function entropyFromSpec(spec: string): EntropySource | null {
  if (spec === 'crypto' || spec === '') return cryptoEntropy;
  const m = /^seed:(\d{1,10})$/.exec(spec);
  if (m && Number(m[1]) <= 0xffffffff) return seededEntropy(Number(m[1]));
  return null;
}

/** virtio-rng device model (§5.4). */
export class VirtioRng implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID.ENTROPY;
  readonly features = 0n;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = 0;
  /** Bytes handed to the guest. */
  bytesServed = 0;
  private readonly source: EntropySource;
  private readonly maxRequest: number;

  constructor(options: VirtioRngOptions = {}) {
    this.source = options.source ?? cryptoEntropy;
    this.queueMaxSizes = [options.queueSize ?? DEFAULT_QUEUE_SIZE];
    this.maxRequest = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  readConfig(): number {
    return 0;
  }

  writeConfig(): void {}

  activate(_context: VirtioDeviceContext): void {}

  reset(): void {}

  async process(queue: SplitQueue): Promise<void> {
    for (let chain = await queue.pop(); chain; chain = await queue.pop()) {
      const bytes = new Uint8Array(Math.min(chain.writableLength, this.maxRequest));
      this.source(bytes);
      await queue.writeChain(chain, bytes);
      this.bytesServed += bytes.length;
      queue.addUsed(chain.head, bytes.length);
    }
  }
}
