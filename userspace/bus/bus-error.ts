/**
 * Setup-time failures of the PIO and MMIO buses. These are host configuration mistakes (two
 * devices claiming the same address, a range outside the address space), never guest-caused,
 * so they are typed errors with a stable `code` rather than counters.
 */

/** Stable codes of BusError. */
export const BusErrorCode = {
  /** The new range intersects a range that is already registered. */
  overlap: 'BUS_OVERLAP',
  /** Base or length is not a non-negative integer, or the range leaves the address space. */
  badRange: 'BUS_BAD_RANGE',
  /** Another device already uses this name. */
  duplicateName: 'BUS_DUPLICATE_NAME',
} as const;
export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];

/** A device registration the bus refuses. */
export class BusError extends Error {
  override readonly name = 'BusError';
  constructor(
    readonly code: BusErrorCode,
    message: string,
  ) {
    super(message);
  }
}
