import type { BlockBackend } from '../../bus/device.js';
import { BLOCK_ERROR_CODE, BlockBackendError } from './block-error.js';

/** Wrap a backend so that it reports and enforces read-only (the `,ro` of `--disk`). */
export function readOnly(inner: BlockBackend): BlockBackend {
  return {
    size: inner.size,
    readOnly: true,
    read: (offset, length) => inner.read(offset, length),
    write: () => {
      throw new BlockBackendError(BLOCK_ERROR_CODE.READ_ONLY, 'write to a read-only disk');
    },
    flush: () => {},
    close: () => inner.close(),
  };
}
