/** `tskvm bench`: the benchmark suite (being built; see issue 7). */
import { UsageError } from './usage-error.js';

export async function runBench(_argv: readonly string[]): Promise<number> {
  throw new UsageError('bench: not available in this build yet');
}
