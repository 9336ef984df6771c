/**
 * `--stats`: KVM-named statistics and the per-exit-reason split (handled in the kernel vs
 * forwarded to userspace), as a table on stderr or as JSON (stderr or a file).
 */
import { writeFileSync } from 'node:fs';
import type { Vm } from '../kvm/vm.js';
import { EXIT_REASON_NAMES } from '../kvm/vmx-consts.js';

export interface StatsJson {
  vm: Record<string, number>;
  /** The VMM process's memory: resident set, and host-physical frames in use (RAM + tables). */
  memory: { rssBytes: number; hostFramesBytes: number; guestRamResidentBytes: number };
  vcpus: Array<{ id: number; instructions: number; stats: Record<string, number>; exitReasons: Record<string, { inKernel: number; userspace: number }> }>;
  /** Wall time from the first KVM_RUN to the stop, in milliseconds. */
  runMs: number;
  /** EPT page-structure references made by the hardware walker (the 2-D walk statistic). */
  eptWalk: { walks: number; references: number };
  deviceModel: Record<string, number>;
  /** The device model's own counters (bus misses, per-device statistics), by name. */
  devices: Record<string, number>;
}

export function collectStats(vm: Vm, link: Record<string, number>, runMs: number, devices: Record<string, number> = {}): StatsJson {
  const walk = { walks: 0, references: 0 };
  for (const v of vm.vcpus) {
    walk.walks += v.vmx.hooks.eptStats.walks;
    walk.references += v.vmx.hooks.eptStats.references;
  }
  return {
    runMs,
    eptWalk: walk,
    vm: { ...vm.stats },
    memory: {
      rssBytes: process.memoryUsage().rss,
      hostFramesBytes: vm.hostMem.framesInUse * 4096,
      guestRamResidentBytes: vm.hostSpace.residentPages * 4096,
    },
    vcpus: vm.vcpus.map((v) => {
      const exitReasons: Record<string, { inKernel: number; userspace: number }> = {};
      for (let r = 0; r < v.exitCounts.inKernel.length; r++) {
        const k = v.exitCounts.inKernel[r]!;
        const u = v.exitCounts.toUser[r]!;
        if (k || u) exitReasons[EXIT_REASON_NAMES[r] ?? `REASON_${r}`] = { inKernel: k, userspace: u };
      }
      return { id: v.id, instructions: v.cpu.instructionCount, stats: { ...v.stats }, exitReasons };
    }),
    deviceModel: { ...link },
    devices: { ...devices },
  };
}

export function formatStats(s: StatsJson): string {
  const lines: string[] = [];
  for (const v of s.vcpus) {
    lines.push(`vcpu ${v.id} statistics:`);
    lines.push(`  ${'instructions'.padEnd(22)} ${String(v.instructions).padStart(12)}`);
    for (const [name, value] of Object.entries(v.stats)) if (value) lines.push(`  ${name.padEnd(22)} ${String(value).padStart(12)}`);
    lines.push(`  ${'exit reason'.padEnd(22)} ${'in kernel'.padStart(12)} ${'to userspace'.padStart(13)}`);
    for (const [name, c] of Object.entries(v.exitReasons)) {
      lines.push(`  ${name.padEnd(22)} ${String(c.inKernel).padStart(12)} ${String(c.userspace).padStart(13)}`);
    }
  }
  lines.push(`run time ${s.runMs.toFixed(1)} ms; EPT walks ${s.eptWalk.walks}, page-structure references ${s.eptWalk.references}`);
  lines.push('vm statistics:');
  for (const [name, value] of Object.entries(s.vm)) if (value) lines.push(`  ${name.padEnd(22)} ${String(value).padStart(12)}`);
  lines.push('memory:');
  for (const [name, value] of Object.entries(s.memory)) lines.push(`  ${name.padEnd(22)} ${String(Math.round(value / 1024)).padStart(9)} KiB`);
  lines.push('device model link:');
  for (const [name, value] of Object.entries(s.deviceModel)) lines.push(`  ${name.padEnd(22)} ${String(value).padStart(12)}`);
  lines.push('device model counters:');
  for (const [name, value] of Object.entries(s.devices)) if (value) lines.push(`  ${name.padEnd(34)} ${String(value).padStart(12)}`);
  return lines.join('\n') + '\n';
}

export function reportStats(mode: 'text' | 'json' | { json: string }, vm: Vm, link: Record<string, number>, runMs: number, devices: Record<string, number>): void {
  const s = collectStats(vm, link, runMs, devices);
  if (mode === 'text') process.stderr.write(formatStats(s));
  else if (mode === 'json') process.stderr.write(JSON.stringify(s) + '\n');
  else writeFileSync(mode.json, JSON.stringify(s, null, 2) + '\n');
}
