/**
 * Hardware task switching with 32-bit TSSs (SDM Vol. 3A 7.3): JMP/CALL to a TSS or task gate,
 * IRET with EFLAGS.NT, and interrupts through task gates. 16-bit TSSs are not modelled (#TS).
 */
import { SReg } from './cpu.js';
import { Eflags } from './flags.js';
import { Ar, Cr0, SysType, Vector } from './arch.js';
import { Cpu } from './processor.js';

/** Why the task switch happens (also the task-switch exit qualification source, SDM 27-2). */
export const TaskSource = { call: 0, iret: 1, jmp: 2, gate: 3 } as const;

/** Field offsets of the 32-bit TSS (SDM figure 7-2). */
export const Tss32 = {
  backLink: 0x00,
  cr3: 0x1c,
  eip: 0x20,
  eflags: 0x24,
  eax: 0x28,
  es: 0x48,
  ldt: 0x60,
  minLimit: 0x67,
} as const;

/** TSS descriptor type bit that marks it busy (type 9 ↔ 11). */
const BUSY = 0x200;
/** VMX exit reason of a task switch (SDM Appendix C). */
const EXIT_TASK_SWITCH = 9;

function fault(c: Cpu, vector: number, sel: number): never {
  return c.fault(vector, sel & ~3, true);
}

/** Set or clear the busy bit of the TSS descriptor `sel` in the GDT. */
function setBusy(c: Cpu, sel: number, busy: boolean): void {
  const addr = (c.gdtrBase + (sel & ~7) + 4) | 0;
  const hi = c.rdSys32(addr);
  c.wrSys32(addr, busy ? hi | BUSY : hi & ~BUSY);
}

/** Load a segment register from the new task's TSS, faulting with #TS on a bad selector. */
function loadTaskSeg(c: Cpu, s: number, sel: number, cpl: number): void {
  if (c.vm86) {
    c.loadRealSeg(s, sel);
    return;
  }
  if ((sel & ~3) === 0) {
    if (s === SReg.CS || s === SReg.SS) fault(c, Vector.TS, sel);
    c.segSel[s] = sel;
    c.segAr[s] = Ar.UNUSABLE;
    c.updateSeg(s);
    return;
  }
  if (!c.readDescriptor(sel)) fault(c, Vector.TS, sel);
  const ar = Cpu.descAr(c.descHi);
  const dpl = (ar >> Ar.DPL_SHIFT) & 3;
  const code = (ar & Ar.CODE) !== 0;
  if (!(ar & Ar.S)) fault(c, Vector.TS, sel);
  if (s === SReg.CS) {
    if (!code || (ar & Ar.EXPAND_DOWN ? dpl > cpl : dpl !== cpl)) fault(c, Vector.TS, sel);
  } else if (s === SReg.SS) {
    if (code || !(ar & Ar.WRITABLE) || dpl !== cpl || (sel & 3) !== cpl) fault(c, Vector.TS, sel);
  } else if (code && !(ar & Ar.WRITABLE)) fault(c, Vector.TS, sel);
  if (!(ar & Ar.P)) fault(c, s === SReg.SS ? Vector.SS : Vector.NP, sel);
  c.markAccessed(sel);
  c.loadFromDesc(s, sel);
}

/**
 * Switch to the task whose TSS selector is `sel` (SDM 7.3 steps 1-13). `retEip` is the EIP saved
 * in the old task; an error code is pushed on the new task's stack when `hasCode`.
 */
