/**
 * `tskvm run` options: the command-line contract of DESIGN.md, parsed into plain data.
 * Every malformed value is a UsageError naming the flag.
 */
import { UsageError } from './usage-error.js';

export interface DiskOption {
  path: string;
  if: 'ide' | 'virtio';
  readOnly: boolean;
}

export interface RunOptions {
  kernel?: string;
  bios?: string;
  append: string;
  initrd?: string;
  memSize: number;
  serial: string;
  debugExit: number | null;
  debugcon?: { port: number; file?: string };
  disks: DiskOption[];
  console?: { backend: string };
  rng: boolean;
  net: string[];
  pit: 'user' | 'kernel';
  mmu: 'ept' | 'shadow';
  clock: 'host' | 'virtual';
  devices: string;
  stats: null | 'text' | 'json' | { json: string };
  raw?: { load: number; entry: number; mode: 'real' | 'pm32' };
  regs: Record<string, number>;
  trace: boolean;
}

const MiB = 1024 * 1024;

/** "128M", "1G", "65536K", "512" (MiB, as QEMU reads a bare number). */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: '${text}' is not a size (e.g. 128M, 1G)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  const bytes = unit === 'K' ? n * 1024 : unit === 'G' ? n * 1024 * MiB : n * MiB;
  return bytes;
}

/** Decimal or 0x-prefixed hexadecimal integer. */
export function parseNumber(text: string, flag: string, max = 0xffff_ffff): number {
  const t = text.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > max) throw new UsageError(`${flag}: '${text}' is not a number in 0..0x${max.toString(16)}`);
  return n;
}

