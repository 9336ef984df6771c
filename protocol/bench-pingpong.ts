/**
 * Round-trip micro-benchmark of the protocol (protocol/README.md §13): sequential round trips of
 * the smallest synchronous request — a 1-byte pioRead, what every unclaimed guest `in al, dx`
 * costs — and a pipelined burst that shows the effect of write coalescing. Usable from a test,
 * from `tskvm bench`, or against any connected Peer.
 */
import type { Peer } from './peer.js';

/** Results in microseconds per round trip. */
export interface PingPongResult {
  rounds: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  minUs: number;
  /** Mean cost per request when `burst` requests are outstanding at once. */
  pipelinedUs: number;
  burst: number;
}

/** Options: counts of warm-up and measured rounds, and the pipelined burst size. */
export interface PingPongOptions {
  warmup?: number;
  rounds?: number;
  burst?: number;
  /** Port of the 1-byte pioRead used as the probe (the device model must answer it). */
  port?: number;
}

const NS_PER_US = 1000;

function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length));
  return sorted[i] ?? Number.NaN;
}

/** Measure round trips of `peer` (the VMM side of an open connection). */
export async function measurePingPong(peer: Peer, options: PingPongOptions = {}): Promise<PingPongResult> {
  const warmup = options.warmup ?? 200;
  const rounds = options.rounds ?? 2000;
  const burst = options.burst ?? 256;
  const probe = { type: 'pioRead', port: options.port ?? 0x60, size: 1, count: 1 } as const;
  // Warm both code paths on both sides (the JIT): sequential and pipelined.
  for (let i = 0; i < warmup; i++) await peer.request(probe);
  await Promise.all(Array.from({ length: burst }, () => peer.request(probe)));
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    await peer.request(probe);
    samples.push(Number(process.hrtime.bigint() - t0) / NS_PER_US);
  }
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: burst }, () => peer.request(probe)));
  const pipelinedUs = Number(process.hrtime.bigint() - t0) / NS_PER_US / burst;
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    rounds,
    meanUs: samples.reduce((a, b) => a + b, 0) / samples.length,
    p50Us: percentile(sorted, 50),
    p99Us: percentile(sorted, 99),
    minUs: sorted[0] ?? Number.NaN,
    pipelinedUs,
    burst,
  };
}

/** One line for humans. */
export function formatPingPong(label: string, r: PingPongResult): string {
  const f = (x: number): string => x.toFixed(1);
  return `${label}: ${r.rounds} round trips, mean ${f(r.meanUs)} µs, p50 ${f(r.p50Us)} µs, p99 ${f(r.p99Us)} µs, min ${f(r.minUs)} µs; pipelined ×${r.burst}: ${f(r.pipelinedUs)} µs/request`;
}
