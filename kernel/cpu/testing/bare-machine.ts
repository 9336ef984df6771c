/**
 * A bare test machine around the Cpu (no VMX, no KVM): host memory, COM1 output capture,
 * isa-debug-exit at 0xF4, real-mode and flat 32-bit protected-mode setup with a GDT, TSS and IDT,
 * and an ELF32 / multiboot loader (Multiboot 0.6.96 section 3.2 machine state).
 */
import { HostMemory } from '../../hw/host-memory.js';
import { Cpu } from '../processor.js';
import { Reg, SReg } from '../cpu.js';
import { StopReason } from '../interfaces.js';
import { Cr0, SysType } from '../arch.js';
import { EventType } from '../cpu.js';
import { MiniPic, MiniPit, PicPitPorts } from './pic-pit.js';

/** Fixed layout of the system tables the helper builds (all below 64 KiB). */
export const Layout = {
  gdt: 0x1000,
  tss: 0x1200,
  idt: 0x2000,
  mbi: 0x3000,
  stackTop: 0x90000,
  ring0StackTop: 0x80000,
} as const;

/** Selectors of the helper's GDT. */
export const Sel = {
  code32: 0x08,
  data32: 0x10,
  userCode32: 0x1b,
  userData32: 0x23,
  tss: 0x28,
  code16: 0x30,
  data16: 0x38,
} as const;

/** COM1 data port and the isa-debug-exit port (QEMU semantics). */
export const Ports = { com1: 0x3f8, debugExit: 0xf4 } as const;
/** Multiboot v1 boot magic in EAX (Multiboot 0.6.96 section 3.2). */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;

/** 16550 line-control register offset and its divisor-latch access bit (writes to +0 set the divisor). */
const UART_LCR = 3;
const UART_LCR_DLAB = 0x80;
/** Line-status register: transmitter empty, so polling guests can send. */
const UART_LSR = 5;
const UART_LSR_THRE = 0x60;

export interface PortAccess {
  port: number;
  size: number;
  value: number;
  isIn: boolean;
}

/** Descriptor words for base/limit/access byte/flags nibble (SDM 3.4.5). */
export function descriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo | 0, hi | 0];
}

export class BareMachine {
  readonly mem: HostMemory;
  readonly cpu: Cpu;
  serial = '';
  exitCode: number | null = null;
  readonly ports: PortAccess[] = [];
  /** Values returned by IN, by port (default all ones). */
  readonly inputs = new Map<number, number[]>();
  private dlab = false;
  /** Interrupt controller and timer (ports 0x20/0x21, 0xA0/0xA1, 0x40/0x43), clocked by instructions. */
  readonly pic = new MiniPic();
  readonly pic2 = new MiniPic();
  readonly pit = new MiniPit(this.pic);
  /** Virtual time spent halted (added to the instruction count for the PIT). */
  private idle = 0;
  private readonly uart = new Uint8Array(8);

  constructor(memSize = 4 << 20) {
    this.mem = new HostMemory(memSize);
    this.cpu = new Cpu(this.mem);
    this.cpu.io = {
      in: (port, size) => {
        const q = this.inputs.get(port);
        const dev = this.devIn(port);
        if (dev >= 0 && q === undefined) return dev;
        if (q === undefined && port > Ports.com1 && port < Ports.com1 + 8) {
          // a 16550 register file that reads back what was written; LSR says "transmitter empty"
          return port === Ports.com1 + UART_LSR ? UART_LSR_THRE : this.uart[port - Ports.com1]!;
        }
        const v = q !== undefined && q.length > 0 ? q.shift()! : -1;
        this.ports.push({ port, size, value: v, isIn: true });
        return v;
      },
      out: (port, size, value) => {
        this.ports.push({ port, size, value, isIn: false });
        this.devOut(port, value & 0xff);
        if (port > Ports.com1 && port < Ports.com1 + 8) this.uart[port - Ports.com1] = value;
        if (port === Ports.com1 + UART_LCR) this.dlab = (value & UART_LCR_DLAB) !== 0;
        else if (port === Ports.com1 && !this.dlab) this.serial += String.fromCharCode(value & 0xff);
        else if (port === Ports.debugExit) {
          this.exitCode = value;
          this.cpu.requestStop(StopReason.budget);
        }
      },
    };
  }

