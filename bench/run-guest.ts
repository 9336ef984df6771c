/**
 * Runs one guest on the real two-process pair (the built CLI in a child process) and returns
 * its wall time, its COM1 output and the VMM's --stats JSON, for the benchmark rows.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StatsJson } from '../kernel/vmm/stats-report.js';

export const TSKVM_BIN = fileURLToPath(new URL('../../bin/tskvm.js', import.meta.url));
export const GUEST_IMAGES = fileURLToPath(new URL('../../guests/images/', import.meta.url));

export interface GuestRun {
  status: number | null;
  wallMs: number;
  /** Milliseconds from spawning `tskvm run` to the first byte on COM1 (stdout), or -1. */
  firstByteMs: number;
  stdout: Buffer;
  stderr: string;
  stats: StatsJson;
}

/** Typed error: the guest did not run as a benchmark must (bad status, no stats). */
export class BenchRunError extends Error {
  readonly code = 'BENCH_RUN';
}

export async function runGuest(args: readonly string[], timeoutMs = 300_000): Promise<GuestRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tskvm-bench-'));
  const statsFile = join(dir, 'stats.json');
  try {
    const t0 = performance.now();
    const child = spawn(process.execPath, [TSKVM_BIN, 'run', ...args, `--stats=json:${statsFile}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let firstByteMs = -1;
    child.stdout.on('data', (b: Buffer) => {
      if (firstByteMs < 0) firstByteMs = performance.now() - t0;
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    clearTimeout(timer);
    const wallMs = performance.now() - t0;
    const stderr = Buffer.concat(err).toString();
    let stats: StatsJson;
    try {
      stats = JSON.parse(readFileSync(statsFile, 'utf8')) as StatsJson;
    } catch {
      throw new BenchRunError(`tskvm run ${args.join(' ')} gave no statistics (status ${status}): ${stderr.trim().split('\n').pop() ?? ''}`);
    }
    return { status, wallMs, firstByteMs, stdout: Buffer.concat(out), stderr, stats };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
