/** Stable codes of expected block-backend failures (tier 2 of the error policy). */
export const BLOCK_ERROR_CODE = {
  BAD_IMAGE: 'BAD_IMAGE', // size not a multiple of 512
  OPEN_FAILED: 'OPEN_FAILED', // missing file, no permission, ...
  IO_ERROR: 'IO_ERROR', // a read, write or fsync the host refused
  OUT_OF_RANGE: 'OUT_OF_RANGE', // access beyond the end (devices check first, so a bug guard)
  READ_ONLY: 'READ_ONLY', // write to a read-only backend (likewise a bug guard)
  BAD_SPEC: 'BAD_SPEC', // unparseable FILE[,ro] spec
} as const;

/** One of BLOCK_ERROR_CODE's values. */
export type BlockErrorCode = (typeof BLOCK_ERROR_CODE)[keyof typeof BLOCK_ERROR_CODE];

/** An expected host-side failure of a block backend, with a stable `code` and a user-facing message. */
export class BlockBackendError extends Error {
  constructor(readonly code: BlockErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlockBackendError';
  }
}

/** Bytes per logical sector of every block backend. */
export const SECTOR_SIZE = 512;

/** Throw OUT_OF_RANGE unless [offset, offset+length) lies inside a device of `size` bytes. */
export function checkRange(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new BlockBackendError(BLOCK_ERROR_CODE.OUT_OF_RANGE, `block access ${offset}+${length} outside a ${size}-byte device`);
  }
}
