/**
 * `tskvm run`: the VMM process. Builds the PC machine on the KVM module, connects the device
 * model (spawned, or over unix/ws), loads the image, and runs the vCPU loop, forwarding the
 * port I/O and MMIO exits nothing in the kernel claimed — what QEMU's kvm_cpu_exec does.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { RunOptions } from '../../cli/run-options.js';
import { EXIT_STATUS } from '../../cli/exit-status.js';
import { Kvm } from '../kvm/kvm.js';
import { KVM_EXIT, KVM_EXIT_IO, KVM_EXIT_NAMES, readLe, writeLe } from '../kvm/kvm-run.js';
import { DEFAULT_SLICE, SLICE_MS, type Vcpu } from '../kvm/vcpu.js';
import type { Vm } from '../kvm/vm.js';
import { VmcsField as F } from '../vmx/vmcs-fields.js';
import { applyStartState } from './boot-state.js';
import { DeviceLink } from './device-link.js';
import { GuestRam } from './guest-ram.js';
import { ImageError } from './loader/image-error.js';
import { loadImage } from './loader/detect.js';
import { buildMachineConfig } from './machine-config.js';
import { BiosRom, checkBiosSize } from './rom.js';
import { reportStats } from './stats-report.js';

/** Slice length while the device model has I/O in flight (ms). */
const IO_SLICE_MS = 0.05;

/** Host memory beyond guest RAM: EPT tables, VMCS, bitmaps. */
const HOST_OVERHEAD = 64 * 1024 * 1024;

function readImage(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'error';
    throw new ImageError(`cannot read ${what} '${path}': ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code}`);
  }
}

/** Why the machine stopped: the process exit status and an optional line for stderr. */
interface Stop {
  status: number;
  message?: string;
}

/** Run the machine; `spawned` is the device model the CLI started early for `--devices spawn`. */
export async function runVm(o: RunOptions, spawned?: ChildProcess): Promise<number> {
  try {
    return await runMachine(o, spawned);
  } finally {
    // Handed to the device link, it is gone by now; if setup failed first, it must not linger.
    if (spawned && spawned.exitCode === null && spawned.signalCode === null) spawned.kill('SIGKILL');
  }
}

