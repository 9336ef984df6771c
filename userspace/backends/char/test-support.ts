/** Wait until `condition` holds, polling on the event loop; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('waitFor: condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Collects the chunks a CharBackend delivers as input. */
export class InputCollector {
  readonly chunks: Uint8Array[] = [];
  readonly listener = (data: Uint8Array): void => {
    this.chunks.push(data.slice());
  };
  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}
