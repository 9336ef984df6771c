import { ATA_LBA28_MAX, ATA_MAX_MULT_SECTORS } from './ata-regs.js';

/** A CHS geometry (heads 1-16, sectors per track 1-255). */
export interface AtaGeometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** What IDENTIFY DEVICE describes. */
export interface AtaIdentifyParams {
  sectors: number; // capacity in 512-byte sectors
  model: string;
  serial: string;
  firmware: string;
  defaultGeometry: AtaGeometry;
  currentGeometry: AtaGeometry;
  multipleCount: number; // 0 = READ/WRITE MULTIPLE disabled
  writeCache: boolean;
}

/** IDENTIFY DEVICE word numbers and bits used below (ATA8-ACS 7.16, table 45). */
export const IDENTIFY_WORD = {
  GENERAL_CONFIG: 0,
  CYLINDERS: 1,
  HEADS: 3,
  SECTORS_PER_TRACK: 6,
  SERIAL: 10, // 10 words
  FIRMWARE: 23, // 4 words
  MODEL: 27, // 20 words
  MAX_MULTIPLE: 47,
  CAPABILITIES: 49,
  CAPABILITIES2: 50,
  PIO_TIMING: 51,
  FIELD_VALID: 53,
  CUR_CYLINDERS: 54,
  CUR_HEADS: 55,
  CUR_SECTORS: 56,
  CUR_CAPACITY: 57, // 2 words
  MULTIPLE_SETTING: 59,
  LBA28_CAPACITY: 60, // 2 words
  PIO_MODES: 64,
  MIN_MDMA_CYCLE: 65,
  REC_MDMA_CYCLE: 66,
  MIN_PIO_CYCLE: 67,
  MIN_PIO_IORDY_CYCLE: 68,
  MAJOR_VERSION: 80,
  MINOR_VERSION: 81,
  COMMAND_SET1: 82,
  COMMAND_SET2: 83,
  COMMAND_SET_EXT: 84,
  ENABLED1: 85,
  ENABLED2: 86,
  ENABLED_EXT: 87,
  HW_RESET: 93,
  LBA48_CAPACITY: 100, // 4 words
  SECTOR_SIZE_INFO: 106,
  INTEGRITY: 255,
} as const;

/** Bit values in the words above. */
export const IDENTIFY_BIT = {
  FIXED_DEVICE: 0x0040, // word 0: not removable, ATA device (bit 15 = 0)
  MULTIPLE_MAGIC: 0x8000, // word 47 bits 15:8 = 0x80
  CAP_LBA: 0x0200, // word 49
  CAP_IORDY: 0x0800,
  MUST_BE_ONE: 0x4000, // words 50, 83, 84, 87, 93, 106: bit 14 = 1, bit 15 = 0
  VALID_54_58: 0x0001, // word 53
  VALID_64_70: 0x0002,
  MULTIPLE_VALID: 0x0100, // word 59
  PIO3_PIO4: 0x0003, // word 64
  WRITE_CACHE: 0x0020, // words 82/85
  LBA48: 0x0400, // words 83/86
  FLUSH_CACHE: 0x1000,
  FLUSH_CACHE_EXT: 0x2000,
  DEVICE0_PASSED: 0x0001, // word 93: device 0, diagnostics passed via jumper
  INTEGRITY_SIGNATURE: 0x00a5, // word 255 low byte
} as const;

/** ATA-4 through ATA-7 supported (word 80). */
const MAJOR_ATA4_TO_7 = 0x00f0;
/** Word 81: ATA/ATAPI-7 T13 1532D revision 1 (any plausible minor version will do). */
const MINOR_ATA7 = 0x0019;
/** Word 51: PIO transfer cycle timing mode 2 (obsolete but still read by old drivers). */
const PIO_TIMING_MODE2 = 0x0200;
/** Words 65-68: 120 ns cycle times, the fastest PIO 4 / MDMA 2 figures. */
const CYCLE_120NS = 120;

/**
 * Store an ATA string: two characters per word, the first in the high byte ("byte-swapped"
 * relative to a little-endian byte dump), padded with spaces.
 */
export function putAtaString(words: Uint16Array, first: number, wordCount: number, text: string): void {
  const chars = text.padEnd(wordCount * 2, ' ').slice(0, wordCount * 2);
  for (let i = 0; i < wordCount; i++) {
    const hi = chars.charCodeAt(2 * i) & 0x7f;
    const lo = chars.charCodeAt(2 * i + 1) & 0x7f;
    words[first + i] = (hi << 8) | lo;
  }
}

/** Read an ATA string back (for tests and tools). */
export function getAtaString(words: Uint16Array, first: number, wordCount: number): string {
  let s = '';
  for (let i = 0; i < wordCount; i++) {
    const w = words[first + i] ?? 0;
    s += String.fromCharCode(w >> 8, w & 0xff);
  }
  return s.trimEnd();
}

