/**
 * `--clock virtual` (DESIGN.md "Time"): timer interrupts arrive at deterministic points of guest
 * execution although the PIT may live in another process, so two runs of a timer guest give
 * byte-identical output and identical exit counts — with the PIT in the device model or in the
 * kernel, and with the same transcript either way.
 */
import { describe, expect, it } from 'vitest';
import { guestImagePath, readExpected } from '../guests/catalog.js';
import { runTskvm } from './support/tskvm.js';

/** Everything but the host-dependent counters (event-loop yields, wall time in the guest). */
function guestVisibleStats(stderr: string): unknown {
  const s = JSON.parse(stderr.trim().split('\n').pop() as string);
  const v = s.vcpus[0];
  const { host_yields: _hostYields, guest_ns: _guestNs, ...stats } = v.stats;
  return { stats, exitReasons: v.exitReasons, vm: s.vm };
}

const TIMER_GUESTS = ['dev-pic-pit', 'dev-uart', 'cpu-system'] as const;

describe('virtual clock determinism', () => {
  for (const name of TIMER_GUESTS) {
    for (const pit of ['user', 'kernel']) {
      it(`${name} --pit ${pit}: two runs, same bytes and exit counts`, async () => {
        const args = ['run', '--clock', 'virtual', '--pit', pit, '--kernel', guestImagePath(name), '--stats=json'];
        const a = await runTskvm(args);
        const b = await runTskvm(args);
        expect(a.stdout.equals(b.stdout)).toBe(true);
        expect(a.status).toBe(b.status);
        expect(guestVisibleStats(a.stderr)).toEqual(guestVisibleStats(b.stderr));
        expect(a.stdout.toString('latin1')).toBe(Buffer.from(readExpected(name).output).toString('latin1'));
      });
    }
  }
});
