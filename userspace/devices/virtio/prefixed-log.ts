/**
 * A rate-limited log (userspace/bus/once-log.ts) whose lines name the device they come from,
 * e.g. "virtio-blk@0xd0000000: IOERR: write to a read-only disk".
 */
import { OnceLog, type LogSink } from '../../bus/once-log.js';

/** OnceLog for `name`; silent without a sink, like every device log. */
export function deviceLog(name: string, sink: LogSink | undefined): OnceLog {
  return new OnceLog(sink ? (message) => sink(`${name}: ${message}`) : undefined);
}