async function runMachine(o: RunOptions, spawned: ChildProcess | undefined): Promise<number> {
  // Firmware: no image to load, the ROM is the machine's; otherwise a kernel in RAM.
  const firmware = o.bios !== undefined ? readImage(o.bios, 'bios image') : undefined;
  if (firmware) checkBiosSize(firmware.length, o.bios as string);
  const kernel = firmware ? undefined : readImage(o.kernel as string, 'kernel image');
  const initrd = o.initrd !== undefined ? readImage(o.initrd, 'initrd') : undefined;
  const config = buildMachineConfig(o);
  const image = kernel ? loadImage(kernel, { memSize: o.memSize, cmdline: config.cmdline, initrd, raw: o.raw }) : undefined;

  const kvm = new Kvm();
  const hostMemory = o.memSize + HOST_OVERHEAD + (firmware?.length ?? 0);
  const { vm, process: hostProcess } = kvm.createVm({ hostMemory, mmu: o.mmu, clock: o.clock });
  const ram = new GuestRam(hostProcess, vm, o.memSize);
  const rom = firmware ? new BiosRom(hostProcess, vm, firmware, o.bios as string, ram.ranges.length) : undefined;
  for (const s of image?.segments ?? []) {
    ram.write(s.gpa, s.data);
    if (s.memSize > s.data.length) ram.zero(s.gpa + s.data.length, s.memSize - s.data.length);
  }
  const vcpu = vm.createVcpu(0);
  if (o.trace) vcpu.trace = (line) => process.stderr.write(`tskvm: vcpu0 ${line}\n`);
  // With firmware the fresh vCPU's reset state (CS 0xF000 base 0xFFFF0000, EIP 0xFFF0) is the start.
  if (image) applyStartState(vcpu, ram, { ...image.start, regs: { ...image.start.regs, ...o.regs } });
  else if (Object.keys(o.regs).length > 0) vcpu.setRegs({ ...vcpu.getRegs(), ...o.regs });

  let stop: Stop | undefined;
  let runStart = performance.now();
  let runMs = 0;
  let deviceCounters: Record<string, number> = {};
  const requestStop = (s: Stop): void => {
    if (!stop) stop = s;
    vcpu.run.immediateExit = true;
    vm.kick();
  };

  const link = await DeviceLink.open(o.devices, {
    ram,
    onIrq: (line, level) => vm.irqLine(line, level),
    onEvent: (e) => {
      if (e.kind === 'exit') requestStop({ status: (e.code ?? 1) & 0xff }); // the device computed (v << 1) | 1
      else if (e.kind === 'reset') requestStop({ status: EXIT_STATUS.reset, message: 'guest requested a reset' });
      else requestStop({ status: EXIT_STATUS.hostFailure, message: `device model error: ${e.message ?? 'unknown'}` });
    },
    onClosed: (why) => requestStop({ status: EXIT_STATUS.hostFailure, message: `device model connection lost: ${why}` }),
  }, spawned);
  try {
    const claimed = await link.configure(config);
    let afterDoorbell = (): void => {};
    for (const d of claimed.doorbells) {
      vm.registerIoeventfd({
        addr: d.addr, len: d.size, pio: d.space === 'pio',
        ...(d.datamatch !== undefined ? { datamatch: d.datamatch } : {}),
        signal: (value) => {
          link.postDoorbell(d.doorbell, value);
          afterDoorbell();
        },
      });
    }
    for (const z of claimed.coalesced) vm.registerCoalescedZone(z.base, z.size, z.space === 'pio');
    if (o.pit === 'kernel') vm.createPit2();
    // Short slices while the device model does I/O, so its DMA requests are served promptly.
    vcpu.sliceMs = () => (link.ioActive ? IO_SLICE_MS : SLICE_MS);
    // Coalesced writes reach the device model in order before the next synchronous message,
    // and at every slice end so that debug output is not held back by a guest that never exits.
    const flushCoalesced = (): void => {
      const pending = vm.coalesced.drain();
      if (pending.length > 0) link.postCoalesced(pending);
    };
    link.beforeRequest(flushCoalesced);
    if (o.clock === 'virtual') afterDoorbell = useVirtualClock(vm, vcpu, link);
    else vm.haltPolicy = () => new Promise<boolean>((resolve) => vm.onKick(() => resolve(true)));
    const sliceEnd = vm.sliceEnd;
    vm.sliceEnd = () => {
      flushCoalesced();
      return sliceEnd();
    };

    runStart = performance.now();
    while (!stop) {
      const run = await vcpu.runOnce();
      flushCoalesced();
      if (stop) break;
      switch (run.exitReason) {
        case KVM_EXIT.IO: {
          const io = run.io;
          if (io.direction === KVM_EXIT_IO.OUT) {
            await link.pioWrite(io.port, io.size, io.data.subarray(0, io.size * io.count));
          } else {
            const data = await link.pioRead(io.port, io.size, io.count);
            io.data.set(data.subarray(0, io.size * io.count));
          }
          break;
        }
        case KVM_EXIT.MMIO: {
          const m = run.mmio;
          if (m.isWrite && rom?.contains(m.physAddr, m.len)) {
            // A write to a read-only memslot: ROM ignores it (QEMU discards writes to ROM).
          } else if (m.isWrite) {
            await link.mmioWrite(m.physAddr, m.len, readLe(m.data, 0, m.len));
          } else {
            const value = await link.mmioRead(m.physAddr, m.len);
            writeLe(m.data, 0, m.len, value);
          }
          break;
        }
        case KVM_EXIT.HLT:
          requestStop({ status: EXIT_STATUS.halted });
          break;
        case KVM_EXIT.SHUTDOWN:
          requestStop({ status: EXIT_STATUS.tripleFault, message: `triple fault at ${csEip(vcpu)}` });
          break;
        case KVM_EXIT.INTR:
          break;
        case KVM_EXIT.FAIL_ENTRY:
          requestStop({
            status: EXIT_STATUS.hostFailure,
            message: `VM entry failed (hardware entry failure reason 0x${run.failEntry.hardwareEntryFailureReason.toString(16)}) at ${csEip(vcpu)}`,
          });
          break;
        case KVM_EXIT.INTERNAL_ERROR:
          requestStop({
            status: EXIT_STATUS.hostFailure,
            message: `KVM internal error (suberror ${run.internal.suberror}, data ${run.internal.data.map((x) => '0x' + (x >>> 0).toString(16)).join(' ')}) at ${csEip(vcpu)}`,
          });
          break;
        default:
          requestStop({ status: EXIT_STATUS.hostFailure, message: `unexpected KVM exit ${KVM_EXIT_NAMES[run.exitReason] ?? run.exitReason}` });
      }
    }
    if (o.stats) deviceCounters = await link.deviceStats().catch(() => ({}));
  } finally {
    runMs = performance.now() - runStart;
    await link.close();
    vm.destroy();
  }
  const final = stop as Stop;
  if (final.message) process.stderr.write(`tskvm: ${final.message}\n`);
  if (o.stats) reportStats(o.stats, vm, link.stats, runMs, deviceCounters);
  return final.status;
}

/**
 * Virtual time: the device model sees the guest's time before every synchronous message; the
 * vCPU stops exactly at the next device-model or in-kernel timer deadline; a halted vCPU jumps
 * the clock to that deadline instead of waiting. A doorbell ends the slice and the vCPU waits
 * until the device model has processed the queue, so completion interrupts arrive at the
 * instruction after the notify, not whenever the host got round to them. Returns what to do
 * after a doorbell.
 */
function useVirtualClock(vm: Vm, vcpu: Vcpu, link: DeviceLink): () => void {
  const now = (): number => vm.clock.nowNs(vcpu.cpu.instructionCount);
  let doorbellRang = false;
  link.useVirtualClock(now);
  vcpu.budget = () => (link.nextDeadline < 0 ? DEFAULT_SLICE : Math.min(DEFAULT_SLICE, vm.clock.instructionsUntil(link.nextDeadline, vcpu.cpu.instructionCount)));
  vm.sliceEnd = async () => {
    if (doorbellRang || (link.nextDeadline >= 0 && now() >= link.nextDeadline)) {
      doorbellRang = false;
      await link.sync();
    }
  };
  vm.haltPolicy = async () => {
    const candidates = [link.nextDeadline, vm.kernelTimers.next].filter((d) => d >= 0);
    if (candidates.length === 0) return new Promise<boolean>((resolve) => vm.onKick(() => resolve(true)));
    vm.clock.skipTo(Math.min(...candidates), vcpu.cpu.instructionCount);
    vm.kernelTimers.runDue();
    if (link.nextDeadline >= 0 && now() >= link.nextDeadline) await link.sync();
    return true;
  };
  return () => {
    doorbellRang = true;
    vcpu.endSlice();
  };
}

function csEip(vcpu: Vcpu): string {
  const cs = vcpu.vmcsRead(F.GUEST_CS_SELECTOR);
  const eip = vcpu.vmcsRead(F.GUEST_RIP) >>> 0;
  return `CS:EIP ${cs.toString(16).padStart(4, '0')}:${eip.toString(16).padStart(8, '0')}`;
}
