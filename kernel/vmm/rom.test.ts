/**
 * The --bios ROM mapping: QEMU's size rule, the pc.bios and isa-bios windows, read-only memslots
 * (reads see the ROM, writes are KVM_EXIT_MMIO), the rest of the PC hole left as MMIO, and a
 * vCPU that starts at the reset vector near 4 GiB — under both MMUs.
 */
import { describe, expect, it } from 'vitest';
import { Access, MMIO } from '../cpu/interfaces.js';
import { Kvm } from '../kvm/kvm.js';
import { KVM_EXIT, readLe, writeLe } from '../kvm/kvm-run.js';
import { GuestRam } from './guest-ram.js';
import { ImageError } from './loader/image-error.js';
import { BiosRom, biosWindows, checkBiosSize, FOUR_GIB } from './rom.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A ROM of `size` bytes whose last 64 KiB hold, at offset 0 (F000:0000), this real-mode code
 * (hand-assembled), and at 0xFFF0 the far jump `ljmp F000:0000` (EA 00 00 00 F0):
 *   mov ax,0xF000 ; mov ds,ax ; mov ax,[0x1000] ; mov word [0x1000],0x1234 ; mov bx,[0x1000]
 *   mov cx,0xA000 ; mov ds,cx ; mov dx,[0x0000] ; hlt
 */
function testRom(size: number): Uint8Array {
  const rom = new Uint8Array(size);
  const seg = size - 0x10000; // ROM offset of physical 0xF0000
  const code = [
    0xb8, 0x00, 0xf0, 0x8e, 0xd8, 0xa1, 0x00, 0x10, 0xc7, 0x06, 0x00, 0x10, 0x34, 0x12, 0x8b, 0x1e, 0x00, 0x10,
    0xb9, 0x00, 0xa0, 0x8e, 0xd9, 0x8b, 0x16, 0x00, 0x00, 0xf4,
  ];
  rom.set(code, seg);
  rom.set([0xcd, 0xab], seg + 0x1000); // the word the code reads: 0xABCD
  rom.set([0xea, 0x00, 0x00, 0x00, 0xf0], size - 16);
  if (seg > 0) rom[0] = 0x5a; // a byte outside the code; only the high window shows it beyond 128 KiB
  return rom;
}

function machine(mmu: 'ept' | 'shadow', rom: Uint8Array) {
  const memSize = 16 * MiB;
  const { vm, process } = new Kvm().createVm({ hostMemory: memSize + rom.length + 16 * MiB, mmu, clock: 'virtual' });
  const ram = new GuestRam(process, vm, memSize);
  const bios = new BiosRom(process, vm, rom, 'test.rom', ram.ranges.length);
  return { vm, ram, bios, vcpu: vm.createVcpu(0) };
}

describe('ROM size rule (QEMU: a non-zero multiple of 64 KiB, at most 16 MiB)', () => {
  it('accepts 64 KiB, 128 KiB, 192 KiB and 16 MiB', () => {
    for (const size of [64 * KiB, 128 * KiB, 192 * KiB, 16 * MiB]) expect(() => checkBiosSize(size, 'x')).not.toThrow();
  });
  it('rejects empty, odd-sized and too large ROMs with a one-line ImageError', () => {
    for (const size of [0, 1000, 4 * KiB, 68 * KiB, 16 * MiB + 64 * KiB, 17 * MiB]) {
      expect(() => checkBiosSize(size, 'rom.bin')).toThrow(ImageError);
      expect(() => checkBiosSize(size, 'rom.bin')).toThrow(new RegExp(`^bios image 'rom.bin' is ${size} bytes: .*64 KiB.*16 MiB$`));
    }
  });
});

describe('ROM windows', () => {
  it('a 64 KiB ROM appears at 0xFFFF0000 and, whole, at 0xF0000', () => {
    expect(biosWindows(64 * KiB, 2)).toEqual([
      { name: 'pc.bios', gpa: 0xffff0000, size: 64 * KiB, romOffset: 0, slot: 2 },
      { name: 'isa-bios', gpa: 0xf0000, size: 64 * KiB, romOffset: 0, slot: 3 },
    ]);
  });
  it('a 256 KiB ROM appears at 0xFFFC0000 and its last 128 KiB at 0xE0000', () => {
    expect(biosWindows(256 * KiB, 2)).toEqual([
      { name: 'pc.bios', gpa: 0xfffc0000, size: 256 * KiB, romOffset: 0, slot: 2 },
      { name: 'isa-bios', gpa: 0xe0000, size: 128 * KiB, romOffset: 128 * KiB, slot: 3 },
    ]);
  });
  it('a 16 MiB ROM starts at 0xFF000000', () => {
    const [high] = biosWindows(16 * MiB, 0);
    expect(high?.gpa).toBe(0xff000000);
    expect((high?.gpa ?? 0) + (high?.size ?? 0)).toBe(FOUR_GIB);
  });
});

