/** Stable codes of CharBackendError. */
export const CharBackendErrorCode = {
  /** The backend spec string is malformed (bad user input: exit status 64 at the CLI). */
  badBackend: 'BAD_BACKEND',
  /** The spec is fine but the resource could not be opened (file, socket, port). */
  openFailed: 'BACKEND_OPEN',
} as const;
export type CharBackendErrorCode = (typeof CharBackendErrorCode)[keyof typeof CharBackendErrorCode];

/** Expected host failure while setting up a char backend; `message` is one line for the user. */
export class CharBackendError extends Error {
  override readonly name = 'CharBackendError';
  constructor(
    readonly code: CharBackendErrorCode,
    message: string,
  ) {
    super(message);
  }
}
