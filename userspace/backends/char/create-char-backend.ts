import type { CharBackend } from '../../bus/device.js';
import { parseCharBackendSpec, type CharBackendSpec } from './char-backend-spec.js';
import { FileCharBackend } from './file-char-backend.js';
import { NullCharBackend } from './null-char-backend.js';
import { StdioCharBackend, type StdioCharBackendOptions } from './stdio-char-backend.js';
import { UnixClientCharBackend } from './unix-client-char-backend.js';
import { UnixServerCharBackend } from './unix-server-char-backend.js';

/** Host-side hooks a backend may need. */
export interface CreateCharBackendOptions {
  /** Passed to the stdio backend (Ctrl-A x, alternative streams). */
  stdio?: StdioCharBackendOptions;
  log?: (message: string) => void;
}

/**
 * Build the CharBackend a spec names (`stdio`, `null`, `file:PATH`, `unix:PATH[,server]`,
 * `ws:PORT`). A malformed spec rejects with CharBackendError BAD_BACKEND; a resource that cannot
 * be opened rejects with BACKEND_OPEN. Resolves once sockets are connected or listening.
 */
export async function createCharBackend(spec: string | CharBackendSpec, options: CreateCharBackendOptions = {}): Promise<CharBackend> {
  const parsed = typeof spec === 'string' ? parseCharBackendSpec(spec) : spec;
  switch (parsed.kind) {
    case 'stdio': {
      const stdio: StdioCharBackendOptions = { ...options.stdio };
      if (options.log !== undefined && stdio.log === undefined) stdio.log = options.log;
      return new StdioCharBackend(stdio);
    }
    case 'null':
      return new NullCharBackend();
    case 'file':
      return new FileCharBackend(parsed.path, options.log);
    case 'unix':
      return parsed.server ? UnixServerCharBackend.listen(parsed.path) : UnixClientCharBackend.connect(parsed.path);
    case 'ws': {
      // Loaded on demand: the ws package costs start-up time for every other backend.
      const { WsCharBackend } = await import('./ws-char-backend.js');
      return WsCharBackend.listen(parsed.port);
    }
    default:
      return assertNever(parsed);
  }
}

function assertNever(value: never): never {
  throw new Error(`assertion failed: unexpected char backend ${JSON.stringify(value)}`);
}