  private now(): number {
    return this.cpu.instructionCount + this.idle;
  }
  private devIn(port: number): number {
    switch (port) {
      case PicPitPorts.pic1Cmd:
        return this.pic.readCmd();
      case PicPitPorts.pic1Data:
        return this.pic.imr;
      case PicPitPorts.pic2Cmd:
        return this.pic2.readCmd();
      case PicPitPorts.pic2Data:
        return this.pic2.imr;
      case PicPitPorts.pitCh0:
        return this.pit.readCh0(this.now());
      default:
        return -1;
    }
  }
  private devOut(port: number, v: number): void {
    switch (port) {
      case PicPitPorts.pic1Cmd:
        this.pic.writeCmd(v);
        break;
      case PicPitPorts.pic1Data:
        this.pic.writeData(v);
        break;
      case PicPitPorts.pic2Cmd:
        this.pic2.writeCmd(v);
        break;
      case PicPitPorts.pic2Data:
        this.pic2.writeData(v);
        break;
      case PicPitPorts.pitCmd:
        this.pit.writeCmd(v, this.now());
        break;
      case PicPitPorts.pitCh0:
        this.pit.writeCh0(v, this.now());
        break;
      default:
        break;
    }
  }

  /** Deliver a pending PIC interrupt if the CPU accepts one now (SDM 6.8.1); true if delivered. */
  private injectIrq(): boolean {
    this.pit.tick(this.now());
    const irq = this.pic.pending();
    if (irq < 0 || !this.cpu.interruptsEnabled()) return false;
    this.cpu.deliverEvent(this.pic.acknowledge(irq), EventType.external, 0, false, 0);
    return true;
  }

  load(addr: number, bytes: ArrayLike<number>): void {
    this.mem.u8.set(bytes, addr);
  }
  w32(addr: number, v: number): void {
    this.mem.write32(addr, v);
  }
  r32(addr: number): number {
    return this.mem.read32(addr);
  }

  /** Real mode at cs:ip with SS:SP = 0:0x7000, IVT at 0. */
  realMode(cs: number, ip: number): void {
    const c = this.cpu;
    c.reset();
    for (let s = 0; s < 6; s++) {
      c.segSel[s] = 0;
      c.segBase[s] = 0;
    }
    c.segSel[SReg.CS] = cs;
    c.segBase[SReg.CS] = cs << 4;
    c.eip = ip;
    c.regs[Reg.ESP] = 0x7000;
    c.regs[Reg.EDX] = 0;
    c.idtrBase = 0;
    c.idtrLimit = 0x3ff;
    c.sync();
  }

  /** Write the helper's GDT and TSS (ring-0 stack Layout.ring0StackTop). */
  writeTables(): void {
    const d: Array<[number, number]> = [
      [0, 0],
      descriptor(0, 0xfffff, 0x9b, 0xc),
      descriptor(0, 0xfffff, 0x93, 0xc),
      descriptor(0, 0xfffff, 0xfb, 0xc),
      descriptor(0, 0xfffff, 0xf3, 0xc),
      descriptor(Layout.tss, 0x67, 0x80 | SysType.tss32Avail, 0),
      descriptor(0, 0xffff, 0x9b, 0),
      descriptor(0, 0xffff, 0x93, 0),
    ];
    d.forEach(([lo, hi], i) => {
      this.w32(Layout.gdt + i * 8, lo);
      this.w32(Layout.gdt + i * 8 + 4, hi);
    });
    this.mem.u8.fill(0, Layout.tss, Layout.tss + 0x68);
    this.w32(Layout.tss + 4, Layout.ring0StackTop);
    this.w32(Layout.tss + 8, Sel.data32);
    this.mem.write16(Layout.tss + 0x66, 0x68); // I/O map base beyond the limit: no bitmap
  }

