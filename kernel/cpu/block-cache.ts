/**
 * The block cache: hot basic blocks of 32-bit code run as JavaScript functions translated by
 * block-compiler.ts, keyed by the host-physical address of their first byte (which folds in
 * paging, EPT and the memslots) and their EIP (which folds in the CS base). Cpu.run enters
 * `runBlocks` where it would enter runFast32 (attention === 0, fast32); everything not in a
 * block, not yet hot, or not translated runs through runFast32 one instruction at a time, so
 * events, stop requests and mode changes are seen at the same instruction boundaries as before.
 *
 * Why it stays exact without write hooks:
 * - the EIP → host address mapping is the fetch window of Cpu (dropped on every TLB flush, INVLPG,
 *   CS load, CPL change), and a block runs only when its whole range lies inside that window;
 * - a block compares its code bytes with memory on entry, so any write (CPU, DMA, loader,
 *   emulator, another mapping) that changed them is caught before the block runs again; a store
 *   by the block into its own bytes ends it after that instruction (block-compiler.ts);
 * - a block runs only when all its instructions fit in the budget, so the run loop stops at
 *   exactly the instruction it would stop at without the cache.
 */
import type { Cpu } from './processor.js';
import { runFast32 } from './fast-path.js';
import { compileBlock, type BlockFn } from './block-compiler.js';

/** Executions through the interpreter before a block is translated. */
export const HOT_THRESHOLD = 8;
/** A block whose code changed this many times is left to the interpreter. */
const MAX_REBUILDS = 4;
const TABLE_BITS = 14;
const TABLE_MASK = (1 << TABLE_BITS) - 1;
/** Entries kept before the cache starts over (bounds memory for guests that generate code). */
const MAX_ENTRIES = 1 << 16;

/** One block start: hit count until translated, then the function. */
class Entry {
  hits = 0;
  fn: BlockFn | null = null;
  n = 0;
  lastEip = 0;
  rebuilds = 0;
  /** The first instruction is not translated, or the code keeps changing. */
  failed = false;
  constructor(
    readonly hpa: number,
    readonly eip: number,
  ) {}
}

export class BlockCache {
  readonly table: (Entry | undefined)[] = new Array<Entry | undefined>(1 << TABLE_BITS).fill(undefined);
  readonly entries = new Map<number, Entry>();
  /** Statistics (tests and profiling). */
  compiled = 0;
  invalidated = 0;

  clear(): void {
    this.table.fill(undefined);
    this.entries.clear();
  }

  lookup(hpa: number, eip: number): Entry {
    let e = this.entries.get(hpa);
    if (e === undefined || e.eip !== eip) {
      if (this.entries.size >= MAX_ENTRIES) this.clear();
      e = new Entry(hpa, eip);
      this.entries.set(hpa, e);
    }
    this.table[hpa & TABLE_MASK] = e;
    return e;
  }

  compile(c: Cpu, e: Entry): void {
    // the code page is readable in the fetch window from EIP up to fetchHi
    const limit = e.hpa + (c.fetchHi - e.eip);
    const b = compileBlock(c.ram8, c.ram32, e.eip, e.hpa, limit);
    if (b === null) {
      e.failed = true;
      return;
    }
    e.fn = b.fn;
    e.n = b.n;
    e.lastEip = b.lastEip;
    this.compiled++;
  }

  /** The block's code bytes changed: translate again when hot, or give up on churning code. */
  invalidate(e: Entry): void {
    this.invalidated++;
    e.fn = null;
    e.hits = 0;
    if (++e.rebuilds >= MAX_REBUILDS) e.failed = true;
  }
}

/**
 * Run 32-bit code until `end` instructions have been counted or something the run loop must see
 * happened (the same contract as runFast32).
 */
export function runBlocks(c: Cpu, end: number): void {
  const cache = c.blockCache;
  const table = cache.table;
  do {
    const eip = c.eip;
    if (eip >= c.fetchLo && eip <= c.fetchHi && c.ss32) {
      const hpa = eip + c.fetchDelta;
      let e = table[hpa & TABLE_MASK];
      if (e === undefined || e.hpa !== hpa || e.eip !== eip) e = cache.lookup(hpa, eip);
      const fn = e.fn;
      if (fn !== null) {
        if (c.instructionCount + e.n <= end && e.lastEip <= c.fetchHi) {
          if (fn(c, end) !== 0) {
            if (c.attention !== 0 || c.stopReason >= 0) return;
            continue;
          }
          cache.invalidate(e);
        }
      } else if (!e.failed && ++e.hits >= HOT_THRESHOLD) {
        cache.compile(c, e);
        continue;
      }
    }
    runFast32(c, c.instructionCount + 1);
    if (c.attention !== 0 || c.stopReason >= 0 || !c.fast32) return;
  } while (c.instructionCount < end);
}