for (const mmu of ['ept', 'shadow'] as const) {
  describe(`BiosRom with --mmu ${mmu}`, () => {
    it('maps both windows as read-only memslots beside RAM and leaves the rest of the hole unmapped', () => {
      const size = 256 * KiB;
      const rom = testRom(size);
      const { vm, ram, bios } = machine(mmu, rom);
      const slotAt = (gpa: number) => vm.memslots.find(Math.floor(gpa / 4096));
      for (const gpa of [0xe0000, 0xfffff, 0xfffc0000, 0xffffffff]) expect(slotAt(gpa)?.readOnly).toBe(true);
      for (const gpa of [0xa0000, 0xbffff, 0xc0000, 0xdffff]) expect(slotAt(gpa)).toBeUndefined();
      expect(slotAt(0x9ffff)?.readOnly).toBe(false);
      expect(slotAt(0x100000)?.readOnly).toBe(false);
      // The emulator's view: ROM bytes through either window, writes go to MMIO.
      const byteAt = (gpa: number) => vm.hostMem.u8[vm.gpaToHpaForEmulator(gpa, Access.read)];
      expect(byteAt(0xfffffff0)).toBe(0xea);
      expect(byteAt(0xffff0)).toBe(0xea);
      expect(byteAt(0xfffc0000)).toBe(0x5a);
      expect(byteAt(0xe0000)).toBe(rom[128 * KiB]);
      expect(vm.gpaToHpaForEmulator(0xffff0, Access.write)).toBe(MMIO);
      expect(vm.gpaToHpaForEmulator(0xfffffff0, Access.write)).toBe(MMIO);
      // The ROM is not RAM: device-model DMA and image loading cannot reach it.
      expect(ram.contains(0xf0000, 1)).toBe(false);
      expect(ram.contains(0xfffc0000, 1)).toBe(false);
      expect(bios.contains(0xfffffffe, 2)).toBe(true);
      expect(bios.contains(0xdfffe, 4)).toBe(true);
      expect(bios.contains(0xdfffc, 4)).toBe(false);
      expect(bios.contains(0xa0000, 4)).toBe(false);
    });

    for (const size of [64 * KiB, 256 * KiB, 16 * MiB]) {
      it(`a fresh vCPU runs the ${size / KiB} KiB ROM from the reset vector; its writes exit, reads see ROM`, async () => {
        const { vcpu, bios } = machine(mmu, testRom(size));
        const sregs = vcpu.getSregs();
        expect([sregs.cs.selector, sregs.cs.base, vcpu.getRegs().eip, sregs.cr0 & 1]).toEqual([0xf000, 0xffff0000, 0xfff0, 0]);

        const write = await vcpu.runOnce();
        expect(write.exitReason).toBe(KVM_EXIT.MMIO);
        expect([write.mmio.isWrite, write.mmio.physAddr, write.mmio.len, readLe(write.mmio.data, 0, 2)]).toEqual([true, 0xf1000, 2, 0x1234]);
        expect(bios.contains(write.mmio.physAddr, write.mmio.len)).toBe(true);

        // The hole below the ROM is still MMIO for the device model, as without --bios.
        const read = await vcpu.runOnce();
        expect(read.exitReason).toBe(KVM_EXIT.MMIO);
        expect([read.mmio.isWrite, read.mmio.physAddr, read.mmio.len]).toEqual([false, 0xa0000, 2]);
        expect(bios.contains(read.mmio.physAddr, read.mmio.len)).toBe(false);
        writeLe(read.mmio.data, 0, 2, 0xbeef);

        const halt = await vcpu.runOnce();
        expect(halt.exitReason).toBe(KVM_EXIT.HLT);
        const r = vcpu.getRegs();
        expect([r.eax & 0xffff, r.ebx & 0xffff, r.edx & 0xffff]).toEqual([0xabcd, 0xabcd, 0xbeef]);
      });
    }
  });
}
