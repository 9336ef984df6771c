/**
 * virtio-rng, the entropy device (device id 4; virtio 1.x §5.4 "Entropy Device"; facts §4.8): one
 * request queue whose device-writable buffers are filled with random bytes from node:crypto, or
 * from an injected source so tests are deterministic.
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
