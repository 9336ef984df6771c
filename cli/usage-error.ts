/** Bad command-line usage (exit status 64, EX_USAGE). */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
  }
}
