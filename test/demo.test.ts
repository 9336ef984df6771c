/**
 * `npm start` (= `tskvm demo`): the demo guest on the two-process pair, then the exit-statistics
 * table and the full-vs-para comparison, in well under 30 s and with no files left behind.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, TSKVM } from './support/tskvm.js';

const tmp = mkdtempSync(join(tmpdir(), 'tskvm-demo-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function runDemo(): Promise<{ status: number | null; stdout: string; stderr: string }> {
  // TMPDIR points at an empty folder: whatever the demo creates there must be gone at the end.
  const child = spawn(process.execPath, [TSKVM, 'demo'], { cwd: REPO, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    }),
  );
}

/** The number in a table row's column (the demo prints right-aligned columns). */
function column(text: string, row: string, index: number): number {
  const line = text.split('\n').find((l) => l.trimStart().startsWith(row));
  if (line === undefined) throw new Error(`no row '${row}' in:\n${text}`);
  const cells = line.slice(line.indexOf(row) + row.length).trim().split(/\s+/);
  return Number.parseFloat(cells[index] ?? 'NaN');
}

describe('tskvm demo', () => {
  it('boots the demo guest, prints the exit table and the full-vs-para comparison, and cleans up', async () => {
    const r = await runDemo();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('demo: all done, exiting through port 0xf4');
    expect(r.stdout).toMatch(/Exit statistics: \d+ guest instructions, \d+ VM exits in \d+ ms/);
    expect(r.stdout).toMatch(/exit reason +handled in kernel +forwarded to device model/);
    expect(column(r.stdout, 'IO_INSTRUCTION', 1)).toBeGreaterThan(0); // forwarded port I/O
    // virtio is faster on both paths and needs far fewer exits per MiB
    expect(column(r.stdout, 'console throughput (MiB/s)', 2)).toBeGreaterThan(1);
    expect(column(r.stdout, 'disk 4 KiB write+read (MiB/s)', 2)).toBeGreaterThan(1);
    expect(column(r.stdout, 'disk exits per MiB', 1)).toBeLessThan(column(r.stdout, 'disk exits per MiB', 0));
    expect(readdirSync(tmp)).toEqual([]);
  }, 40_000);
});