  /** Flat 32-bit protected mode at `entry`, CPL 0, paging off, as after a far jump (Multiboot state). */
  flat32(entry: number): void {
    const c = this.cpu;
    c.reset();
    this.writeTables();
    c.gdtrBase = Layout.gdt;
    c.gdtrLimit = 8 * 8 - 1;
    c.idtrBase = Layout.idt;
    c.idtrLimit = 256 * 8 - 1;
    c.cr0 = Cr0.PE | Cr0.ET;
    for (let s = 0; s < 6; s++) this.setFlat(s, s === SReg.CS ? Sel.code32 : Sel.data32, s === SReg.CS ? 0xc09b : 0xc093);
    c.segSel[SReg.TR] = Sel.tss;
    c.segBase[SReg.TR] = Layout.tss;
    c.segLimit[SReg.TR] = 0x67;
    c.segAr[SReg.TR] = 0x80 | SysType.tss32Busy;
    c.segSel[SReg.LDTR] = 0;
    c.segAr[SReg.LDTR] = 0x10000;
    c.eip = entry;
    c.regs[Reg.ESP] = Layout.stackTop;
    c.regs[Reg.EDX] = 0;
    c.sync();
  }

  private setFlat(s: number, sel: number, ar: number): void {
    const c = this.cpu;
    c.segSel[s] = sel;
    c.segBase[s] = 0;
    c.segLimit[s] = -1;
    c.segAr[s] = ar;
  }

  /** IDT gate: 32-bit interrupt (type 14) or trap (15) gate to Sel.code32:offset. */
  setGate(vector: number, offset: number, type: number = SysType.intGate32, dpl = 0, selector: number = Sel.code32): void {
    this.w32(Layout.idt + vector * 8, ((selector << 16) | (offset & 0xffff)) | 0);
    this.w32(Layout.idt + vector * 8 + 4, ((offset & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8)) | 0);
  }

  /**
   * Run until the debug-exit port is written, shutdown, HLT with nothing to wake it, or `limit`
   * instructions. External interrupts from the PIC are taken at instruction boundaries: while
   * one is pending the CPU runs one instruction at a time.
   */
  run(limit = 10_000_000): StopReason {
    const cpu = this.cpu;
    const end = cpu.instructionCount + limit;
    for (;;) {
      const left = end - cpu.instructionCount;
      if (left <= 0) return StopReason.budget;
      this.injectIrq();
      const slice = this.pic.irr & ~this.pic.imr ? 1 : Math.min(left, 100_000, this.pit.untilNext(this.now()));
      const r = cpu.run(slice);
      if (this.exitCode !== null || r === StopReason.shutdown || r === StopReason.vmExit) return r;
      if (r === StopReason.halted) {
        // HLT: skip virtual time to the next timer interrupt, if one can wake the CPU
        const wait = this.pit.untilNext(this.now());
        if (!cpu.interruptsEnabled() || (wait === Infinity && this.pic.pending() < 0)) return r;
        if (wait !== Infinity) this.idle += wait;
        if (!this.injectIrq()) return r;
      }
    }
  }

  /**
   * Load an ELF32 executable's PT_LOAD segments (System V ABI, ELF header and program headers)
   * and return its entry point.
   */
  loadElf(image: Uint8Array): number {
    const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
    if (v.getUint32(0, false) !== 0x7f454c46 || image[4] !== 1 || image[5] !== 1) throw new Error('not a little-endian ELF32 image');
    const entry = v.getUint32(24, true);
    const phoff = v.getUint32(28, true);
    const phentsize = v.getUint16(42, true);
    const phnum = v.getUint16(44, true);
    for (let i = 0; i < phnum; i++) {
      const ph = phoff + i * phentsize;
      if (v.getUint32(ph, true) !== 1) continue; // PT_LOAD
      const off = v.getUint32(ph + 4, true);
      const paddr = v.getUint32(ph + 12, true);
      const filesz = v.getUint32(ph + 16, true);
      const memsz = v.getUint32(ph + 20, true);
      if (paddr + memsz > this.mem.size) throw new Error(`segment at ${paddr.toString(16)} outside memory`);
      this.mem.u8.set(image.subarray(off, off + filesz), paddr);
      this.mem.u8.fill(0, paddr + filesz, paddr + memsz);
    }
    return entry;
  }

  /** Boot a multiboot ELF32 image: flat protected mode, EAX = magic, EBX = a zeroed info struct. */
  bootMultiboot(image: Uint8Array): void {
    const entry = this.loadElf(image);
    this.flat32(entry);
    this.mem.u8.fill(0, Layout.mbi, Layout.mbi + 0x80);
    this.cpu.regs[Reg.EAX] = MULTIBOOT_BOOTLOADER_MAGIC;
    this.cpu.regs[Reg.EBX] = Layout.mbi;
    this.cpu.cr0 = Cr0.PE | Cr0.ET;
    this.cpu.sync();
  }
}
