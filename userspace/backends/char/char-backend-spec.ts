import { CharBackendError, CharBackendErrorCode } from './char-backend-error.js';

/**
 * A parsed `--serial`/`--console`/`--debugcon` backend spec (DESIGN.md "Command line"):
 * `stdio`, `null`, `file:PATH`, `unix:PATH[,server]`, `ws:PORT`.
 */
export type CharBackendSpec =
  | { kind: 'stdio' }
  | { kind: 'null' }
  | { kind: 'file'; path: string }
  | { kind: 'unix'; path: string; server: boolean }
  | { kind: 'ws'; port: number };

const MAX_TCP_PORT = 0xffff;

function bad(spec: string, why: string): CharBackendError {
  return new CharBackendError(
    CharBackendErrorCode.badBackend,
    `bad char backend '${spec}': ${why} (expected stdio, null, file:PATH, unix:PATH[,server] or ws:PORT)`,
  );
}

/** Parse a backend spec; malformed specs throw CharBackendError with code BAD_BACKEND. */
export function parseCharBackendSpec(spec: string): CharBackendSpec {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? undefined : spec.slice(colon + 1);
  switch (kind) {
    case 'stdio':
    case 'null':
      if (rest !== undefined) throw bad(spec, `${kind} takes no argument`);
      return { kind };
    case 'file':
      if (rest === undefined || rest === '') throw bad(spec, 'file needs a path');
      return { kind: 'file', path: rest };
    case 'unix': {
      if (rest === undefined || rest === '') throw bad(spec, 'unix needs a socket path');
      const parts = rest.split(',');
      const path = parts[0] ?? '';
      if (path === '') throw bad(spec, 'unix needs a socket path');
      const options = parts.slice(1);
      for (const option of options) if (option !== 'server') throw bad(spec, `unknown unix option '${option}'`);
      return { kind: 'unix', path, server: options.length > 0 };
    }
    case 'ws': {
      if (rest === undefined || !/^\d+$/.test(rest)) throw bad(spec, 'ws needs a port number');
      const port = Number(rest);
      if (port > MAX_TCP_PORT) throw bad(spec, `port ${port} is out of range`);
      return { kind: 'ws', port };
    }
    default:
      throw bad(spec, kind === '' ? 'empty spec' : `unknown kind '${kind}'`);
  }
}
