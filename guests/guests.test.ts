import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUEST_DEVICES, GUEST_ERROR_CODES, GUEST_KINDS, type GuestSpec, GUEST_NAMES, GUESTS, GUESTS_DIR, GuestError, readExpected, readGuestImage, TRANSCRIPT_SOURCES, tskvmExpectedStatus, tskvmRunArgs, VIRTIO_BLK_GUEST_PATTERN } from './catalog.js';
import { MULTIBOOT_HEADER, findMultibootHeader } from './multiboot-header.js';
import { parseTranscript } from './transcript.js';

/** ELF32 header and program header fields used here (System V ABI, "ELF Header", "Program Header"). */
const ELF = {
  MAGIC: 0x464c457f,
  CLASS32: 1,
  DATA_LSB: 1,
  EM_386: 3,
  PT_LOAD: 1,
  E_ENTRY: 24,
  E_PHOFF: 28,
  E_PHENTSIZE: 42,
  E_PHNUM: 44,
  P_TYPE: 0,
  P_PADDR: 12,
  P_FILESZ: 16,
  P_MEMSZ: 20,
  P_VADDR: 8,
} as const;

const ONE_MIB = 0x100000;
/** Images stay small: they are committed. */
const MAX_IMAGE_BYTES = 64 * 1024;
/** exit(0) through isa-debug-exit: QEMU's status is (0 << 1) | 1. */
const STATUS_ALL_PASSED = 1;

interface LoadSegment {
  paddr: number;
  vaddr: number;
  memsz: number;
}

function elfSegments(image: Uint8Array): { entry: number; loads: LoadSegment[] } {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  expect(v.getUint32(0, true)).toBe(ELF.MAGIC);
  expect(image[4]).toBe(ELF.CLASS32);
  expect(image[5]).toBe(ELF.DATA_LSB);
  expect(v.getUint16(18, true)).toBe(ELF.EM_386);
  const phoff = v.getUint32(ELF.E_PHOFF, true);
  const phentsize = v.getUint16(ELF.E_PHENTSIZE, true);
  const loads: LoadSegment[] = [];
  for (let i = 0; i < v.getUint16(ELF.E_PHNUM, true); i++) {
    const ph = phoff + i * phentsize;
    if (v.getUint32(ph + ELF.P_TYPE, true) !== ELF.PT_LOAD) continue;
    loads.push({ paddr: v.getUint32(ph + ELF.P_PADDR, true), vaddr: v.getUint32(ph + ELF.P_VADDR, true), memsz: v.getUint32(ph + ELF.P_MEMSZ, true) });
  }
  return { entry: v.getUint32(ELF.E_ENTRY, true), loads };
}