export function taskSwitch(c: Cpu, sel: number, source: number, retEip: number, hasCode: boolean, code: number): void {
  if (c.nonRoot !== null) c.nonRoot.vmxInstruction(EXIT_TASK_SWITCH, c.eip - c.instrStart);
  if (sel & 4 || !c.readDescriptor(sel)) fault(c, Vector.GP, sel);
  const ar = Cpu.descAr(c.descHi);
  const type = ar & (Ar.S | Ar.TYPE);
  const wantBusy = source === TaskSource.iret;
  if (type !== (wantBusy ? SysType.tss32Busy : SysType.tss32Avail)) {
    if (type === SysType.tss16Avail || type === SysType.tss16Busy) fault(c, Vector.TS, sel);
    fault(c, Vector.GP, sel);
  }
  if (!(ar & Ar.P)) fault(c, Vector.NP, sel);
  const newBase = Cpu.descBase(c.descLo, c.descHi);
  if (Cpu.descLimit(c.descLo, c.descHi) >>> 0 < Tss32.minLimit) fault(c, Vector.TS, sel);
  const newLo = c.descLo;
  const newHi = c.descHi;

  // save the outgoing task (SDM 7.3 step 8)
  const oldSel = c.segSel[SReg.TR]!;
  const oldBase = c.segBase[SReg.TR]!;
  let flags = c.getEflags();
  if (source === TaskSource.iret) flags &= ~Eflags.NT;
  c.wrSys32((oldBase + Tss32.eip) | 0, retEip);
  c.wrSys32((oldBase + Tss32.eflags) | 0, flags);
  for (let r = 0; r < 8; r++) c.wrSys32((oldBase + Tss32.eax + r * 4) | 0, c.regs[r]!);
  for (let s = 0; s < 6; s++) c.wrSys32((oldBase + Tss32.es + s * 4) | 0, c.segSel[s]!);
  if (source === TaskSource.jmp || source === TaskSource.iret) setBusy(c, oldSel, false);

  // read the incoming task's state before anything of it is loaded
  const nb = newBase;
  const cr3 = c.rdSys32((nb + Tss32.cr3) | 0);
  const eip = c.rdSys32((nb + Tss32.eip) | 0) >>> 0;
  let nflags = c.rdSys32((nb + Tss32.eflags) | 0);
  const regs = TASK_REGS;
  for (let r = 0; r < 8; r++) regs[r] = c.rdSys32((nb + Tss32.eax + r * 4) | 0);
  const sels = TASK_SELS;
  for (let s = 0; s < 6; s++) sels[s] = c.rdSys16((nb + Tss32.es + s * 4) | 0);
  const ldt = c.rdSys16((nb + Tss32.ldt) | 0);
  if (source === TaskSource.call || source === TaskSource.gate) {
    c.wrSys32((nb + Tss32.backLink) | 0, oldSel);
    nflags |= Eflags.NT;
  }
  if (source !== TaskSource.iret) setBusy(c, sel, true);

  // commit: TR, CR0.TS, CR3, registers, LDTR, segments (SDM 7.3 steps 10-12)
  c.descLo = newLo;
  c.descHi = newHi | BUSY;
  c.loadFromDesc(SReg.TR, sel);
  c.cr0 |= Cr0.TS;
  c.lastCr0 = c.cr0;
  if (c.pg && cr3 !== c.cr3) c.flushTlbNonGlobal();
  c.cr3 = cr3;
  c.lastCr3 = cr3;
  c.regs.set(regs);
  c.eip = eip;
  c.setEflags(nflags);
  c.updateMode();
  if ((ldt & ~3) === 0) {
    c.segSel[SReg.LDTR] = ldt;
    c.segAr[SReg.LDTR] = Ar.UNUSABLE;
    c.updateSeg(SReg.LDTR);
  } else {
    if (ldt & 4 || !c.readDescriptor(ldt) || (Cpu.descAr(c.descHi) & (Ar.S | Ar.TYPE)) !== SysType.ldt) fault(c, Vector.TS, ldt);
    c.loadFromDesc(SReg.LDTR, ldt);
  }
  const cpl = c.vm86 ? 3 : sels[SReg.CS]! & 3;
  c.setCpl(cpl);
  loadTaskSeg(c, SReg.CS, sels[SReg.CS]!, cpl);
  loadTaskSeg(c, SReg.SS, sels[SReg.SS]!, cpl);
  for (const s of [SReg.ES, SReg.DS, SReg.FS, SReg.GS]) loadTaskSeg(c, s, sels[s]!, cpl);
  c.updateMode();
  c.requestEventCheck();
  if (eip > c.csLimit) c.gp(0);
  if (hasCode) c.pushSz(c.segAr[SReg.CS]! & Ar.DB ? 4 : 2, code);
}

const TASK_REGS = new Int32Array(8);
const TASK_SELS = new Uint16Array(6);
