/**
 * Runs the real `tskvm` command as a separate process (the built CLI in dist/), the way a user
 * or an outside test would, and collects stdout bytes, stderr text and the exit status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const TSKVM = fileURLToPath(new URL('../../bin/tskvm.js', import.meta.url));
export const GUESTS = fileURLToPath(new URL('../../guests/', import.meta.url));

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

export interface Started {
  child: ChildProcess;
  done: Promise<RunResult>;
}

/** Start `tskvm ...args`; `done` resolves when it exits (or is killed after `timeoutMs`). */
export function startTskvm(args: string[], options: { timeoutMs?: number; stdin?: string } = {}): Started {
  const t0 = Date.now();
  const child = spawn(process.execPath, [TSKVM, ...args], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  else child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const done = new Promise<RunResult>((resolve) => {
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - t0 });
    });
  });
  return { child, done };
}

export function runTskvm(args: string[], options: { timeoutMs?: number; stdin?: string } = {}): Promise<RunResult> {
  return startTskvm(args, options).done;
}

/** stderr lines, without the empty last one. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0);
}
