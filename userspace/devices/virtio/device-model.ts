/**
 * The contract between the virtio-mmio transport and a device type (net, blk, console, rng): the
 * device-type half of virtio 1.x §5, with the transport half (§4.2) in mmio-transport.ts.
 */
import type { DmaPort } from '../../bus/device.js';
import type { SplitQueue } from './queue.js';

/** What the transport gives a device when the driver sets DRIVER_OK (§3.1.1 step 8). */
export interface VirtioDeviceContext {
  /** The features both sides agreed on (64 bits). */
  readonly features: bigint;
  /** Guest memory, for devices that need it outside a queue (none of ours do yet). */
  readonly dma: DmaPort;
  /**
   * Ask for `queue` to be processed as if the driver had notified it; used when the backend has
   * input for a receive queue. Posted: returns at once.
   */
  kick(queue: number): void;
  /** Device configuration changed: bump ConfigGeneration and raise the config interrupt (§2.5.1). */
  configChanged(): void;
}

/** A virtio device type behind a transport. */
export interface VirtioDeviceModel {
  /** Device id (§5, facts §4.6). */
  readonly deviceId: number;
  /** Device-specific feature bits offered (the transport adds VERSION_1, INDIRECT_DESC, EVENT_IDX). */
  readonly features: bigint;
  /** Maximum size of each queue; the length is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Bytes of device configuration space (§2.5). */
  readonly configSize: number;
  /** Read `size` (1, 2 or 4) bytes of configuration at `offset`, little-endian (§2.5, §4.2.2). */
  readConfig(offset: number, size: number): number;
  /** Driver write to configuration space; read-only fields ignore it. */
  writeConfig(offset: number, size: number, value: number): void;
  /** DRIVER_OK: queues may now be used. */
  activate(context: VirtioDeviceContext): void;
  /**
   * Handle what the driver made available on `queue`: pop chains, serve them, addUsed. The
   * transport then publishes the used ring and interrupts if the driver wants it. Throws
   * QueueError for a malformed request (the transport sets DEVICE_NEEDS_RESET).
   */
  process(queue: SplitQueue, index: number): Promise<void>;
  /** Device reset (status 0): back to the post-construction state, backend kept (§2.4). */
  reset(): void;
}

/** Read a little-endian field of `size` bytes from a configuration-space image; 0 past the end. */
export function readConfigBytes(config: Uint8Array, offset: number, size: number): number {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + (config[offset + i] ?? 0);
  return value;
}