describe('guest images', () => {
  it('realmode-add.bin is the 12-byte KVM example', () => {
    // mov dx,0x3f8 / add al,bl / add al,'0' / out dx,al / mov al,'\n' / out dx,al / hlt
    const want = [0xba, 0xf8, 0x03, 0x00, 0xd8, 0x04, 0x30, 0xee, 0xb0, 0x0a, 0xee, 0xf4];
    expect([...readGuestImage('realmode-add')]).toEqual(want);
  });

  for (const name of GUEST_NAMES) {
    const spec = GUESTS[name];
    if (spec.kind !== GUEST_KINDS.MULTIBOOT) continue;
    it(`${name} is a multiboot ELF32 loaded at 1 MiB`, () => {
      const image = readGuestImage(name);
      expect(image.byteLength).toBeLessThan(MAX_IMAGE_BYTES);
      const header = findMultibootHeader(image);
      expect(header).toBeDefined();
      expect(header!.offset + 12).toBeLessThanOrEqual(MULTIBOOT_HEADER.SEARCH_BYTES);
      expect(header!.flags & MULTIBOOT_HEADER.FLAG_MEMORY_INFO).toBe(MULTIBOOT_HEADER.FLAG_MEMORY_INFO);
      expect(header!.flags & MULTIBOOT_HEADER.FLAG_AOUT_KLUDGE).toBe(0);
      const { entry, loads } = elfSegments(image);
      expect(loads.length).toBeGreaterThan(0);
      for (const seg of loads) {
        expect(seg.paddr).toBeGreaterThanOrEqual(ONE_MIB);
        expect(seg.vaddr).toBe(seg.paddr);
      }
      expect(loads.some((s) => entry >= s.vaddr && entry < s.vaddr + s.memsz)).toBe(true);
    });
  }

  it('every guest lists known devices, and multiboot guests that exit need debug-exit', () => {
    const known = new Set<string>(Object.values(GUEST_DEVICES));
    for (const name of GUEST_NAMES) {
      const spec: GuestSpec = GUESTS[name];
      for (const d of spec.needs) expect(known.has(d)).toBe(true);
      // triple-fault dies by shutdown and spin never ends: neither uses the debug-exit port.
      if (spec.kind === GUEST_KINDS.MULTIBOOT && name !== 'triple-fault' && name !== 'spin') expect(spec.needs).toContain(GUEST_DEVICES.DEBUG_EXIT);
    }
  });

  it('every file in images/ is in the catalog and every catalog image exists', () => {
    const files = readdirSync(join(GUESTS_DIR, 'images')).filter((f) => !f.startsWith('READY-'));
    expect(files.sort()).toEqual(GUEST_NAMES.map((n) => GUESTS[n].image).sort());
  });
});

describe('expected transcripts', () => {
  for (const name of GUEST_NAMES) {
    const spec: GuestSpec = GUESTS[name];
    if (!spec.selfChecking || spec.transcript === TRANSCRIPT_SOURCES.NONE) continue;
    it(`${name}: every case passes on the reference and DONE counts them`, () => {
      const { output, status } = readExpected(name);
      const t = parseTranscript(Buffer.from(output).toString('utf8'));
      expect(t.failed).toEqual([]);
      expect(t.done).toEqual({ passed: t.passed.length, total: t.passed.length });
      expect(t.passed.length).toBeGreaterThan(0);
      expect(new Set(t.passed).size).toBe(t.passed.length);
      expect(status).toBe(STATUS_ALL_PASSED);
    });
  }

  it('hello prints the greeting and the multiboot magic, then exits with code 0', () => {
    const { output, status } = readExpected('hello');
    expect(Buffer.from(output).toString('utf8')).toBe('Hello from a tskvm guest!\nmultiboot magic: 0x2badb002\n');
    expect(status).toBe(STATUS_ALL_PASSED);
  });

  it('realmode-add prints AL+BL as a digit', () => {
    const spec = GUESTS['realmode-add'];
    const digit = String.fromCharCode('0'.charCodeAt(0) + (spec.registers.eax & 0xff) + (spec.registers.ebx & 0xff));
    expect(Buffer.from(readExpected('realmode-add').output).toString('utf8')).toBe(`${digit}\n`);
  });

  it('triple-fault prints one line and nothing after the fault; tskvm exits 3, QEMU 0', () => {
    const { output, status } = readExpected('triple-fault');
    expect(Buffer.from(output).toString('utf8')).toBe('triple fault next\n');
    expect(status).toBe(0);
    expect(tskvmExpectedStatus('triple-fault')).toBe(3);
    expect(tskvmExpectedStatus('hello')).toBe(STATUS_ALL_PASSED);
  });
});

describe('guests without a reference transcript', () => {
  const none = GUEST_NAMES.filter((n) => GUESTS[n].transcript === TRANSCRIPT_SOURCES.NONE);

  it('have no expected/ files, and all but spin state the status tskvm must give', () => {
    expect(none.length).toBeGreaterThan(10);
    for (const name of none) {
      expect(() => readExpected(name)).toThrow(GuestError);
      if (name === 'spin') continue;
      expect(tskvmExpectedStatus(name)).toBe(STATUS_ALL_PASSED);
    }
  });

  it('benchmarks are marked and are not self-checking', () => {
    const benches = GUEST_NAMES.filter((n) => n.startsWith('bench-'));
    expect(benches.length).toBe(9);
    for (const name of benches) {
      const spec: GuestSpec = GUESTS[name];
      expect(spec.benchmark).toBe(true);
      expect(spec.selfChecking).toBe(false);
    }
  });
});

