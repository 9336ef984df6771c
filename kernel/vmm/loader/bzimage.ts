/**
 * Linux bzImage, started through the 32-bit boot protocol (facts §7; Linux
 * Documentation/arch/x86/boot.rst): the protected-mode kernel at 1 MiB, a zero page (boot_params)
 * with the setup header copied from the image, the loader's fields filled in and an e820 map,
 * the command line and the initrd; entry at code32_start with ESI = zero page, flat 32-bit
 * segments 0x10/0x18, paging and interrupts off. The real-mode setup code is never run: it would
 * ask a BIOS for what the loader writes here.
 */
import type { BootImage, LoadSegment } from './boot-image.js';
import { ImageError } from './image-error.js';

/** Setup-header offsets (= offsets inside boot_params). */
const HDR = {
  setupSects: 0x1f1,
  bootFlag: 0x1fe,
  jump: 0x200,
  header: 0x202,
  version: 0x206,
  vidMode: 0x1fa,
  typeOfLoader: 0x210,
  loadflags: 0x211,
  code32Start: 0x214,
  ramdiskImage: 0x218,
  ramdiskSize: 0x21c,
  cmdLinePtr: 0x228,
  initrdAddrMax: 0x22c,
  cmdlineSize: 0x238,
  initSize: 0x260,
} as const;
/** Other boot_params fields (facts §7.2). */
const BP = { altMemK: 0x1e0, e820Entries: 0x1e8, e820Table: 0x2d0, size: 0x1000 } as const;
/** Boot sector plus one setup sector: the least a bzImage with a setup header can be. */
const SETUP_HEADER_BYTES = 1024;
/** The setup header ends before edd_mbr_sig_buffer whatever its version says. */
const HDR_LIMIT = 0x290;

const HDRS_MAGIC = 0x53726448; // "HdrS"
const BOOT_FLAG = 0xaa55;
const LOADED_HIGH = 0x01;
/** Oldest protocol with cmd_line_ptr and initrd_addr_max. */
const MIN_VERSION = 0x0203;
/** type_of_loader: no assigned boot-loader id. */
const LOADER_UNKNOWN = 0xff;
const VID_MODE_NORMAL = 0xffff;

/** Where the loader puts things below 1 MiB (Firecracker's layout). */
export const ZERO_PAGE_ADDR = 0x7000;
export const CMDLINE_ADDR = 0x20000;
const CMDLINE_MAX = 0x10000;
/** The protected-mode kernel's load address (LOADED_HIGH). */
export const KERNEL_ADDR = 0x100000;
/** Top of conventional memory in the e820 map: the EBDA convention. */
const LOW_RAM_END = 0x9fc00;
const E820_RAM = 1;
const E820_RESERVED = 2;

const PAGE = 0x1000;

