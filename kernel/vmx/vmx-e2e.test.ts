/**
 * End to end with the real IA-32 core: a flat 32-bit guest (unrestricted guest, EPT, paging off)
 * runs real instructions in VMX non-root operation, and root-mode code handles the exits the way
 * KVM would (advance RIP by the exit instruction length, map pages on EPT violations).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { HostMemory } from '../hw/host-memory.js';
import { Cpu } from '../cpu/index.js';
import { EptBuilder } from '../ept/ept-builder.js';
import { EptEntry } from '../ept/ept-format.js';
import { ExitControls, PinBased, ProcBased } from './controls.js';
import { decodeEptViolationQualification, decodeIoQualification } from './exit-qualification.js';
import { ExitReason } from './exit-reasons.js';
import { setupValidGuest } from './testing/guest-setup.js';
import { VmcsField } from './vmcs-fields.js';
import { Vmx } from './vmx.js';
import { VmxMisc } from './capabilities.js';

const RWX = EptEntry.READ | EptEntry.WRITE | EptEntry.EXEC;
const CODE_GPA = 0x1000;

let mem: HostMemory;
let cpu: Cpu;
let vmx: Vmx;
let ept: EptBuilder;
let codeHpa: number;

beforeEach(() => {
  mem = new HostMemory(8 << 20);
  cpu = new Cpu(mem);
  vmx = new Vmx(mem, cpu, { sliceInstructions: 10_000 });
  ept = new EptBuilder(mem, { accessedDirty: true });
  codeHpa = mem.allocFrame();
  ept.map4k(CODE_GPA, codeHpa, RWX);
});

function load(code: number[]): void {
  mem.u8.set(code, codeHpa);
}

/** What KVM does after an instruction-caused exit it emulated: skip the instruction. */
function skipInstruction(): void {
  vmx.vmwrite(VmcsField.GUEST_RIP, vmx.vmread(VmcsField.GUEST_RIP) + vmx.vmread(VmcsField.VM_EXIT_INSTRUCTION_LEN));
}

