import type { BlockBackend } from '../../bus/device.js';
import { BLOCK_ERROR_CODE, BlockBackendError } from './block-error.js';
import { RawFileBackend } from './raw-file-backend.js';

/** A parsed `FILE[,ro]` disk spec. */
export interface BlockSpec {
  path: string;
  readOnly: boolean;
}

/** Parse `FILE[,ro]` (the backend part of `--disk`; the caller strips `if=`). */
export function parseBlockSpec(spec: string): BlockSpec {
  const parts = spec.split(',');
  const path = parts[0] ?? '';
  if (path === '') throw new BlockBackendError(BLOCK_ERROR_CODE.BAD_SPEC, `disk spec '${spec}' has no file name`);
  let readOnly = false;
  for (const opt of parts.slice(1)) {
    if (opt === 'ro') readOnly = true;
    else throw new BlockBackendError(BLOCK_ERROR_CODE.BAD_SPEC, `disk spec '${spec}': unknown option '${opt}' (expected FILE[,ro])`);
  }
  return { path, readOnly };
}

/** Open the backend a `FILE[,ro]` spec names: a raw image file, O_RDONLY when `ro`. */
export function openBlockBackend(spec: string): BlockBackend {
  const { path, readOnly } = parseBlockSpec(spec);
  return new RawFileBackend(path, readOnly);
}
