/**
 * A KVM VM (the VM file descriptor's object): memslots, the MMU, the in-kernel irqchip and
 * optional PIT, the kvm_io_bus instances, ioeventfds, coalesced zones and irq lines (facts §1.1,
 * §3.6–§3.10). The VMM process creates it through Kvm.createVm().
 */
import { HostAddressSpace } from '../hw/host-address-space.js';
import { HostMemory, PAGE_SIZE } from '../hw/host-memory.js';
import { Access, MMIO, type AccessKind } from '../cpu/interfaces.js';
import { Pic8259Pair } from './irqchip/pic8259.js';
import { CoalescedRing, CoalescedZone, Ioeventfd, KvmIoBus, type IoeventfdSpec, type KvmIoDevice } from './io-bus.js';
import { Memslots, type UserMemoryRegion } from './memslots.js';
import type { Mmu } from './mmu/mmu.js';
import { createMmu } from './mmu/create.js';
import { VM_STAT_NAMES, zeroStats, type StatTable, type VmStatName } from './stats.js';
import { Vcpu } from './vcpu.js';
import type { VmClock } from './clock.js';
import { KernelTimers } from './kernel-timers.js';
import { createInKernelPit } from './pit.js';
import type { I8254 } from '../../userspace/devices/pit/i8254.js';

export interface VmOptions {
  mmu: 'ept' | 'shadow';
  clock: VmClock;
}

/** Ports the in-kernel 8259 pair claims (facts §3.10). */
const PIC_PORTS: Array<[number, number]> = [
  [0x20, 2],
  [0xa0, 2],
  [0x4d0, 2],
];

export class Vm {
  readonly memslots = new Memslots();
  readonly pioBus = new KvmIoBus();
  readonly mmioBus = new KvmIoBus();
  readonly coalesced = new CoalescedRing();
  readonly pic = new Pic8259Pair();
  readonly vcpus: Vcpu[] = [];
  readonly stats: StatTable<VmStatName> = zeroStats(VM_STAT_NAMES);
  readonly mmu: Mmu;
  readonly clock: VmClock;
  /** hrtimers of in-kernel devices. */
  readonly kernelTimers: KernelTimers;
  /** The in-kernel PIT, after createPit2(). */
  pit: I8254 | undefined;
  /** HPA of the MSR bitmap page (all zeros: no MSR exits). */
  readonly msrBitmap: number;
  private readonly ioeventfds: Ioeventfd[] = [];
  private wakers: Array<() => void> = [];
  /**
   * How a halted vCPU waits (set by the VMM): resolve true when an interrupt may have arrived,
   * false when nothing can ever arrive. The virtual clock jumps to the next deadline here.
   */
  haltPolicy: () => Promise<boolean> = () => new Promise<boolean>((resolve) => this.wakers.push(() => resolve(true)));

  constructor(readonly hostMem: HostMemory, readonly hostSpace: HostAddressSpace, options: VmOptions) {
    this.clock = options.clock;
    this.kernelTimers = new KernelTimers(options.clock, () => this.kick());
    this.coalesced.onWrite = () => this.stats.coalesced_writes++;
    this.msrBitmap = hostMem.allocFrame();
    this.mmu = createMmu(options.mmu, this);
    const picDevice: KvmIoDevice = {
      read: (addr, len) => (len === 1 ? this.pic.ioRead(addr) : undefined),
      write: (addr, len, value) => {
        if (len !== 1) return false;
        this.pic.ioWrite(addr, value);
        return true;
      },
    };
    for (const [base, len] of PIC_PORTS) this.pioBus.register(base, len, picDevice);
  }

  /** KVM_SET_USER_MEMORY_REGION. */
  setUserMemoryRegion(region: UserMemoryRegion): void {
    if (region.memorySize > 0 && !this.hostSpace.isMapped(region.userspaceAddr)) {
      throw new RangeError(`memslot ${region.slot}: userspace address 0x${region.userspaceAddr.toString(16)} is not mapped (EFAULT)`);
    }
    const { removed } = this.memslots.set(region);
    if (removed) this.mmu.zapSlot(removed);
    this.mmu.memslotsChanged();
  }

  /** KVM_CREATE_VCPU. */
  createVcpu(id: number): Vcpu {
    const vcpu = new Vcpu(this, id);
    this.vcpus.push(vcpu);
    if (this.vcpus.length === 1) this.kernelTimers.instructions = () => vcpu.cpu.instructionCount;
    return vcpu;
  }