describe('non-root operation on the real core', () => {
  it('out dx, al; cpuid; hlt give exits 30, 10, 12 with their qualifications and lengths', () => {
    load([0xba, 0xf8, 0x03, 0x00, 0x00, 0xee, 0x0f, 0xa2, 0xf4]); // mov edx,0x3f8; out dx,al; cpuid; hlt
    setupValidGuest(vmx, { unrestricted: true, eptp: ept.eptp, rip: CODE_GPA, proc: ProcBased.UNCOND_IO_EXITING | ProcBased.HLT_EXITING });

    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.IO_INSTRUCTION });
    expect(decodeIoQualification(vmx.vmread(VmcsField.EXIT_QUALIFICATION))).toEqual({ port: 0x3f8, size: 1, isIn: false, isString: false, isRep: false, immediate: false });
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(0x1005);
    expect(vmx.vmread(VmcsField.VM_EXIT_INSTRUCTION_LEN)).toBe(1);
    expect(cpu.regs[2]).toBe(0x3f8); // GPRs stay in cpu.regs
    skipInstruction();

    expect(vmx.vmresume()).toEqual({ kind: 'exit', reason: ExitReason.CPUID });
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(0x1006);
    expect(vmx.vmread(VmcsField.VM_EXIT_INSTRUCTION_LEN)).toBe(2);
    skipInstruction();

    expect(vmx.vmresume()).toEqual({ kind: 'exit', reason: ExitReason.HLT });
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(0x1008);
    expect(vmx.vmread(VmcsField.VM_EXIT_INSTRUCTION_LEN)).toBe(1);
    expect(cpu.nonRoot).toBeNull();
    expect([vmx.exitCounts[30], vmx.exitCounts[10], vmx.exitCounts[12]]).toEqual([1, 1, 1]);
  });

  it('an EPT violation on a data read reports the GPA; after mapping, the instruction completes', () => {
    load([0xa1, 0x00, 0x50, 0x00, 0x00, 0x0f, 0xa2]); // mov eax,[0x5000]; cpuid
    setupValidGuest(vmx, { unrestricted: true, eptp: ept.eptp, rip: CODE_GPA });
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.EPT_VIOLATION });
    const q = decodeEptViolationQualification(vmx.vmread(VmcsField.EXIT_QUALIFICATION));
    expect(q).toMatchObject({ read: true, write: false, fetch: false, readable: false, linearValid: true, isFinal: true });
    expect(vmx.vmread64(VmcsField.GUEST_PHYSICAL_ADDRESS)).toBe(0x5000);
    expect(vmx.vmread(VmcsField.GUEST_LINEAR_ADDRESS)).toBe(0x5000);
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(CODE_GPA); // fault-like: the instruction re-runs

    const data = mem.allocFrame();
    mem.write32(data, 0xcafe_f00d);
    ept.map4k(0x5000, data, EptEntry.READ);
    expect(vmx.vmresume()).toEqual({ kind: 'exit', reason: ExitReason.CPUID });
    expect(cpu.regs[0]! >>> 0).toBe(0xcafe_f00d);
    expect(vmx.hooks.eptStats.references).toBeGreaterThan(4);
  });

  it('a write to an MMIO-marked page is an EPT misconfiguration; RAM writes set the EPT dirty flag', () => {
    // mov [0x6000], eax; mov [0xd0000000], eax
    load([0xa3, 0x00, 0x60, 0x00, 0x00, 0xa3, 0x00, 0x00, 0x00, 0xd0]);
    ept.map4k(0x6000, mem.allocFrame(), EptEntry.READ | EptEntry.WRITE);
    ept.mapMmio(0xd000_0000);
    setupValidGuest(vmx, { unrestricted: true, eptp: ept.eptp, rip: CODE_GPA });
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.EPT_MISCONFIG });
    expect(vmx.vmread64(VmcsField.GUEST_PHYSICAL_ADDRESS)).toBe(0xd000_0000);
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(0x1005);
    expect(ept.isDirty(0x6000)).toBe(true);
    expect(ept.isDirty(CODE_GPA)).toBe(false);
  });

  it('a spinning guest leaves through the preemption timer, or the host tick without it', () => {
    load([0xeb, 0xfe]); // jmp $
    setupValidGuest(vmx, { unrestricted: true, eptp: ept.eptp, rip: CODE_GPA, pin: PinBased.VMX_PREEMPTION_TIMER, exit: ExitControls.SAVE_VMX_PREEMPTION_TIMER });
    vmx.vmwrite(VmcsField.VMX_PREEMPTION_TIMER_VALUE, 3);
    const before = cpu.instructionCount;
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.PREEMPTION_TIMER });
    expect(cpu.instructionCount - before).toBe(3 << VmxMisc.PREEMPTION_TIMER_RATE);
    expect(vmx.vmread(VmcsField.VMX_PREEMPTION_TIMER_VALUE)).toBe(0);
    vmx.vmwrite(VmcsField.PIN_BASED_VM_EXEC_CONTROL, vmx.vmread(VmcsField.PIN_BASED_VM_EXEC_CONTROL) & ~PinBased.VMX_PREEMPTION_TIMER);
    vmx.vmwrite(VmcsField.VM_EXIT_CONTROLS, vmx.vmread(VmcsField.VM_EXIT_CONTROLS) & ~ExitControls.SAVE_VMX_PREEMPTION_TIMER);
    expect(vmx.vmresume()).toEqual({ kind: 'exit', reason: ExitReason.EXTERNAL_INTERRUPT });
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(CODE_GPA);
  });

  it('a guest MOV to CR4 that does not exit keeps the host-owned VMXE bit', () => {
    load([0xb8, 0x10, 0x00, 0x00, 0x00, 0x0f, 0x22, 0xe0, 0x0f, 0xa2, 0x0f, 0x20, 0xe3, 0x0f, 0xa2]); // mov eax,0x10; mov cr4,eax; cpuid; mov ebx,cr4; cpuid
    setupValidGuest(vmx, { unrestricted: true, eptp: ept.eptp, rip: CODE_GPA });
    vmx.vmwrite(VmcsField.CR4_GUEST_HOST_MASK, 0x2000); // VMXE host-owned, shadow 0
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.CPUID });
    expect(vmx.vmread(VmcsField.GUEST_CR4)).toBe(0x2010);
    skipInstruction();
    expect(vmx.vmresume()).toEqual({ kind: 'exit', reason: ExitReason.CPUID });
    expect(cpu.regs[3]).toBe(0x10); // the guest reads the shadow for VMXE
  });

  it('an injected interrupt is delivered through the guest IVT in real mode', () => {
    // Real-mode guest: IVT entry 0x20 → 0000:0x1000 where `cpuid` waits.
    load([0x0f, 0xa2]);
    const ivt = mem.allocFrame();
    ept.map4k(0, ivt, RWX);
    mem.write16(ivt + 0x20 * 4, CODE_GPA);
    mem.write16(ivt + 0x20 * 4 + 2, 0);
    const stack = mem.allocFrame();
    ept.map4k(0x7000, stack, RWX);
    setupValidGuest(vmx, { unrestricted: true, eptp: ept.eptp, rip: 0x3000 });
    vmx.vmwrite(VmcsField.GUEST_CR0, 0x20);
    for (let i = 0; i < 6; i++) {
      vmx.vmwrite(VmcsField.GUEST_ES_SELECTOR + 2 * i, 0);
      vmx.vmwrite(VmcsField.GUEST_ES_LIMIT + 2 * i, 0xffff);
      vmx.vmwrite(VmcsField.GUEST_ES_AR_BYTES + 2 * i, i === 1 ? 0x9b : 0x93);
    }
    vmx.vmwrite(VmcsField.GUEST_IDTR_LIMIT, 0x3ff);
    vmx.vmwrite(VmcsField.GUEST_RSP, 0x8000);
    vmx.vmwrite(VmcsField.GUEST_RFLAGS, 0x202);
    vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0x8000_0020);
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.CPUID });
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(CODE_GPA);
    expect(vmx.vmread(VmcsField.GUEST_RSP)).toBe(0x8000 - 6);
    expect(mem.read16(stack + 0xffa)).toBe(0x3000); // pushed IP
    expect(vmx.vmread(VmcsField.VM_ENTRY_INTR_INFO_FIELD) >>> 31).toBe(0);
  });
});

