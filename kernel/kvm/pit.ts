/**
 * The in-kernel i8254 (KVM_CREATE_PIT2, facts §3.10): the same 8254 state machine the device
 * model runs (userspace/devices/pit), placed on the kernel's PIO bus at 0x40-0x43 with the
 * port-0x61 speaker gate, and driving GSI 0 directly — no round trip to userspace per access.
 */
import { I8254 } from '../../userspace/devices/pit/i8254.js';
import { Port61 } from '../../userspace/devices/pit/port61.js';
import type { KvmIoDevice } from './io-bus.js';
import type { Vm } from './vm.js';

export const KVM_PIT_BASE = 0x40;
export const KVM_PIT_PORTS = 4;
export const KVM_PIT_SPEAKER_PORT = 0x61;

/** KVM_CREATE_PIT2: build the PIT on the VM's kernel timers and PIO bus. */
export function createInKernelPit(vm: Vm): I8254 {
  const pit = new I8254(vm.kernelTimers, { set: (level) => vm.irqLine(0, level) });
  const speaker = new Port61(pit);
  const onBus = (dev: { read(o: number, s: number): number; write(o: number, s: number, v: number): void }, base: number): KvmIoDevice => ({
    read: (addr, len) => dev.read(addr - base, len),
    write: (addr, len, value) => {
      dev.write(addr - base, len, value);
      return true;
    },
  });
  vm.pioBus.register(KVM_PIT_BASE, KVM_PIT_PORTS, onBus(pit, KVM_PIT_BASE));
  vm.pioBus.register(KVM_PIT_SPEAKER_PORT, 1, onBus(speaker, KVM_PIT_SPEAKER_PORT));
  return pit;
}