/** The usual BIOS translation: 16 heads, 63 sectors, at most 16383 cylinders (tiny disks shrink). */
export function defaultGeometry(sectors: number): AtaGeometry {
  const heads = sectors >= 16 * 63 ? 16 : 1;
  const sectorsPerTrack = sectors >= 16 * 63 ? 63 : Math.max(1, Math.min(63, sectors));
  const cylinders = Math.max(1, Math.min(16383, Math.floor(sectors / (heads * sectorsPerTrack))));
  return { cylinders, heads, sectorsPerTrack };
}

/** Build the 256-word IDENTIFY DEVICE data (ATA8-ACS 7.16) with a valid integrity word. */
export function buildIdentify(p: AtaIdentifyParams): Uint16Array {
  const W = IDENTIFY_WORD;
  const B = IDENTIFY_BIT;
  const w = new Uint16Array(256);
  w[W.GENERAL_CONFIG] = B.FIXED_DEVICE;
  w[W.CYLINDERS] = p.defaultGeometry.cylinders;
  w[W.HEADS] = p.defaultGeometry.heads;
  w[W.SECTORS_PER_TRACK] = p.defaultGeometry.sectorsPerTrack;
  putAtaString(w, W.SERIAL, 10, p.serial);
  putAtaString(w, W.FIRMWARE, 4, p.firmware);
  putAtaString(w, W.MODEL, 20, p.model);
  w[W.MAX_MULTIPLE] = B.MULTIPLE_MAGIC | ATA_MAX_MULT_SECTORS;
  w[W.CAPABILITIES] = B.CAP_LBA | B.CAP_IORDY;
  w[W.CAPABILITIES2] = B.MUST_BE_ONE;
  w[W.PIO_TIMING] = PIO_TIMING_MODE2;
  w[W.FIELD_VALID] = B.VALID_54_58 | B.VALID_64_70;
  const cur = p.currentGeometry;
  const curCapacity = Math.min(cur.cylinders * cur.heads * cur.sectorsPerTrack, p.sectors, 0xffffffff);
  w[W.CUR_CYLINDERS] = cur.cylinders;
  w[W.CUR_HEADS] = cur.heads;
  w[W.CUR_SECTORS] = cur.sectorsPerTrack;
  w[W.CUR_CAPACITY] = curCapacity & 0xffff;
  w[W.CUR_CAPACITY + 1] = curCapacity >>> 16;
  w[W.MULTIPLE_SETTING] = p.multipleCount > 0 ? B.MULTIPLE_VALID | p.multipleCount : 0;
  const lba28 = Math.min(p.sectors, ATA_LBA28_MAX);
  w[W.LBA28_CAPACITY] = lba28 & 0xffff;
  w[W.LBA28_CAPACITY + 1] = lba28 >>> 16;
  w[W.PIO_MODES] = B.PIO3_PIO4;
  w[W.MIN_MDMA_CYCLE] = CYCLE_120NS;
  w[W.REC_MDMA_CYCLE] = CYCLE_120NS;
  w[W.MIN_PIO_CYCLE] = CYCLE_120NS;
  w[W.MIN_PIO_IORDY_CYCLE] = CYCLE_120NS;
  w[W.MAJOR_VERSION] = MAJOR_ATA4_TO_7;
  w[W.MINOR_VERSION] = MINOR_ATA7;
  w[W.COMMAND_SET1] = B.WRITE_CACHE;
  w[W.COMMAND_SET2] = B.MUST_BE_ONE | B.FLUSH_CACHE_EXT | B.FLUSH_CACHE | B.LBA48;
  w[W.COMMAND_SET_EXT] = B.MUST_BE_ONE;
  w[W.ENABLED1] = p.writeCache ? B.WRITE_CACHE : 0;
  w[W.ENABLED2] = B.FLUSH_CACHE_EXT | B.FLUSH_CACHE | B.LBA48;
  w[W.ENABLED_EXT] = B.MUST_BE_ONE;
  w[W.HW_RESET] = B.MUST_BE_ONE | B.DEVICE0_PASSED;
  // 48-bit capacity, 4 words little-endian; split so no bit operation truncates to 32 bits.
  let rest = p.sectors;
  for (let i = 0; i < 4; i++) {
    w[W.LBA48_CAPACITY + i] = rest % 0x10000;
    rest = Math.floor(rest / 0x10000);
  }
  w[W.SECTOR_SIZE_INFO] = B.MUST_BE_ONE; // one 512-byte logical sector per physical sector
  // Integrity word: signature 0xA5 and a checksum making all 512 bytes sum to 0 mod 256.
  let sum = B.INTEGRITY_SIGNATURE;
  for (let i = 0; i < 255; i++) sum += (w[i]! & 0xff) + (w[i]! >> 8);
  w[W.INTEGRITY] = (((256 - (sum & 0xff)) & 0xff) << 8) | B.INTEGRITY_SIGNATURE;
  return w;
}
