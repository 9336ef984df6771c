import type { Readable, Writable } from 'node:stream';
import type { CharBackend } from '../../bus/device.js';
import { InputRelay } from './input-relay.js';
import { StreamSink } from './stream-sink.js';

/** QEMU's mux escape: Ctrl-A, then a command key. */
export const STDIO_ESCAPE = {
  PREFIX: 0x01, // Ctrl-A
  QUIT: 0x78, // 'x'
} as const;

/** Signals after which the terminal must not be left in raw mode. */
const RESTORE_SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'] as const;

/** A TTY input stream as Node gives it (process.stdin when it is a terminal). */
interface TtyInput extends Readable {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?: (mode: boolean) => unknown;
}

/** Construction parameters of a StdioCharBackend (all optional: the default is the process's stdio). */
export interface StdioCharBackendOptions {
  input?: TtyInput;
  output?: Writable;
  /** Ctrl-A x on a TTY calls this (QEMU's mux quit). Without it, Ctrl-A is passed through like any byte. */
  onEscapeQuit?: () => void;
  /** One-line diagnostics (broken pipe). */
  log?: (message: string) => void;
}

/**
 * `stdio`: guest output to stdout, byte for byte and in order; input from stdin, in raw mode when
 * stdin is a terminal (so Ctrl-C reaches the guest as 0x03), restored on close, on process exit
 * and on fatal signals. With `onEscapeQuit`, Ctrl-A x quits and Ctrl-A Ctrl-A sends one Ctrl-A.
 */
export class StdioCharBackend implements CharBackend {
  private readonly input: TtyInput;
  private readonly output: Writable;
  private readonly sink: StreamSink;
  private readonly relay = new InputRelay();
  private readonly onEscapeQuit: (() => void) | undefined;
  private rawModeSet = false;
  private escapePending = false;
  private closed = false;
  private readonly onData = (chunk: Buffer | string): void => this.handleInput(chunk);
  private readonly onExit = (): void => this.emergencyRestore();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.emergencyRestore();
    // Re-raise only if nobody else handles the signal, so its default action still happens.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  constructor(options: StdioCharBackendOptions = {}) {
    this.input = options.input ?? (process.stdin as TtyInput);
    this.output = options.output ?? process.stdout;
    this.onEscapeQuit = options.onEscapeQuit;
    const log = options.log;
    this.sink = new StreamSink(this.output, (error) => log?.(`stdio backend: output stopped: ${error.message}`));
    process.on('exit', this.onExit);
  }

  write(data: Uint8Array): void {
    if (!this.closed) this.sink.write(data);
  }

  onInput(listener: (data: Uint8Array) => void): void {
    this.relay.setListener(listener);
    if (this.closed) return;
    if (this.input.isTTY && this.input.setRawMode !== undefined && !this.input.isRaw) {
      this.input.setRawMode(true);
      this.rawModeSet = true;
      for (const signal of RESTORE_SIGNALS) process.once(signal, this.onSignal);
    }
    this.input.on('data', this.onData);
    this.input.resume();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.pause();
    this.restoreTerminal();
    process.off('exit', this.onExit);
    await this.sink.close(false);
  }

  private handleInput(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    if (!this.rawModeSet || this.onEscapeQuit === undefined) {
      this.relay.deliver(new Uint8Array(bytes));
      return;
    }
    const out: number[] = [];
    for (const byte of bytes) {
      if (this.escapePending) {
        this.escapePending = false;
        if (byte === STDIO_ESCAPE.QUIT) {
          this.relay.deliver(Uint8Array.from(out));
          this.onEscapeQuit();
          return;
        }
        // Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A and another key send both.
        if (byte !== STDIO_ESCAPE.PREFIX) out.push(STDIO_ESCAPE.PREFIX);
        out.push(byte);
      } else if (byte === STDIO_ESCAPE.PREFIX) {
        this.escapePending = true;
      } else {
        out.push(byte);
      }
    }
    this.relay.deliver(Uint8Array.from(out));
  }

  private restoreTerminal(): void {
    if (!this.rawModeSet) return;
    this.rawModeSet = false;
    this.input.setRawMode?.(false);
    for (const signal of RESTORE_SIGNALS) process.off(signal, this.onSignal);
  }

  /**
   * On exit or a fatal signal: leave the terminal usable and hand pending output to stdout. On
   * Linux, process.stdout writes to files, pipes and terminals are synchronous, so they land now.
   */
  private emergencyRestore(): void {
    this.restoreTerminal();
    this.sink.flush();
  }
}