  /** KVM_CREATE_PIT2: the i8254 in the kernel (`--pit kernel`). */
  createPit2(): I8254 {
    if (this.pit) throw new RangeError('the in-kernel PIT already exists (EEXIST)');
    this.pit = createInKernelPit(this);
    return this.pit;
  }

  /** Release host resources (timers). */
  destroy(): void {
    this.kernelTimers.dispose();
  }

  /** KVM_GET_DIRTY_LOG: one bit per page, cleared on return. */
  getDirtyLog(slotId: number): Uint8Array {
    const slot = this.memslots.byId(slotId);
    if (!slot) throw new RangeError(`memslot ${slotId} does not exist (ENOENT)`);
    if (!slot.logDirty) throw new RangeError(`memslot ${slotId} has no dirty logging (ENOENT)`);
    this.mmu.collectDirty(slot);
    const out = slot.dirtyBitmap.slice();
    slot.dirtyBitmap.fill(0);
    for (const v of this.vcpus) v.cpu.flushTlb();
    return out;
  }

  /** KVM_IRQ_LINE (also what an irqfd signal does): level of a GSI into the in-kernel PIC. */
  irqLine(gsi: number, level: boolean): void {
    if (gsi < 0 || gsi > 15) return; // no IOAPIC: only the 16 PIC lines exist
    this.pic.setIrq(gsi, level);
    if (this.pic.hasInterrupt()) this.kick();
  }

  /** Wake halted vCPUs (kvm_vcpu_kick). */
  kick(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const fn of w) fn();
  }

  /** Wait while halted; see haltPolicy. */
  waitForInterrupt(): Promise<boolean> {
    return this.haltPolicy();
  }

  /** Register a waiter that kick() resolves (for halt policies). */
  onKick(fn: () => void): void {
    this.wakers.push(fn);
  }

  /** VMM hook run between slices (the virtual clock lets due device timers fire here). */
  sliceEnd: () => Promise<void> = () => Promise.resolve();

  /** Return to the host event loop between slices (the external-interrupt exit's reschedule). */
  async yieldToHost(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    await this.sliceEnd();
  }

  /** KVM_IOEVENTFD (assign). */
  registerIoeventfd(spec: IoeventfdSpec): Ioeventfd {
    if (![0, 1, 2, 4, 8].includes(spec.len)) throw new RangeError('ioeventfd length must be 0, 1, 2, 4 or 8 (EINVAL)');
    if (spec.len === 0 && (spec.pio || spec.datamatch !== undefined)) throw new RangeError('a zero-length ioeventfd cannot be PIO or use datamatch (EINVAL)');
    for (const e of this.ioeventfds) {
      const s = e.spec;
      if (s.pio === spec.pio && s.addr === spec.addr && s.len === spec.len && (s.datamatch === undefined || spec.datamatch === undefined || s.datamatch === spec.datamatch)) {
        throw new RangeError(`ioeventfd at 0x${spec.addr.toString(16)} already exists (EEXIST)`);
      }
    }
    const fd = new Ioeventfd({
      ...spec,
      signal: (value) => {
        this.stats.ioeventfd_signals++;
        spec.signal(value);
      },
    });
    this.ioeventfds.push(fd);
    (spec.pio ? this.pioBus : this.mmioBus).register(spec.addr, spec.len, fd);
    return fd;
  }

  /** KVM_REGISTER_COALESCED_MMIO. */
  registerCoalescedZone(addr: number, size: number, pio: boolean): void {
    (pio ? this.pioBus : this.mmioBus).register(addr, size, new CoalescedZone(addr, size, pio, this.coalesced));
  }

  /** The emulator's view of guest-physical memory: RAM → HPA (faulting in), else MMIO. */
  gpaToHpaForEmulator(gpa: number, access: AccessKind): number {
    const gfn = Math.floor(gpa / PAGE_SIZE);
    const slot = this.memslots.find(gfn);
    if (!slot || (access === Access.write && slot.readOnly)) return MMIO;
    if (access === Access.write) {
      this.memslots.markDirty(gpa);
      this.mmu.guestWrote(gpa);
    }
    return this.hostSpace.hvaToHpa(slot.gfnToHva(gfn) + (gpa % PAGE_SIZE));
  }
}
