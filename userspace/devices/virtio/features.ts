/**
 * Shared virtio constants: device status bits (virtio 1.x §2.1), reserved feature bits (§6),
 * device ids (§5) — the numbers of reference/facts.md §4.2, §4.3, §4.6.
 */

/** Device status field bits (virtio 1.x §2.1 "Device Status Field"). */
export const VIRTIO_CONFIG_S = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  SUSPEND: 16,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;

/** Reserved (transport/ring) feature bit numbers (virtio 1.x §6 "Reserved Feature Bits"). */
export const VIRTIO_F = {
  INDIRECT_DESC: 28,
  EVENT_IDX: 29,
  VERSION_1: 32,
  ACCESS_PLATFORM: 33,
  RING_PACKED: 34,
  IN_ORDER: 35,
  ORDER_PLATFORM: 36,
  SR_IOV: 37,
  NOTIFICATION_DATA: 38,
  NOTIF_CONFIG_DATA: 39,
  RING_RESET: 40,
} as const;

/** Virtio device ids (virtio 1.x §5 "Device Types"). */
export const VIRTIO_ID = {
  NET: 1,
  BLOCK: 2,
  CONSOLE: 3,
  ENTROPY: 4,
} as const;

/** The 64-bit feature mask with only `bit` set. */
export function featureBit(bit: number): bigint {
  return 1n << BigInt(bit);
}

/** Whether `features` has `bit` set. */
export function hasFeature(features: bigint, bit: number): boolean {
  return (features & featureBit(bit)) !== 0n;
}

/** Transport features every tskvm virtio device offers on top of its own (split ring only). */
export const TRANSPORT_FEATURES: bigint =
  featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_F.INDIRECT_DESC) | featureBit(VIRTIO_F.EVENT_IDX);
