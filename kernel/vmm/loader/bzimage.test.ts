/**
 * The bzImage loader against the boot protocol (facts §7): what lands in guest memory, the entry
 * state, and one clear ImageError for each way an image or its arguments can be unusable.
 */
import { describe, expect, it } from 'vitest';
import { readGuestImage } from '../../../guests/catalog.js';
import { loadImage } from './detect.js';
import { CMDLINE_ADDR, KERNEL_ADDR, loadBzImage, ZERO_PAGE_ADDR } from './bzimage.js';
import { ImageError } from './image-error.js';

const MEM = 64 << 20;
const image = readGuestImage('linux-boot');

function patched(edit: (v: DataView, b: Uint8Array) => void): Uint8Array {
  const b = Uint8Array.from(image);
  edit(new DataView(b.buffer), b);
  return b;
}

function segmentAt(img: ReturnType<typeof loadBzImage>, gpa: number): Uint8Array {
  const s = img.segments.find((x) => x.gpa === gpa);
  if (!s) throw new Error(`no segment at 0x${gpa.toString(16)}`);
  return s.data;
}

describe('bzImage loader (32-bit boot protocol)', () => {
  it('is detected by --kernel and starts at code32_start with ESI = zero page in flat pm32', () => {
    const img = loadImage(image, { memSize: MEM, cmdline: 'root=/dev/ram0' });
    expect(img.format).toBe('bzimage');
    expect(img.start).toEqual({ mode: 'pm32', entry: KERNEL_ADDR, regs: { esi: ZERO_PAGE_ADDR } });
    // The protected-mode part, from (setup_sects + 1) * 512 in the file, at 1 MiB.
    const setupSects = image[0x1f1]!;
    expect(segmentAt(img, KERNEL_ADDR)).toEqual(image.subarray((setupSects + 1) * 512));
  });

  it('fills the zero page: header copy, loader fields, command line, e820', () => {
    const img = loadBzImage(image, { memSize: MEM, cmdline: 'console=ttyS0' });
    const zp = segmentAt(img, ZERO_PAGE_ADDR);
    const z = new DataView(zp.buffer, zp.byteOffset);
    expect(zp.length).toBe(4096);
    expect(z.getUint32(0x202, true)).toBe(0x53726448); // HdrS
    expect(z.getUint16(0x206, true)).toBe(0x020f);
    expect(zp.subarray(0x214, 0x218)).toEqual(image.subarray(0x214, 0x218)); // code32_start kept
    expect(z.getUint8(0x210)).toBe(0xff); // type_of_loader: no assigned id
    expect(z.getUint16(0x1fa, true)).toBe(0xffff); // vid_mode: normal
    expect(z.getUint32(0x228, true)).toBe(CMDLINE_ADDR);
    expect(new TextDecoder().decode(segmentAt(img, CMDLINE_ADDR))).toBe('console=ttyS0\0');
    expect(z.getUint32(0x218, true)).toBe(0); // no initrd
    expect(z.getUint32(0x1e0, true)).toBe((MEM - (1 << 20)) / 1024);
    expect(z.getUint8(0x1e8)).toBe(3);
    const e820 = [0, 1, 2].map((i) => {
      const at = 0x2d0 + i * 20;
      return [Number(z.getBigUint64(at, true)), Number(z.getBigUint64(at + 8, true)), z.getUint32(at + 16, true)];
    });
    expect(e820).toEqual([[0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0x100000, MEM - 0x100000, 1]]);
    // Nothing after the header is copied from the setup code.
    expect(zp.subarray(0x290).every((b, i) => i + 0x290 >= 0x2d0 || b === 0)).toBe(true);
  });

  it('puts the initrd page-aligned at the top of RAM below initrd_addr_max', () => {
    const initrd = new Uint8Array(10_000).fill(7);
    const img = loadBzImage(image, { memSize: MEM, cmdline: '', initrd });
    const z = new DataView(segmentAt(img, ZERO_PAGE_ADDR).buffer);
    const at = z.getUint32(0x218, true);
    expect(z.getUint32(0x21c, true)).toBe(10_000);
    expect(at % 4096).toBe(0);
    expect(at + 10_000).toBeLessThanOrEqual(MEM);
    expect(at + 10_000 + 4096).toBeGreaterThan(MEM);
    expect(segmentAt(img, at)).toBe(initrd);
    // A lower initrd_addr_max wins over the top of RAM.
    const low = patched((v) => v.setUint32(0x22c, 0x3fffff, true));
    const z2 = new DataView(segmentAt(loadBzImage(low, { memSize: MEM, cmdline: '', initrd }), ZERO_PAGE_ADDR).buffer);
    expect(z2.getUint32(0x218, true) + 10_000 - 1).toBeLessThanOrEqual(0x3fffff);
  });

  const refusals: [string, Uint8Array, { memSize?: number; cmdline?: string; initrd?: Uint8Array }, RegExp][] = [
    ['a bad boot flag', patched((v) => v.setUint16(0x1fe, 0x1234, true)), {}, /boot_flag is not 0xAA55/],
    ['protocol 2.02', patched((v) => v.setUint16(0x206, 0x0202, true)), {}, /boot protocol 2\.02 is too old/],
    ['a zImage', patched((v, b) => v.setUint8(0x211, b[0x211]! & ~1)), {}, /zImage/],
    ['a file that ends in the setup', image.subarray(0, 1024), {}, /truncated/],
    ['a file that ends in the setup header', image.subarray(0, 0x210), {}, /truncated \(528 bytes/],
    ['too little memory', image, { memSize: 1 << 20 }, /more than --mem gives/],
    ['a command line over cmdline_size', image, { cmdline: 'x'.repeat(2048) }, /at most 2047/],
    ['an initrd larger than RAM', image, { memSize: 4 << 20, initrd: new Uint8Array(4 << 20) }, /initrd .* does not fit/],
  ];
  for (const [what, img, o, message] of refusals) {
    it(`refuses ${what} with an ImageError`, () => {
      const load = (): unknown => loadBzImage(img, { memSize: o.memSize ?? MEM, cmdline: o.cmdline ?? '', initrd: o.initrd });
      expect(load).toThrow(ImageError);
      expect(load).toThrow(message);
    });
  }

  it('a header with random bytes anywhere loads or is an ImageError, never another exception', () => {
    let seed = 12345;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const b = Uint8Array.from(image);
      // keep the magic so the loader, not the format detection, sees the damage
      for (let k = 0; k < 1 + (next() % 8); k++) {
        const at = 0x1f1 + (next() % (0x270 - 0x1f1));
        if (at < 0x202 || at >= 0x206) b[at] = next() & 0xff;
      }
      const length = next() % 4 === 0 ? next() % b.length : b.length;
      try {
        const img = loadBzImage(b.subarray(0, length), { memSize: 32 << 20, cmdline: 'x'.repeat(next() % 300), initrd: new Uint8Array(next() % 70_000) });
        for (const seg of img.segments) expect(seg.gpa + seg.memSize).toBeLessThanOrEqual(32 << 20);
      } catch (e) {
        expect(e).toBeInstanceOf(ImageError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(100);
  });
});
