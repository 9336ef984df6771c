/**
 * Process exit statuses of `tskvm run` (DESIGN.md, a contract for outside tests).
 */
export const EXIT_STATUS = {
  /** Every vCPU halted with interrupts off and nothing pending. */
  halted: 0,
  /** Reset requested by the guest (i8042 0xFE, triple fault is separate). */
  reset: 2,
  /** Triple fault (shutdown); CS:EIP is printed on stderr. */
  tripleFault: 3,
  /** Bad command-line usage (EX_USAGE). */
  usage: 64,
  /** Unreadable or invalid image (EX_DATAERR). */
  badImage: 65,
  /** Host-side failure: device model died, protocol error, internal error (EX_SOFTWARE). */
  hostFailure: 70,
} as const;

