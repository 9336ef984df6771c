/**
 * The firmware ROM of `tskvm run --bios FILE`, mapped the way QEMU's PC machine maps it
 * (hw/i386/x86-common.c): the whole image read-only just below 4 GiB ("pc.bios"), and its last
 * min(size, 128 KiB) once more just below 1 MiB ("isa-bios"), inside the PC hole that GuestRam
 * leaves out of RAM. Both are read-only KVM memslots over one HVA buffer: reads come from the
 * ROM, guest writes become KVM_EXIT_MMIO, which the VMM drops as QEMU does for ROM.
 */
import type { HostAddressSpace } from '../hw/host-address-space.js';
import { KVM_MEM } from '../kvm/memslots.js';
import type { Vm } from '../kvm/vm.js';
import { PC_HOLE_END } from './guest-ram.js';
import { ImageError } from './loader/image-error.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** QEMU's rule for -bios: a non-zero multiple of 64 KiB, at most 16 MiB. */
export const BIOS_SIZE_ALIGN = 64 * KiB;
export const BIOS_MAX_SIZE = 16 * MiB;
/** How much of the ROM's end also appears below 1 MiB. */
export const ISA_BIOS_MAX_SIZE = 128 * KiB;
export const FOUR_GIB = 0x1_0000_0000;

/** One guest-physical window of the ROM. */
export interface RomWindow {
  readonly name: 'pc.bios' | 'isa-bios';
  readonly gpa: number;
  readonly size: number;
  /** Offset into the ROM image of the window's first byte. */
  readonly romOffset: number;
  readonly slot: number;
}

/** Where a ROM of `size` bytes appears, before any memslot exists. */
export function biosWindows(size: number, firstSlot: number): RomWindow[] {
  const isaSize = Math.min(size, ISA_BIOS_MAX_SIZE);
  return [
    { name: 'pc.bios', gpa: FOUR_GIB - size, size, romOffset: 0, slot: firstSlot },
    { name: 'isa-bios', gpa: PC_HOLE_END - isaSize, size: isaSize, romOffset: size - isaSize, slot: firstSlot + 1 },
  ];
}

/** Throws ImageError (exit status 65) unless `size` is a ROM size QEMU accepts. */
export function checkBiosSize(size: number, path: string): void {
  if (size === 0 || size % BIOS_SIZE_ALIGN !== 0 || size > BIOS_MAX_SIZE) {
    throw new ImageError(`bios image '${path}' is ${size} bytes: it must be a non-zero multiple of 64 KiB and at most 16 MiB`);
  }
}

export class BiosRom {
  readonly windows: readonly RomWindow[];

  /** Copy `image` into fresh host memory and register both windows as read-only memslots. */
  constructor(process: HostAddressSpace, vm: Vm, image: Uint8Array, path: string, firstSlot: number) {
    checkBiosSize(image.length, path);
    const hva = process.mmap(image.length);
    process.write(hva, image);
    this.windows = biosWindows(image.length, firstSlot);
    for (const w of this.windows) {
      vm.setUserMemoryRegion({ slot: w.slot, flags: KVM_MEM.READONLY, guestPhysAddr: w.gpa, memorySize: w.size, userspaceAddr: hva + w.romOffset });
    }
  }

  /** Does [gpa, gpa+len) touch the ROM? Such guest writes are dropped. */
  contains(gpa: number, len: number): boolean {
    return this.windows.some((w) => gpa < w.gpa + w.size && w.gpa < gpa + len);
  }
}
