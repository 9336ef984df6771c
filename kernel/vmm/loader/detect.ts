/**
 * `--kernel` format detection (DESIGN.md): multiboot v1 (ELF32 or a.out kludge), plain ELF32,
 * Linux bzImage (32-bit boot protocol), or raw with --load/--entry.
 */
import type { BootImage, CpuMode } from './boot-image.js';
import { isBzImage, loadBzImage } from './bzimage.js';
import { isElf, parseElf32 } from './elf32.js';
import { ImageError } from './image-error.js';
import { findMultibootHeader, loadMultiboot } from './multiboot.js';

export interface LoadOptions {
  memSize: number;
  cmdline: string;
  initrd?: Uint8Array | undefined;
  raw?: { load: number; entry: number; mode: CpuMode } | undefined;
}

export function loadImage(image: Uint8Array, opts: LoadOptions): BootImage {
  if (image.length === 0) throw new ImageError('kernel image is empty');
  if (opts.raw) {
    const { load, entry, mode } = opts.raw;
    if (load + image.length > opts.memSize) throw new ImageError(`raw image (${image.length} bytes at 0x${load.toString(16)}) does not fit in RAM`);
    if (mode === 'real' && entry >= 0x100000) throw new ImageError('real-mode entry must be below 1 MiB');
    return { format: 'raw', segments: [{ gpa: load, data: image, memSize: image.length }], start: { mode, entry, regs: {} } };
  }
  const header = findMultibootHeader(image);
  if (header) return loadMultiboot(image, header, { memSize: opts.memSize, cmdline: opts.cmdline, initrd: opts.initrd });
  if (isElf(image)) {
    if (opts.initrd) throw new ImageError('a plain ELF32 kernel cannot take --initrd (multiboot and bzImage kernels can)');
    const elf = parseElf32(image);
    for (const s of elf.segments) {
      if (s.gpa + s.memSize > opts.memSize) throw new ImageError(`ELF segment at 0x${s.gpa.toString(16)} does not fit in RAM`);
    }
    return { format: 'elf', segments: elf.segments, start: { mode: 'pm32', entry: elf.entry, regs: {} } };
  }
  if (isBzImage(image)) return loadBzImage(image, { memSize: opts.memSize, cmdline: opts.cmdline, initrd: opts.initrd });
  throw new ImageError('unrecognised kernel image: not multiboot, not ELF32, and no --load/--entry given for a raw binary');
}
