/**
 * Multiboot v1 (Multiboot Specification 0.6.96 §3.1 header, §3.2 machine state, §3.3 info):
 * ELF32 kernels and the a.out kludge (header flag 16). The loader writes the boot information
 * structure, command line, memory map and modules (the initrd as module 0) below 1 MiB and in
 * the space right after the kernel, then starts the vCPU in flat 32-bit protected mode with
 * EAX = 0x2BADB002 and EBX = the info structure's address.
 */
import type { BootImage, LoadSegment } from './boot-image.js';
import { isElf, parseElf32 } from './elf32.js';
import { ImageError } from './image-error.js';

export const MULTIBOOT = {
  headerMagic: 0x1badb002,
  bootloaderMagic: 0x2badb002,
  searchLimit: 8192,
  /** Header flags the loader honours: 0 page-align modules, 1 memory info, 2 video (text mode only). */
  flagPageAlign: 1 << 0,
  flagMemInfo: 1 << 1,
  flagVideo: 1 << 2,
  flagAoutKludge: 1 << 16,
  /** Info-structure flags (§3.3). */
  infoMem: 1 << 0,
  infoCmdline: 1 << 2,
  infoMods: 1 << 3,
  infoMmap: 1 << 6,
  infoLoaderName: 1 << 9,
  /** Where the loader puts its own structures (conventional memory, below the EBDA). */
  infoAddr: 0x9000,
  mmapType: { ram: 1, reserved: 2 },
} as const;

export interface MultibootHeader {
  offset: number;
  flags: number;
  aout?: { headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number };
}

/** Find a valid multiboot header in the first 8 KiB (4-byte aligned, checksum sums to zero). */
export function findMultibootHeader(image: Uint8Array): MultibootHeader | undefined {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const limit = Math.min(image.length, MULTIBOOT.searchLimit) - 12;
  for (let off = 0; off <= limit; off += 4) {
    if (v.getUint32(off, true) !== MULTIBOOT.headerMagic) continue;
    const flags = v.getUint32(off + 4, true);
    const checksum = v.getUint32(off + 8, true);
    if (((MULTIBOOT.headerMagic + flags + checksum) >>> 0) !== 0) continue;
    const header: MultibootHeader = { offset: off, flags };
    if (flags & MULTIBOOT.flagAoutKludge) {
      if (off + 32 > image.length) throw new ImageError('multiboot header with address fields is truncated');
      header.aout = {
        headerAddr: v.getUint32(off + 12, true),
        loadAddr: v.getUint32(off + 16, true),
        loadEndAddr: v.getUint32(off + 20, true),
        bssEndAddr: v.getUint32(off + 24, true),
        entryAddr: v.getUint32(off + 28, true),
      };
    }
    return header;
  }
  return undefined;
}

export interface MultibootOptions {
  memSize: number; // bytes of guest RAM
  cmdline: string;
  initrd?: Uint8Array | undefined;
  initrdName?: string;
}

/** Load a multiboot v1 kernel image. */
export function loadMultiboot(image: Uint8Array, header: MultibootHeader, opts: MultibootOptions): BootImage {
  const unsupported = header.flags & 0xffff & ~(MULTIBOOT.flagPageAlign | MULTIBOOT.flagMemInfo | MULTIBOOT.flagVideo);
  if (unsupported) throw new ImageError(`multiboot header requires unsupported features (flags 0x${unsupported.toString(16)})`);

  let kernel: { entry: number; segments: LoadSegment[] };
  if (header.aout) {
    const a = header.aout;
    // The header's file offset corresponds to headerAddr; loading starts loadAddr bytes before it.
    const fileStart = header.offset - (a.headerAddr - a.loadAddr);
    const loadEnd = a.loadEndAddr === 0 ? a.loadAddr + (image.length - fileStart) : a.loadEndAddr;
    if (fileStart < 0 || a.headerAddr < a.loadAddr || loadEnd < a.loadAddr) throw new ImageError('multiboot a.out addresses are inconsistent');
    const fileLen = loadEnd - a.loadAddr;
    if (fileStart + fileLen > image.length) throw new ImageError('multiboot a.out load range extends past the end of the file');
    const bssEnd = a.bssEndAddr === 0 ? loadEnd : a.bssEndAddr;
    if (bssEnd < loadEnd) throw new ImageError('multiboot bss_end_addr is below load_end_addr');
    kernel = { entry: a.entryAddr, segments: [{ gpa: a.loadAddr, data: image.subarray(fileStart, fileStart + fileLen), memSize: bssEnd - a.loadAddr }] };
  } else if (isElf(image)) {
    kernel = parseElf32(image);
  } else {
    throw new ImageError('multiboot image is neither ELF32 nor uses the a.out kludge (header flag 16)');
  }
  for (const s of kernel.segments) {
    if (s.gpa < 0x100000 && s.gpa + s.memSize > MULTIBOOT.infoAddr) {
      // Kernels below 1 MiB would overlap the loader's info area; none of ours do, refuse clearly.
      throw new ImageError(`multiboot segment at 0x${s.gpa.toString(16)} overlaps the boot information area`);
    }
    if (s.gpa + s.memSize > opts.memSize) throw new ImageError(`kernel segment at 0x${s.gpa.toString(16)} does not fit in ${opts.memSize >>> 20} MiB of RAM`);
  }

  const kernelEnd = Math.max(...kernel.segments.map((s) => s.gpa + s.memSize));
  const info = buildInfo(opts, kernelEnd);
  return {
    format: 'multiboot',
    segments: [...kernel.segments, ...info.segments],
    start: { mode: 'pm32', entry: kernel.entry, regs: { eax: MULTIBOOT.bootloaderMagic, ebx: MULTIBOOT.infoAddr } },
  };
}

