/** An unreadable or invalid guest image (exit status 65). */
export class ImageError extends Error {
  readonly code = 'BAD_IMAGE';
  constructor(message: string) {
    super(message);
  }
}
