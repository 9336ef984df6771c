/**
 * Prints round-trip latency between this process (VMM side) and a separate device-model process
 * over unix and ws. Times are printed, not asserted (the machine is shared); what is asserted is
 * that every round trip completed with the right answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPingPong, measurePingPong } from './bench-pingpong.js';
import { startDmChild, type DmChild } from './fixtures/spawn-child.js';
import { LIMITS } from './messages.js';
import { connectPeer } from './session.js';

let dm: DmChild;
beforeAll(async () => {
  dm = await startDmChild(LIMITS.FRAME_MAX_DEFAULT);
});
afterAll(async () => {
  await dm.stop();
});

describe('ping-pong between two processes', () => {
  it.each(['unix', 'ws'] as const)('over %s', async (kind) => {
    const { peer } = await connectPeer(kind === 'unix' ? dm.unix : dm.ws, { features: [], log: () => undefined });
    const r = await measurePingPong(peer, { warmup: 300, rounds: 3000, burst: 512 });
    console.log(formatPingPong(`tskvm-dm ping-pong ${kind}`, r));
    expect(peer.stats.requestsSent).toBe(1 + 300 + 512 + 3000 + 512); // hello, warm-up, rounds, burst
    expect(peer.stats.errorRepliesReceived).toBe(0);
    expect(r.minUs).toBeGreaterThan(0);
    expect(r.p50Us).toBeLessThanOrEqual(r.p99Us);
    peer.close();
  });
});