describe('tskvmRunArgs', () => {
  it('adds the disks in order with their interface, and the virtio console', () => {
    expect(tskvmRunArgs('demo', { disks: ['/tmp/a.img', '/tmp/b.img'] })).toEqual(['--disk', '/tmp/a.img,if=ide', '--disk', '/tmp/b.img,if=virtio', '--console', 'virtio']);
    expect(GUESTS['dev-ata'].run.disks[0].bytes).toBe(1024 * 1024);
  });

  it('passes --append and the hub URL', () => {
    expect(tskvmRunArgs('virtio-net', { hub: 'ws://127.0.0.1:9', append: 'role=ping' })).toEqual(['--append', 'role=ping', '--net', 'hub:ws://127.0.0.1:9']);
    expect(tskvmRunArgs('virtio-rng')).toEqual(['--rng', 'virtio']);
    expect(tskvmRunArgs('hello')).toEqual([]);
  });

  it('a missing disk path or hub URL is a GuestError MISSING_ARGUMENT', () => {
    expect(() => tskvmRunArgs('dev-ata')).toThrow(expect.objectContaining({ code: GUEST_ERROR_CODES.MISSING_ARGUMENT }));
    expect(() => tskvmRunArgs('virtio-net')).toThrow(expect.objectContaining({ code: GUEST_ERROR_CODES.MISSING_ARGUMENT }));
  });

  it('VIRTIO_BLK_GUEST_PATTERN is (sector * 31 + offset) mod 256 over sectors 1-24', () => {
    expect(VIRTIO_BLK_GUEST_PATTERN.byte(1, 0)).toBe(31);
    expect(VIRTIO_BLK_GUEST_PATTERN.byte(24, 511)).toBe((24 * 31 + 511) % 256);
    expect(VIRTIO_BLK_GUEST_PATTERN.FIRST_SECTOR + VIRTIO_BLK_GUEST_PATTERN.SECTORS - 1).toBe(24);
  });
});

describe('parseTranscript', () => {
  it('separates passes, failures, other lines and the DONE counts', () => {
    const t = parseTranscript('PASS a\nrep outsb to COM1\nFAIL b: x = 0x1, want 0x2\nPASS c\nDONE 2/3\n');
    expect(t.passed).toEqual(['a', 'c']);
    expect(t.failed).toEqual([{ name: 'b', detail: 'x = 0x1, want 0x2' }]);
    expect(t.other).toEqual(['rep outsb to COM1']);
    expect(t.done).toEqual({ passed: 2, total: 3 });
  });

  it('reports a missing DONE line as undefined (the guest died)', () => {
    expect(parseTranscript('PASS a\n').done).toBeUndefined();
  });
});

describe('catalog errors', () => {
  function codeOf(f: () => unknown): string | undefined {
    try {
      f();
    } catch (e) {
      if (e instanceof GuestError) return e.code;
      throw e;
    }
    return undefined;
  }

  it('a missing image or transcript is a GuestError MISSING_FILE', () => {
    const empty = mkdtempSync(join(tmpdir(), 'guests-'));
    expect(codeOf(() => readGuestImage('hello', empty))).toBe(GUEST_ERROR_CODES.MISSING_FILE);
    expect(codeOf(() => readExpected('hello', empty))).toBe(GUEST_ERROR_CODES.MISSING_FILE);
  });

  it('a .status file without a number is a GuestError BAD_STATUS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'guests-'));
    mkdirSync(join(dir, 'expected'));
    writeFileSync(join(dir, 'expected', 'hello.txt'), 'x\n');
    writeFileSync(join(dir, 'expected', 'hello.status'), 'exit 1\n');
    expect(codeOf(() => readExpected('hello', dir))).toBe(GUEST_ERROR_CODES.BAD_STATUS);
  });
});
