/**
 * `tskvm bench [--json FILE] [--runs N]`: the benchmark suite (bench/suite.ts). Prints a table of
 * medians with units and targets on stdout; `--json` also writes every figure with its unit.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { met, runSuite } from '../bench/suite.js';
import { UsageError } from './usage-error.js';

export async function runBench(argv: readonly string[]): Promise<number> {
  let json: string | undefined;
  let runs = 3;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = argv[++i];
    else if (a === '--runs') runs = Number(argv[++i]);
    else throw new UsageError(`bench: unknown option '${a}'`);
  }
  if (json === '') throw new UsageError('--json needs a file name');
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new UsageError('--runs needs a whole number from 1 to 50');
  const machine = `${cpus().length}× ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  process.stdout.write(`tskvm bench — ${new Date().toISOString().slice(0, 10)} — ${machine} — median of ${runs}\n`);
  const rows = await runSuite({ runs, log: (line) => process.stdout.write(`${line}\n`) });
  if (json !== undefined) {
    const doc = { date: new Date().toISOString(), machine, runs, rows: rows.map((r) => ({ ...r, met: met(r) })) };
    writeFileSync(json, JSON.stringify(doc, null, 2) + '\n');
  }
  return 0;
}
