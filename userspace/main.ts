/**
 * `tskvm devices`: the device-model process. Either spawned by the VMM with a socket pair on a
 * file descriptor (`--fd 3`, the default `--devices spawn`), or started on its own and listening
 * on `unix:PATH` or `ws://HOST:PORT` for VMMs to connect (`--listen`). Each connection is one VM.
 */
import { Socket } from 'node:net';
import { UsageError } from '../cli/usage-error.js';
import { listen } from '../protocol/transport.js';
import { UnixTransport } from '../protocol/transport-unix.js';
import { DeviceModelSession } from './device-model.js';

interface DevicesArgs {
  listen?: string;
  fd?: number;
  once: boolean;
}

function parseArgs(argv: readonly string[]): DevicesArgs {
  const a: DevicesArgs = { once: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--listen') a.listen = value();
    else if (flag === '--fd') {
      const fd = Number(value());
      if (!Number.isInteger(fd) || fd < 3) throw new UsageError('--fd needs a file descriptor number ≥ 3');
      a.fd = fd;
    } else if (flag === '--once') a.once = true;
    else throw new UsageError(`devices: unknown option '${arg}'`);
  }
  if ((a.listen === undefined) === (a.fd === undefined)) throw new UsageError('devices: give exactly one of --listen unix:PATH|ws://HOST:PORT or --fd N');
  return a;
}

export async function runDevicesCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.fd !== undefined) {
    const socket = new Socket({ fd: args.fd, readable: true, writable: true });
    const session = new DeviceModelSession(new UnixTransport(socket, { description: `fd ${args.fd}` }));
    await session.closed;
    return 0;
  }
  let sessions = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const listener = await listen(args.listen as string, (transport) => {
    sessions++;
    const session = new DeviceModelSession(transport);
    void session.closed.then(() => {
      sessions--;
      if (args.once) done();
    });
  });
  process.stderr.write(`tskvm devices: listening on ${listener.address}\n`);
  const stop = (): void => done();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await finished;
  await listener.close();
  return 0;
}
