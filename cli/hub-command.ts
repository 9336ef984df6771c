/**
 * `tskvm hub --listen PORT`: the Ethernet hub that joins VMs' virtio-net devices
 * (`--net hub:ws://127.0.0.1:PORT`); every frame from one VM goes to all the others.
 */
import { startHub } from '../userspace/backends/net/net-hub.js';
import { UsageError } from './usage-error.js';

export async function runHubCommand(argv: readonly string[]): Promise<number> {
  if (argv.length !== 2 || argv[0] !== '--listen') throw new UsageError('usage: tskvm hub --listen PORT');
  const port = Number(argv[1]);
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new UsageError(`hub: '${argv[1]}' is not a port number`);
  const hub = await startHub(port);
  process.stderr.write(`tskvm hub: listening on ws://127.0.0.1:${hub.port}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await hub.close();
  return 0;
}
