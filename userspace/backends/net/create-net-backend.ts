/**
 * Build a NetBackend from its command-line spelling: `loopback` or `hub:ws://HOST:PORT`.
 */
import { LoopbackNetBackend } from './loopback.js';
import { NET_BACKEND_ERROR, NetBackendError, type NetBackend } from './net-backend.js';

/** The accepted forms, for error messages and --help. */
export const NET_BACKEND_SPECS = ['loopback', 'hub:ws://HOST:PORT'] as const;

const HUB_PREFIX = 'hub:';

/** Create the backend `spec` names; rejects with NetBackendError (code NET_BAD_SPEC, NET_HUB_UNREACHABLE). */
export async function createNetBackend(spec: string): Promise<NetBackend> {
  if (spec === 'loopback') return new LoopbackNetBackend();
  if (spec.startsWith(HUB_PREFIX)) {
    const url = spec.slice(HUB_PREFIX.length);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw badSpec(spec, `"${url}" is not a URL`);
    }
    if ((parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') || parsed.hostname === '' || parsed.port === '') {
      throw badSpec(spec, 'the hub address must be ws://HOST:PORT');
    }
    const { HubNetBackend } = await import('./hub-backend.js'); // loads ws only when a hub is used
    return HubNetBackend.connect(url);
  }
  throw badSpec(spec, `expected one of: ${NET_BACKEND_SPECS.join(', ')}`);
}

function badSpec(spec: string, why: string): NetBackendError {
  return new NetBackendError(NET_BACKEND_ERROR.BAD_SPEC, `invalid net backend "${spec}": ${why}`);
}
