/**
 * The device-model process `tskvm run` spawns by default: `tskvm devices --fd 3`, where fd 3 is
 * a socketpair (no socket file to clean up, and the child sees EOF if the VMM dies). Kept apart
 * from device-link.ts so the CLI can start it before loading the kernel modules: the two
 * processes then start up in parallel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function spawnDeviceModel(): ChildProcess {
  const cli = fileURLToPath(new URL('../../cli/tskvm.js', import.meta.url));
  return spawn(process.execPath, [cli, 'devices', '--fd', '3'], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
}
