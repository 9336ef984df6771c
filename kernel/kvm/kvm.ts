/**
 * The KVM system object (the /dev/kvm file descriptor): API version, capabilities, VM creation.
 */
import { HostAddressSpace } from '../hw/host-address-space.js';
import { HostMemory } from '../hw/host-memory.js';
import { HostClock, VirtualClock } from './clock.js';
import { Vm } from './vm.js';

export const KVM_API_VERSION = 12;

/** KVM_CAP_* this module supports (facts §1.1). */
export const KVM_CAP = {
  IRQCHIP: 0,
  USER_MEMORY: 3,
  NR_MEMSLOTS: 10,
  COALESCED_MMIO: 15,
  IRQFD: 32,
  PIT2: 33,
  IOEVENTFD: 36,
  READONLY_MEM: 81,
  IMMEDIATE_EXIT: 136,
} as const;

export interface CreateVmOptions {
  /** Bytes of host-physical memory for this VM's host (guest RAM + page tables + VMCS). */
  hostMemory: number;
  mmu: 'ept' | 'shadow';
  clock: 'host' | 'virtual';
}

export interface CreatedVm {
  vm: Vm;
  /** The VMM process's own address space, where it maps guest RAM before handing it to KVM. */
  process: HostAddressSpace;
}

export class Kvm {
  getApiVersion(): number {
    return KVM_API_VERSION;
  }

  checkExtension(cap: number): number {
    if (cap === KVM_CAP.NR_MEMSLOTS) return 32;
    return (Object.values(KVM_CAP) as number[]).includes(cap) ? 1 : 0;
  }

  createVm(options: CreateVmOptions): CreatedVm {
    const mem = new HostMemory(options.hostMemory);
    const process = new HostAddressSpace(mem);
    const clock = options.clock === 'virtual' ? new VirtualClock() : new HostClock();
    return { vm: new Vm(mem, process, { mmu: options.mmu, clock }), process };
  }
}
