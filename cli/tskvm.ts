/**
 * tskvm command line: parse, build, run. Subcommands: run, devices, bench, demo, help.
 * User errors print one line on stderr and exit with the contract's status; never a stack trace.
 */
import { EXIT_STATUS } from './exit-status.js';
import { UsageError } from './usage-error.js';

const HELP = `usage:
  tskvm run --kernel FILE [--append STR] [--initrd FILE] [--mem SIZE]
            [--serial stdio|null|file:PATH|unix:PATH[,server]|ws:PORT] [--debug-exit PORT|none]
            [--debugcon PORT[,file=PATH]] [--disk FILE[,if=virtio|ide][,ro]]
            [--console virtio[,BACKEND]] [--rng virtio] [--net hub:ws://HOST:PORT|loopback]
            [--pit user|kernel] [--mmu ept|shadow] [--clock host|virtual]
            [--devices spawn|unix:PATH|ws://HOST:PORT] [--stats[=json|=json:FILE]]
  tskvm run --bios FILE [--mem SIZE] [--serial ...] [...]   firmware instead of --kernel
            ROM of 64 KiB..16 MiB (a multiple of 64 KiB), read-only at the top of 4 GiB and its
            last 128 KiB below 1 MiB; starts at the reset vector F000:FFF0 in real mode
  tskvm run --kernel FILE --load ADDR --entry ADDR --cpu-mode real|pm32 [--regs eax=2,ebx=2]
  tskvm devices --listen unix:PATH|ws://HOST:PORT
  tskvm hub --listen PORT                 Ethernet hub for --net hub:ws://127.0.0.1:PORT
  tskvm bench [--json FILE]
  tskvm demo
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': {
      const { parseRunOptions } = await import('./run-options.js');
      const options = parseRunOptions(rest);
      // Start the device model first: its start-up overlaps loading the kernel modules (~100 ms).
      const spawned = options.devices === 'spawn' ? (await import('../kernel/vmm/device-process.js')).spawnDeviceModel() : undefined;
      const { runVm } = await import('../kernel/vmm/run-vm.js');
      return runVm(options, spawned);
    }
    case 'devices': {
      const { runDevicesCommand } = await import('../userspace/main.js');
      return runDevicesCommand(rest);
    }
    case 'hub': {
      const { runHubCommand } = await import('./hub-command.js');
      return runHubCommand(rest);
    }
    case 'bench': {
      const { runBench } = await import('./bench.js');
      return runBench(rest);
    }
    case 'demo': {
      const { runDemo } = await import('./demo.js');
      return runDemo(rest);
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    case undefined:
      throw new UsageError('no command given (run, devices, hub, bench, demo, help)');
    default:
      throw new UsageError(`unknown command '${command}' (run, devices, hub, bench, demo, help)`);
  }
}

/** Map an error to its one-line message and exit status; unexpected errors are host failures. */
export function reportError(err: unknown): number {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (err instanceof UsageError) {
    process.stderr.write(`tskvm: ${message}\n`);
    return EXIT_STATUS.usage;
  }
  if (e?.code === 'BAD_IMAGE') {
    process.stderr.write(`tskvm: ${message}\n`);
    return EXIT_STATUS.badImage;
  }
  process.stderr.write(`tskvm: ${message}\n`);
  if (process.env['TSKVM_DEBUG']) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  return EXIT_STATUS.hostFailure;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => process.exit(reportError(err)),
);
