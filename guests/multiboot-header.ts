/**
 * Locating the Multiboot v1 header in an image (Multiboot Specification 0.6.96 §3.1.1: a
 * 32-bit-aligned header within the first 8192 bytes whose magic, flags and checksum sum to 0).
 */

/** Header constants from §3.1.1 and §3.1.2. */
export const MULTIBOOT_HEADER = {
  MAGIC: 0x1badb002,
  /** The header must lie entirely within this many bytes from the start of the image. */
  SEARCH_BYTES: 8192,
  ALIGN: 4,
  /** flags bit 0: align modules on 4 KiB pages. */
  FLAG_PAGE_ALIGN: 1 << 0,
  /** flags bit 1: the boot loader must provide mem_* (and the memory map if available). */
  FLAG_MEMORY_INFO: 1 << 1,
  /** flags bit 16: the a.out-kludge address fields are valid (not needed for ELF). */
  FLAG_AOUT_KLUDGE: 1 << 16,
} as const;

/** A header found at `offset` with its `flags`. */
export interface MultibootHeader {
  readonly offset: number;
  readonly flags: number;
}

/** The first valid header in the search window, or undefined. */
export function findMultibootHeader(image: Uint8Array): MultibootHeader | undefined {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const end = Math.min(image.byteLength, MULTIBOOT_HEADER.SEARCH_BYTES) - 12;
  for (let offset = 0; offset <= end; offset += MULTIBOOT_HEADER.ALIGN) {
    if (view.getUint32(offset, true) !== MULTIBOOT_HEADER.MAGIC) continue;
    const flags = view.getUint32(offset + 4, true);
    const checksum = view.getUint32(offset + 8, true);
    if (((MULTIBOOT_HEADER.MAGIC + flags + checksum) >>> 0) === 0) return { offset, flags };
  }
  return undefined;
}
