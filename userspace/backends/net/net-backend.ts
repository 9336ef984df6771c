/**
 * What a virtio-net device sends Ethernet frames through (QEMU's "netdev" side): a loopback, a
 * WebSocket hub, later a tap. Frames are whole Ethernet frames without FCS and without the
 * virtio-net header, which belongs to the device.
 */

/** An Ethernet frame transport. */
export interface NetBackend {
  /** Send one frame from the guest. Never throws for a closed or disconnected backend (drops). */
  send(frame: Uint8Array): void;
  /** Frames for the guest, one call per frame. One listener. */
  onFrame(listener: (frame: Uint8Array) => void): void;
  /** Release the resource; frames sent afterwards are dropped. */
  close(): Promise<void>;
}

/** Ethernet frame size limits (IEEE 802.3: 14-byte header; up to 64 KiB for GSO-sized frames). */
export const ETHERNET_FRAME = {
  HEADER_SIZE: 14,
  MAX_SIZE: 65_536,
} as const;

/** Stable codes of NetBackendError. */
export const NET_BACKEND_ERROR = {
  BAD_SPEC: 'NET_BAD_SPEC',
  HUB_UNREACHABLE: 'NET_HUB_UNREACHABLE',
  HUB_LISTEN_FAILED: 'NET_HUB_LISTEN_FAILED',
} as const;
export type NetBackendErrorCode = (typeof NET_BACKEND_ERROR)[keyof typeof NET_BACKEND_ERROR];

/** An expected host-side failure to set up a net backend, with a message for the user. */
export class NetBackendError extends Error {
  constructor(
    readonly code: NetBackendErrorCode,
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'NetBackendError';
  }
}
