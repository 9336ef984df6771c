/**
 * The real device-model process (`tskvm devices --listen ADDRESS [--once]`, DESIGN.md "Command
 * line"), started from the built CLI the way a user starts it, for qtest-style tests (QEMU
 * tests/qtest/libqtest.c `qtest_init`: spawn the emulator, find its socket, kill it at the end).
 * It owns the child process: where it listens, what it printed, how it ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The launcher in the repository (it runs the compiled CLI from dist/). */
export const TSKVM_BIN = fileURLToPath(new URL('../../bin/tskvm.js', import.meta.url));
/** Working directory of the child: the repository root. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The line the device model prints on stderr once it accepts connections (userspace/main.ts). */
const LISTENING_LINE = /listening on (\S+)/;
/** How long a device model may take to start listening (a cold Node start on a busy machine). */
export const START_TIMEOUT_MS = 20_000;

/** What Node prints when dist/ is being rewritten under a starting process (missing export or module). */
const BUILD_IN_PROGRESS = /does not provide an export named|ERR_MODULE_NOT_FOUND|Cannot find module|SyntaxError/;
/** Retries of a start that hit BUILD_IN_PROGRESS, and the pause between them. */
const BUILD_RETRY = { ATTEMPTS: 4, DELAY_MS: 1_500 } as const;

/** Which transport the device model listens on. */
export type ListenKind = 'unix' | 'ws';

/** Options of DeviceModelProcess.start. */
export interface DeviceModelProcessOptions {
  /** `unix` (a socket in a fresh temp dir, the default) or `ws` (127.0.0.1, any free port). */
  listen?: ListenKind;
  /** Pass `--once`: the process exits after its first connection closes (default true). */
  once?: boolean;
  startTimeoutMs?: number;
}

/** How the child ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Typed host failure of the harness itself (tier 2): the process could not be started. */
export class DeviceModelStartError extends Error {
  readonly code = 'DM_START_FAILED';
}

/** A running `tskvm devices` child process. */
export class DeviceModelProcess {
  /** Resolves once, when the child has exited. */
  readonly exited: Promise<ProcessExit>;
  private exitValue: ProcessExit | undefined;
  private readonly stdoutChunks: Buffer[] = [];
  private stderrText = '';

  private constructor(
    readonly child: ChildProcess,
    /** The address it listens on, as it printed it (`unix:/…` or `ws://127.0.0.1:PORT`). */
    readonly address: string,
    private readonly tempDir: string | undefined,
    exited: Promise<ProcessExit>,
  ) {
    this.exited = exited;
    void exited.then((e) => {
      this.exitValue = e;
      if (this.tempDir !== undefined) rmSync(this.tempDir, { recursive: true, force: true });
    });
    child.stdout?.on('data', (b: Buffer) => this.stdoutChunks.push(b));
    child.stderr?.on('data', (b: Buffer) => (this.stderrText += b.toString('utf8')));
  }

  /**
   * Spawn the device model and wait until it says where it listens. A start that dies of an ES
   * module link error is retried a few times: in a shared work tree, dist/ may be half rebuilt by
   * a concurrent `tsc` at that moment. A build that stays broken still fails, with its message.
   */
  static async start(options: DeviceModelProcessOptions = {}): Promise<DeviceModelProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await DeviceModelProcess.startOnce(options);
      } catch (e) {
        const linkError = e instanceof DeviceModelStartError && BUILD_IN_PROGRESS.test(e.message);
        if (!linkError || attempt >= BUILD_RETRY.ATTEMPTS) throw e;
        await new Promise((resolve) => setTimeout(resolve, BUILD_RETRY.DELAY_MS));
      }
    }
  }

  private static async startOnce(options: DeviceModelProcessOptions): Promise<DeviceModelProcess> {
    const kind = options.listen ?? 'unix';
    const tempDir = kind === 'unix' ? mkdtempSync(join(tmpdir(), 'tskvm-qtest-')) : undefined;
    const listen = tempDir !== undefined ? `unix:${join(tempDir, 'dm.sock')}` : 'ws://127.0.0.1:0';
    const args = [TSKVM_BIN, 'devices', '--listen', listen, ...(options.once ?? true ? ['--once'] : [])];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    // 'close' rather than 'exit': by then stdout and stderr have been read to the end.
    const exited = new Promise<ProcessExit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    let early = '';
    const onData = (b: Buffer): void => {
      early += b.toString('utf8');
    };
    child.stderr?.on('data', onData);
    const timeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const check = (): void => {
          const m = LISTENING_LINE.exec(early);
          if (m?.[1] !== undefined) resolve(m[1]);
        };
        child.stderr?.on('data', check);
        child.once('error', (e) => reject(new DeviceModelStartError(`cannot spawn the device model: ${e.message}`)));
        void exited.then((e) => reject(new DeviceModelStartError(`device model exited before listening (${e.code ?? e.signal}): ${early.trim()}`)));
        timer = setTimeout(() => reject(new DeviceModelStartError(`device model did not listen within ${timeoutMs} ms: ${early.trim()}`)), timeoutMs);
      });
      child.stderr?.off('data', onData);
      const dm = new DeviceModelProcess(child, address, tempDir, exited);
      dm.stderrText = early;
      return dm;
    } catch (e) {
      child.kill('SIGKILL');
      await exited;
      if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
      throw e;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** Process id of the child. */
  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('assertion: a started device model has a pid');
    return pid;
  }

  /** True until the child has exited. */
  get alive(): boolean {
    return this.exitValue === undefined;
  }

  /** How it ended (undefined while running). */
  get exit(): ProcessExit | undefined {
    return this.exitValue;
  }

  /** Everything the child wrote to stdout so far (e.g. a `stdio` serial backend's bytes). */
  get stdout(): Buffer {
    return Buffer.concat(this.stdoutChunks);
  }

  /** Everything the child wrote to stderr so far. */
  get stderr(): string {
    return this.stderrText;
  }

  /** Send `signal` (default SIGKILL) and wait for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessExit> {
    if (this.alive) this.child.kill(signal);
    return this.exited;
  }

  /** Wait for the exit, killing the child if it takes longer than `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<ProcessExit> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