const FLAGS_WITH_VALUE = new Set([
  '--kernel', '--bios', '--append', '--initrd', '--mem', '--serial', '--debug-exit', '--debugcon', '--disk', '--console',
  '--rng', '--pit', '--mmu', '--clock', '--devices', '--load', '--entry', '--cpu-mode', '--regs', '--net',
]);
const FLAGS_BOOLEAN = new Set(['--stats', '--trace']);

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag}: '${value}' is not one of ${allowed.join(', ')}`);
}

export function parseRunOptions(argv: readonly string[]): RunOptions {
  const o: RunOptions = {
    append: '', memSize: 128 * MiB, serial: 'stdio', debugExit: 0xf4, disks: [], rng: false, net: [], pit: 'user',
    mmu: 'ept', clock: 'host', devices: 'spawn', stats: null, regs: {}, trace: false,
  };
  let load: number | undefined;
  let entry: number | undefined;
  let mode: 'real' | 'pm32' | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    let inline: string | undefined = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    if (flag === '--stats') {
      if (inline === undefined) o.stats = 'text';
      else if (inline === 'json') o.stats = 'json';
      else if (inline.startsWith('json:') && inline.length > 5) o.stats = { json: inline.slice(5) };
      else throw new UsageError(`--stats: '${inline}' is not 'json' or 'json:FILE'`);
      continue;
    }
    if (FLAGS_BOOLEAN.has(flag)) {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value`);
      if (flag === '--trace') o.trace = true;
      continue;
    }
    if (!FLAGS_WITH_VALUE.has(flag)) throw new UsageError(`unknown option '${arg}' (see 'tskvm help')`);
    if (inline === undefined) {
      inline = argv[++i];
      if (inline === undefined) throw new UsageError(`${flag} needs a value`);
    }
    const v = inline;
    switch (flag) {
      case '--kernel': o.kernel = v; break;
      case '--bios': o.bios = v; break;
      case '--append': o.append = v; break;
      case '--initrd': o.initrd = v; break;
      case '--mem': {
        o.memSize = parseSize(v, flag);
        if (o.memSize < 2 * MiB || o.memSize > 3 * 1024 * MiB || o.memSize % 4096 !== 0) {
          throw new UsageError(`--mem: ${v} is outside 2M..3G or not a multiple of 4 KiB`);
        }
        break;
      }
      case '--serial': o.serial = v; break;
      case '--debug-exit': o.debugExit = v === 'none' ? null : parseNumber(v, flag, 0xffff); break;
      case '--debugcon': {
        const [port, ...rest] = v.split(',');
        const dc: { port: number; file?: string } = { port: parseNumber(port ?? '', flag, 0xffff) };
        for (const r of rest) {
          if (r.startsWith('file=') && r.length > 5) dc.file = r.slice(5);
          else throw new UsageError(`--debugcon: unknown option '${r}'`);
        }
        o.debugcon = dc;
        break;
      }
      case '--disk': {
        const [path, ...rest] = v.split(',');
        if (!path) throw new UsageError('--disk needs a file name');
        const d: DiskOption = { path, if: 'ide', readOnly: false };
        for (const r of rest) {
          if (r === 'ro') d.readOnly = true;
          else if (r.startsWith('if=')) d.if = oneOf(r.slice(3), ['ide', 'virtio'] as const, '--disk if');
          else throw new UsageError(`--disk: unknown option '${r}'`);
        }
        o.disks.push(d);
        break;
      }
      case '--console': {
        const [kind, ...rest] = v.split(',');
        oneOf(kind ?? '', ['virtio'] as const, flag);
        o.console = { backend: rest.length > 0 ? rest.join(',') : 'stdio' };
        break;
      }
      case '--rng': oneOf(v, ['virtio'] as const, flag); o.rng = true; break;
      case '--net': o.net.push(v); break;
      case '--pit': o.pit = oneOf(v, ['user', 'kernel'] as const, flag); break;
      case '--mmu': o.mmu = oneOf(v, ['ept', 'shadow'] as const, flag); break;
      case '--clock': o.clock = oneOf(v, ['host', 'virtual'] as const, flag); break;
      case '--devices': {
        if (v !== 'spawn' && !v.startsWith('unix:') && !v.startsWith('ws://')) {
          throw new UsageError(`--devices: '${v}' is not spawn, unix:PATH or ws://HOST:PORT`);
        }
        o.devices = v;
        break;
      }
      case '--load': load = parseNumber(v, flag); break;
      case '--entry': entry = parseNumber(v, flag); break;
      case '--cpu-mode': mode = oneOf(v, ['real', 'pm32'] as const, flag); break;
      case '--regs': {
        for (const kv of v.split(',')) {
          const [name, value] = kv.split('=');
          const reg = oneOf((name ?? '').toLowerCase(), ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp'] as const, '--regs');
          o.regs[reg] = parseNumber(value ?? '', `--regs ${reg}`);
        }
        break;
      }
      default: throw new UsageError(`unknown option '${arg}'`);
    }
  }
  if (o.kernel === undefined && o.bios === undefined) throw new UsageError('run: --kernel FILE or --bios FILE is required');
  // The firmware boots itself from the reset vector; with no fw_cfg it cannot be handed a kernel.
  if (o.kernel !== undefined && o.bios !== undefined) throw new UsageError('run: --bios and --kernel cannot be combined (no fw_cfg to pass a kernel to the firmware)');
  const rawGiven = load !== undefined || entry !== undefined || mode !== undefined;
  if (o.bios !== undefined) {
    const kernelOnly = [o.append !== '' ? '--append' : '', o.initrd !== undefined ? '--initrd' : '', rawGiven ? '--load/--entry/--cpu-mode' : ''].filter((f) => f !== '');
    if (kernelOnly.length > 0) throw new UsageError(`run: ${kernelOnly.join(', ')} cannot be used with --bios (only with --kernel)`);
  }
  if (rawGiven && o.initrd !== undefined) throw new UsageError('run: --initrd needs a multiboot or bzImage kernel, not a raw binary (--load/--entry)');
  if (rawGiven) {
    if (load === undefined || entry === undefined) throw new UsageError('raw images need both --load ADDR and --entry ADDR');
    o.raw = { load, entry, mode: mode ?? 'pm32' };
  }
  return o;
}