/** Boot information structure (§3.3) plus the strings and memory map it points to. */
function buildInfo(opts: MultibootOptions, kernelEnd: number): { segments: LoadSegment[] } {
  const base = MULTIBOOT.infoAddr;
  const area = new Uint8Array(0x1000);
  const v = new DataView(area.buffer);
  const enc = new TextEncoder();
  let cursor = 0x80; // after the 88-byte info structure
  const put = (bytes: Uint8Array): number => {
    const at = cursor;
    if (at + bytes.length + 1 > area.length) throw new ImageError('kernel command line is too long (over 3 KiB)');
    area.set(bytes, at);
    cursor = (at + bytes.length + 1 + 3) & ~3; // NUL-terminated, keep 4-byte alignment
    return base + at;
  };

  const lowKiB = 640;
  const highKiB = Math.max(0, Math.floor((opts.memSize - 0x100000) / 1024));
  let flags = MULTIBOOT.infoMem | MULTIBOOT.infoCmdline | MULTIBOOT.infoMmap | MULTIBOOT.infoLoaderName;
  v.setUint32(4, lowKiB, true);
  v.setUint32(8, highKiB, true);
  v.setUint32(16, put(enc.encode(opts.cmdline)), true);
  v.setUint32(64, put(enc.encode('tskvm')), true);

  const mmap: Array<[number, number, number]> = [
    [0, 0x9fc00, MULTIBOOT.mmapType.ram],
    [0x9fc00, 0x100000 - 0x9fc00, MULTIBOOT.mmapType.reserved],
    [0x100000, Math.max(0, opts.memSize - 0x100000), MULTIBOOT.mmapType.ram],
  ];
  const mmapAt = cursor;
  for (const [addr, len, type] of mmap) {
    v.setUint32(cursor, 20, true); // size of the entry, not counting this field
    v.setUint32(cursor + 4, addr, true);
    v.setUint32(cursor + 8, 0, true);
    v.setUint32(cursor + 12, len, true);
    v.setUint32(cursor + 16, 0, true);
    v.setUint32(cursor + 20, type, true);
    cursor += 24;
  }
  v.setUint32(44, cursor - mmapAt, true);
  v.setUint32(48, base + mmapAt, true);

  const segments: LoadSegment[] = [];
  if (opts.initrd) {
    // Module 0 goes on the first page boundary after the kernel (page-aligned either way).
    const modStart = (kernelEnd + 0xfff) & ~0xfff;
    const modEnd = modStart + opts.initrd.length;
    if (modEnd > opts.memSize) throw new ImageError(`initrd (${opts.initrd.length} bytes) does not fit in RAM after the kernel`);
    const modsAt = cursor;
    v.setUint32(cursor, modStart, true);
    v.setUint32(cursor + 4, modEnd, true);
    cursor += 16;
    v.setUint32(modsAt + 8, put(enc.encode(opts.initrdName ?? 'initrd')), true);
    v.setUint32(20, 1, true);
    v.setUint32(24, base + modsAt, true);
    flags |= MULTIBOOT.infoMods;
    segments.push({ gpa: modStart, data: opts.initrd, memSize: opts.initrd.length });
  }
  v.setUint32(0, flags, true);
  segments.unshift({ gpa: base, data: area.subarray(0, cursor), memSize: cursor });
  return { segments };
}