describe('event injection faults on the real core', () => {
  it('an injected #GP through an empty protected-mode IDT escalates to a triple-fault exit', () => {
    const idt = mem.allocFrame(); // all gates not present
    ept.map4k(0x2000, idt, RWX);
    const stack = mem.allocFrame();
    ept.map4k(0x7000, stack, RWX);
    setupValidGuest(vmx, { unrestricted: true, eptp: ept.eptp, rip: CODE_GPA });
    vmx.vmwrite(VmcsField.GUEST_IDTR_BASE, 0x2000);
    vmx.vmwrite(VmcsField.GUEST_IDTR_LIMIT, 0x7ff);
    vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0x8000_0b0d); // #GP with error code
    vmx.vmwrite(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.TRIPLE_FAULT });
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(CODE_GPA);
    expect(vmx.vmread(VmcsField.GUEST_RSP)).toBe(0x8000);
    expect(cpu.nonRoot).toBeNull();
  });

  it('a fault while delivering an injected interrupt is delivered to the guest handler', () => {
    // Protected-mode IDT with a 32-bit interrupt gate for #GP (13) only: the injected external
    // interrupt 0x20 finds an invalid (all-zero) gate, raises #GP(0x20·8 + 2), and the #GP handler runs.
    load([0x0f, 0xa2]); // handler: cpuid
    const idt = mem.allocFrame();
    ept.map4k(0x2000, idt, RWX);
    const gdt = mem.allocFrame();
    ept.map4k(0x3000, gdt, RWX);
    mem.write32(gdt + 8, 0x0000_ffff);
    mem.write32(gdt + 12, 0x00cf_9b00); // flat code at selector 0x08
    mem.write32(idt + 13 * 8, (0x08 << 16) | CODE_GPA);
    mem.write32(idt + 13 * 8 + 4, 0x8e00); // present interrupt gate, DPL 0, offset 31:16 = 0
    const stack = mem.allocFrame();
    ept.map4k(0x7000, stack, RWX);
    setupValidGuest(vmx, { unrestricted: true, eptp: ept.eptp, rip: 0x4000 });
    vmx.vmwrite(VmcsField.GUEST_GDTR_BASE, 0x3000);
    vmx.vmwrite(VmcsField.GUEST_GDTR_LIMIT, 0x17);
    vmx.vmwrite(VmcsField.GUEST_IDTR_BASE, 0x2000);
    vmx.vmwrite(VmcsField.GUEST_IDTR_LIMIT, 0x7ff);
    vmx.vmwrite(VmcsField.GUEST_RFLAGS, 0x202);
    vmx.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0x8000_0020);
    expect(vmx.vmlaunch()).toEqual({ kind: 'exit', reason: ExitReason.CPUID });
    expect(vmx.vmread(VmcsField.GUEST_RIP)).toBe(CODE_GPA);
    // Frame: error code (0x20·8 + IDT 2 + EXT 1: an external event), interrupted EIP, CS.
    expect([mem.read32(stack + 0xff0), mem.read32(stack + 0xff4), mem.read32(stack + 0xff8)]).toEqual([0x103, 0x4000, 0x08]);
  });
});
