/** `tskvm demo` (npm start): boots the demo guest (being built; see issue 7). */
import { UsageError } from './usage-error.js';

export async function runDemo(_argv: readonly string[]): Promise<number> {
  throw new UsageError('demo: not available in this build yet');
}
