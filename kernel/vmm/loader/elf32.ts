/**
 * ELF32 little-endian i386 executables: the PT_LOAD program headers (System V ABI, ELF header
 * and program header table). Segments load at their physical address (p_paddr), as multiboot
 * loaders and QEMU do.
 */
import type { LoadSegment } from './boot-image.js';
import { ImageError } from './image-error.js';

export const ELF = {
  magic: 0x464c457f, // "\x7fELF"
  classElf32: 1,
  dataLsb: 1,
  typeExec: 2,
  machine386: 3,
  ptLoad: 1,
  ehdrSize: 52,
  phdrSize: 32,
} as const;

export interface Elf32 {
  entry: number;
  segments: LoadSegment[];
}

export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && new DataView(image.buffer, image.byteOffset, image.byteLength).getUint32(0, true) === ELF.magic;
}

/** Parse an ELF32 executable; every inconsistency is an ImageError naming the field. */
export function parseElf32(image: Uint8Array): Elf32 {
  if (image.length < ELF.ehdrSize) throw new ImageError('ELF file is truncated (no complete ELF header)');
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (v.getUint32(0, true) !== ELF.magic) throw new ImageError('not an ELF file');
  if (image[4] !== ELF.classElf32) throw new ImageError('ELF is not 32-bit (ELFCLASS32 required)');
  if (image[5] !== ELF.dataLsb) throw new ImageError('ELF is not little-endian');
  if (v.getUint16(16, true) !== ELF.typeExec) throw new ImageError('ELF is not an executable (ET_EXEC required)');
  if (v.getUint16(18, true) !== ELF.machine386) throw new ImageError('ELF machine is not i386');
  const entry = v.getUint32(24, true);
  const phoff = v.getUint32(28, true);
  const phentsize = v.getUint16(42, true);
  const phnum = v.getUint16(44, true);
  if (phentsize < ELF.phdrSize) throw new ImageError(`ELF program header size ${phentsize} is too small`);
  if (phoff + phnum * phentsize > image.length) throw new ImageError('ELF program headers extend past the end of the file');
  const segments: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (v.getUint32(ph, true) !== ELF.ptLoad) continue;
    const offset = v.getUint32(ph + 4, true);
    const paddr = v.getUint32(ph + 12, true);
    const filesz = v.getUint32(ph + 16, true);
    const memsz = v.getUint32(ph + 20, true);
    if (memsz === 0) continue;
    if (filesz > memsz) throw new ImageError(`ELF segment ${i}: file size exceeds memory size`);
    if (offset + filesz > image.length) throw new ImageError(`ELF segment ${i} extends past the end of the file`);
    if (paddr + memsz > 0x1_0000_0000) throw new ImageError(`ELF segment ${i} does not fit in 4 GiB`);
    segments.push({ gpa: paddr, data: image.subarray(offset, offset + filesz), memSize: memsz });
  }
  if (segments.length === 0) throw new ImageError('ELF has no loadable segments');
  return { entry, segments };
}