export function isBzImage(image: Uint8Array): boolean {
  return image.length >= HDR.header + 4 && view(image).getUint32(HDR.header, true) === HDRS_MAGIC;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export function loadBzImage(image: Uint8Array, opts: { memSize: number; cmdline: string; initrd?: Uint8Array | undefined }): BootImage {
  // the boot sector and the first setup sector hold every header field read here
  if (image.length < SETUP_HEADER_BYTES) throw new ImageError(`bzImage: truncated (${image.length} bytes, less than its boot sector and setup header)`);
  const h = view(image);
  const version = h.getUint16(HDR.version, true);
  if (h.getUint16(HDR.bootFlag, true) !== BOOT_FLAG) throw new ImageError('bzImage: boot_flag is not 0xAA55');
  if (version < MIN_VERSION) {
    throw new ImageError(`bzImage: boot protocol ${version >> 8}.${String(version & 0xff).padStart(2, '0')} is too old (2.03 or later needed)`);
  }
  if ((h.getUint8(HDR.loadflags) & LOADED_HIGH) === 0) throw new ImageError('bzImage: a zImage (not loaded high) cannot be booted');
  const setupSects = h.getUint8(HDR.setupSects) || 4;
  const pmStart = (setupSects + 1) * 512;
  if (pmStart >= image.length) throw new ImageError(`bzImage: truncated (setup is ${setupSects} sectors, file is ${image.length} bytes)`);
  const kernel = image.subarray(pmStart);
  // init_size (2.10+): what the kernel needs from its load address while it decompresses itself.
  const need = Math.max(kernel.length, version >= 0x020a ? h.getUint32(HDR.initSize, true) : 0);
  if (KERNEL_ADDR + need > opts.memSize) {
    throw new ImageError(`bzImage: the kernel needs ${hex(need)} bytes from ${hex(KERNEL_ADDR)}, more than --mem gives`);
  }

  const cmdlineMax = version >= 0x0206 ? h.getUint32(HDR.cmdlineSize, true) : 255;
  const cmdline = new TextEncoder().encode(opts.cmdline);
  if (cmdline.length > Math.min(cmdlineMax, CMDLINE_MAX - 1)) {
    throw new ImageError(`kernel command line is ${cmdline.length} bytes; this kernel takes at most ${cmdlineMax}`);
  }

  const zp = new Uint8Array(BP.size);
  const z = view(zp);
  const hdrEnd = Math.min(HDR.jump + 2 + h.getUint8(HDR.jump + 1), HDR_LIMIT, image.length);
  zp.set(image.subarray(HDR.setupSects, hdrEnd), HDR.setupSects);
  z.setUint16(HDR.vidMode, VID_MODE_NORMAL, true);
  z.setUint8(HDR.typeOfLoader, LOADER_UNKNOWN);
  z.setUint32(HDR.cmdLinePtr, CMDLINE_ADDR, true);
  z.setUint32(BP.altMemK, Math.floor((opts.memSize - KERNEL_ADDR) / 1024), true);

  const segments: LoadSegment[] = [{ gpa: KERNEL_ADDR, data: kernel, memSize: kernel.length }];
  if (opts.initrd && opts.initrd.length > 0) {
    // As high as allowed, page aligned: out of the way of the kernel's decompression.
    const max = h.getUint32(HDR.initrdAddrMax, true);
    const top = Math.min(opts.memSize, max + 1);
    const at = Math.floor((top - opts.initrd.length) / PAGE) * PAGE;
    if (at < KERNEL_ADDR + need) throw new ImageError(`initrd (${opts.initrd.length} bytes) does not fit in RAM between the kernel and ${hex(top)}`);
    z.setUint32(HDR.ramdiskImage, at, true);
    z.setUint32(HDR.ramdiskSize, opts.initrd.length, true);
    segments.push({ gpa: at, data: opts.initrd, memSize: opts.initrd.length });
  }

  const e820: [number, number, number][] = [
    [0, LOW_RAM_END, E820_RAM],
    [LOW_RAM_END, 0xa0000 - LOW_RAM_END, E820_RESERVED],
    [KERNEL_ADDR, opts.memSize - KERNEL_ADDR, E820_RAM],
  ];
  z.setUint8(BP.e820Entries, e820.length);
  e820.forEach(([addr, size, type], i) => {
    const at = BP.e820Table + i * 20;
    z.setBigUint64(at, BigInt(addr), true);
    z.setBigUint64(at + 8, BigInt(size), true);
    z.setUint32(at + 16, type, true);
  });

  const line = new Uint8Array(cmdline.length + 1);
  line.set(cmdline);
  segments.push({ gpa: ZERO_PAGE_ADDR, data: zp, memSize: zp.length }, { gpa: CMDLINE_ADDR, data: line, memSize: line.length });
  const entry = h.getUint32(HDR.code32Start, true) || KERNEL_ADDR;
  return { format: 'bzimage', segments, start: { mode: 'pm32', entry, regs: { esi: ZERO_PAGE_ADDR } } };
}
