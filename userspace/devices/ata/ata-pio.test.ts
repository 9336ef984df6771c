import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BlockBackend } from '../../bus/device.js';
import { MemoryBackend } from '../../backends/block/memory-backend.js';
import { RawFileBackend } from '../../backends/block/raw-file-backend.js';
import { readOnly } from '../../backends/block/read-only-backend.js';
import { FakeIrqLine } from '../../bus/fake-irq-line.js';
import { getAtaString } from './ata-identify.js';
import { AtaPioChannel } from './ata-pio.js';

const SECTOR = 512;

/** A disk whose byte at offset o is a function of its sector and position (easy to check). */
function patterned(sectors: number): MemoryBackend {
  const m = new MemoryBackend(sectors * SECTOR);
  for (let s = 0; s < sectors; s++) for (let i = 0; i < SECTOR; i++) m.data[s * SECTOR + i] = (s * 7 + i) & 0xff;
  return m;
}

/** A huge sparse disk: unwritten sectors read as a pattern of their LBA. */
class SparseBackend implements BlockBackend {
  readonly readOnly = false;
  readonly written = new Map<number, Uint8Array>();
  reads = 0;
  constructor(readonly size: number) {}
  read(offset: number, length: number): Uint8Array {
    this.reads++;
    const out = new Uint8Array(length);
    for (let s = 0; s < length / SECTOR; s++) {
      const lba = offset / SECTOR + s;
      const w = this.written.get(lba);
      if (w) out.set(w, s * SECTOR);
      else for (let i = 0; i < SECTOR; i++) out[s * SECTOR + i] = (lba + i) & 0xff;
    }
    return out;
  }
  write(offset: number, data: Uint8Array): void {
    for (let s = 0; s < data.length / SECTOR; s++) this.written.set(offset / SECTOR + s, data.slice(s * SECTOR, (s + 1) * SECTOR));
  }
  flush(): void {}
  close(): void {}
}

/** A guest-side view of the channel, with the register accesses a driver makes. */
class Guest {
  readonly irq = new FakeIrqLine();
  readonly ata: AtaPioChannel;
  readonly logs: string[] = [];
  constructor(backend: BlockBackend | null) {
    this.ata = new AtaPioChannel(backend, this.irq, { log: (m) => this.logs.push(m) });
  }
  outb(reg: number, v: number): void {
    this.ata.commandBlock.write(reg, 1, v);
  }
  inb(reg: number): number {
    return this.ata.commandBlock.read(reg, 1);
  }
  status(): number {
    return this.inb(7);
  }
  altStatus(): number {
    return this.ata.controlBlock.read(0, 1);
  }
  devctl(v: number): void {
    this.ata.controlBlock.write(0, 1, v);
  }
  lba28(lba: number, count: number): void {
    this.outb(6, 0xe0 | ((lba >>> 24) & 0x0f));
    this.outb(2, count & 0xff);
    this.outb(3, lba & 0xff);
    this.outb(4, (lba >>> 8) & 0xff);
    this.outb(5, (lba >>> 16) & 0xff);
  }
  lba48(lba: number, count: number): void {
    const high = Math.floor(lba / 2 ** 24);
    this.outb(6, 0x40);
    this.outb(2, (count >>> 8) & 0xff);
    this.outb(3, high & 0xff);
    this.outb(4, (high >>> 8) & 0xff);
    this.outb(5, (high >>> 16) & 0xff);
    this.outb(2, count & 0xff);
    this.outb(3, lba & 0xff);
    this.outb(4, (lba >>> 8) & 0xff);
    this.outb(5, (lba >>> 16) & 0xff);
  }
  /** Read one DRQ block of `words` 16-bit words. */
  readWords(words: number): Uint8Array {
    const out = new Uint8Array(words * 2);
    for (let i = 0; i < words; i++) {
      const w = this.ata.commandBlock.read(0, 2);
      out[2 * i] = w & 0xff;
      out[2 * i + 1] = w >> 8;
    }
    return out;
  }
  writeWords(data: Uint8Array): void {
    for (let i = 0; i < data.length; i += 2) this.ata.commandBlock.write(0, 2, data[i]! | (data[i + 1]! << 8));
  }
  rises(): number {
    return this.irq.risingEdges();
  }
}

function identify(g: Guest): Uint16Array {
  g.outb(6, 0xa0);
  g.outb(7, 0xec);
  expect(g.status()).toBe(0x58);
  const bytes = g.readWords(256);
  return new Uint16Array(bytes.buffer);
}

const tmpDirs: string[] = [];
afterEach(() => {
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('IDENTIFY DEVICE', () => {
  it('describes the disk: strings, capacities and feature words', () => {
    const g = new Guest(new MemoryBackend(20_000 * SECTOR));
    const w = identify(g);
    expect(g.status()).toBe(0x50);
    expect(getAtaString(w, 27, 20)).toBe('TSKVM HARDDISK');
    expect(getAtaString(w, 10, 10)).toBe('TSKVM-0001');
    expect(getAtaString(w, 23, 4)).toBe('0.1');
    expect(w[0]).toBe(0x0040);
    expect(w[49]! & 0x0200).toBe(0x0200); // LBA
    expect(w[53]! & 0x0003).toBe(0x0003);
    expect(w[60]! | (w[61]! << 16)).toBe(20_000);
    expect([w[100], w[101], w[102], w[103]]).toEqual([20_000, 0, 0, 0]);
    expect(w[83]! & 0xc400).toBe(0x4400); // LBA48 supported, bit 14 set, bit 15 clear
    expect(w[86]! & 0x3400).toBe(0x3400); // LBA48 + FLUSH CACHE (EXT) enabled
    expect(w[1]! * w[3]! * w[6]!).toBeLessThanOrEqual(20_000);
    expect(w[54]! * w[55]! * w[56]!).toBe(w[57]! | (w[58]! << 16));
  });

  it('strings are byte-swapped in the raw data stream; the integrity word checks', () => {
    const g = new Guest(new MemoryBackend(64 * SECTOR));
    g.outb(7, 0xec);
    g.status();
    const raw = g.readWords(256);
    expect(String.fromCharCode(raw[54]!, raw[55]!, raw[56]!, raw[57]!)).toBe('STVK');
    expect(raw[510]).toBe(0xa5);
    expect(raw.reduce((a, b) => a + b, 0) % 256).toBe(0);
  });

  it('caps the 28-bit capacity and reports the full 48-bit one', () => {
    const sectors = 2 ** 33 + 3;
    const g = new Guest(new SparseBackend(sectors * SECTOR));
    const w = identify(g);
    expect(w[60]! | (w[61]! << 16)).toBe(0x0fffffff);
    expect([w[100], w[101], w[102], w[103]]).toEqual([3, 0, 2, 0]);
  });

  it('raises IRQ14 when the data is ready; the status read clears it', () => {
    const g = new Guest(new MemoryBackend(64 * SECTOR));
    g.outb(7, 0xec);
    expect(g.irq.level).toBe(true);
    expect(g.altStatus()).toBe(0x58);
    expect(g.irq.level).toBe(true); // alternate status leaves it
    g.status();
    expect(g.irq.level).toBe(false);
  });
});

describe('READ / WRITE SECTORS', () => {
  it('reads a single sector with one interrupt before the data and none after', () => {
    const disk = patterned(32);
    const g = new Guest(disk);
    g.lba28(5, 1);
    g.outb(7, 0x20);
    expect(g.rises()).toBe(1);
    expect(g.status()).toBe(0x58);
    expect(g.readWords(256)).toEqual(disk.data.slice(5 * SECTOR, 6 * SECTOR));
    expect(g.status()).toBe(0x50);
    expect(g.rises()).toBe(1);
    expect(g.ata.stats.sectorsRead).toBe(1);
    // The task file holds the address of the last sector transferred.
    expect([g.inb(3), g.inb(4), g.inb(5)]).toEqual([5, 0, 0]);
  });

  it('multi-sector reads interrupt once per sector', () => {
    const disk = patterned(32);
    const g = new Guest(disk);
    g.lba28(10, 3);
    g.outb(7, 0x21);
    const got: number[] = [];
    for (let s = 0; s < 3; s++) {
      expect(g.rises()).toBe(s + 1);
      expect(g.status() & 0x89).toBe(0x08);
      got.push(...g.readWords(256));
    }
    expect(new Uint8Array(got)).toEqual(disk.data.slice(10 * SECTOR, 13 * SECTOR));
    expect(g.status()).toBe(0x50);
    expect(g.rises()).toBe(3);
  });

  it('32-bit data reads move four bytes each', () => {
    const disk = patterned(4);
    const g = new Guest(disk);
    g.lba28(2, 1);
    g.outb(7, 0x20);
    g.status();
    const out = new Uint8Array(SECTOR);
    const view = new DataView(out.buffer);
    for (let i = 0; i < SECTOR; i += 4) view.setUint32(i, g.ata.commandBlock.read(0, 4), true);
    expect(out).toEqual(disk.data.slice(2 * SECTOR, 3 * SECTOR));
    expect(g.status()).toBe(0x50);
  });

  it('32-bit data writes and wide register accesses', () => {
    const disk = new MemoryBackend(4 * SECTOR);
    const g = new Guest(disk);
    g.lba28(1, 1);
    g.outb(7, 0x30);
    for (let i = 0; i < SECTOR; i += 4) g.ata.commandBlock.write(0, 4, (0x04030201 + i * 0x01010101) >>> 0);
    expect(g.status()).toBe(0x50);
    expect(Array.from(disk.data.slice(SECTOR, SECTOR + 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // A 16-bit access to sector count is two byte accesses (count, then LBA low).
    g.ata.commandBlock.write(2, 2, 0x0705);
    expect(g.inb(2)).toBe(0x05);
    expect(g.inb(3)).toBe(0x07);
    expect(g.ata.commandBlock.read(2, 2)).toBe(0x0705);
  });

  it('multi-sector writes: no interrupt for the first block, one after each block taken', () => {
    const disk = new MemoryBackend(16 * SECTOR);
    const g = new Guest(disk);
    const data = new Uint8Array(2 * SECTOR).map((_, i) => (i * 13) & 0xff);
    g.lba28(3, 2);
    g.outb(7, 0x30);
    expect(g.altStatus()).toBe(0x58);
    expect(g.rises()).toBe(0);
    g.writeWords(data.subarray(0, SECTOR));
    expect(g.rises()).toBe(1);
    expect(g.status()).toBe(0x58);
    g.writeWords(data.subarray(SECTOR));
    expect(g.rises()).toBe(2);
    expect(g.status()).toBe(0x50);
    expect(disk.data.slice(3 * SECTOR, 5 * SECTOR)).toEqual(data);
    expect(g.ata.stats.sectorsWritten).toBe(2);
  });

  it('sector count 0 means 256 sectors', () => {
    const disk = patterned(300);
    const g = new Guest(disk);
    g.lba28(10, 0);
    g.outb(7, 0x20);
    for (let s = 0; s < 256; s++) {
      expect(g.status() & 0x08).toBe(0x08);
      const block = g.readWords(256);
      expect(block[0]).toBe(((10 + s) * 7) & 0xff);
    }
    expect(g.status()).toBe(0x50);
    expect(g.rises()).toBe(256);
    expect(g.ata.stats.sectorsRead).toBe(256);
  });

  it('CHS addressing after INITIALIZE DEVICE PARAMETERS', () => {
    const disk = patterned(2000);
    const g = new Guest(disk);
    g.outb(2, 63);
    g.outb(6, 0xa0 | 15); // 16 heads
    g.outb(7, 0x91);
    expect(g.status()).toBe(0x50);
    // C=1 H=2 S=4 -> (1*16 + 2)*63 + 3 = 1137
    g.outb(6, 0xa0 | 2);
    g.outb(2, 1);
    g.outb(3, 4);
    g.outb(4, 1);
    g.outb(5, 0);
    g.outb(7, 0x20);
    g.status();
    expect(g.readWords(256)).toEqual(disk.data.slice(1137 * SECTOR, 1138 * SECTOR));
    // Sector 0 does not exist in CHS.
    g.outb(3, 0);
    g.outb(7, 0x20);
    expect(g.status()).toBe(0x41);
    expect(g.inb(1)).toBe(0x10);
  });

  it('READ/WRITE MULTIPLE transfer SET MULTIPLE MODE sectors per interrupt', () => {
    const disk = patterned(64);
    const g = new Guest(disk);
    g.outb(7, 0xc4); // before SET MULTIPLE: aborted
    expect(g.status()).toBe(0x41);
    g.outb(2, 4);
    g.outb(7, 0xc6);
    expect(g.status()).toBe(0x50);
    const before = g.rises();
    g.lba28(8, 8);
    g.outb(7, 0xc4);
    g.status();
    expect(g.readWords(1024)).toEqual(disk.data.slice(8 * SECTOR, 12 * SECTOR));
    g.status();
    expect(g.readWords(1024)).toEqual(disk.data.slice(12 * SECTOR, 16 * SECTOR));
    expect(g.status()).toBe(0x50);
    expect(g.rises() - before).toBe(2);
    g.outb(2, 3); // not a power of two
    g.outb(7, 0xc6);
    expect(g.status()).toBe(0x41);
  });
});

describe('LBA48 (EXT) commands', () => {
  it('read and write above 2^32 sectors with the HOB register pairs', () => {
    const disk = new SparseBackend((2 ** 33) * SECTOR);
    const g = new Guest(disk);
    const lba = 2 ** 32 + 0x123456;
    const data = new Uint8Array(SECTOR).map((_, i) => 255 - (i & 0xff));
    g.lba48(lba, 1);
    g.outb(7, 0x34);
    g.writeWords(data);
    expect(g.status()).toBe(0x50);
    expect(disk.written.get(lba)).toEqual(data);
    g.lba48(lba - 1, 2);
    g.outb(7, 0x24);
    g.status();
    const first = g.readWords(256);
    expect(first[0]).toBe((lba - 1) & 0xff);
    g.status();
    expect(g.readWords(256)).toEqual(data);
    // HOB reads give back the high-order bytes of the last sector's address.
    g.devctl(0x80);
    expect([g.inb(3), g.inb(4), g.inb(5)]).toEqual([0x00, 0x01, 0x00]); // LBA bits 24-47 of 0x1_0012_3456
    g.devctl(0x00);
    expect([g.inb(3), g.inb(4), g.inb(5)]).toEqual([0x56, 0x34, 0x12]);
  });

  it('sector count 0 means 65536', () => {
    const total = 70_000;
    const g = new Guest(new SparseBackend(total * SECTOR));
    g.lba48(total - 65536, 0);
    g.outb(7, 0x24);
    expect(g.status()).toBe(0x58);
    g.devctl(0x04); // SRST ends the data phase
    g.devctl(0x00);
    g.lba48(total - 65535, 0);
    g.outb(7, 0x24);
    expect(g.status()).toBe(0x41);
    expect(g.inb(1)).toBe(0x10);
  });

  it('count 0 in a 28-bit command at the very end fails; 255 fits', () => {
    const g = new Guest(patterned(300));
    g.lba28(300 - 255, 0);
    g.outb(7, 0x20);
    expect(g.status()).toBe(0x41);
    g.lba28(300 - 255, 255);
    g.outb(7, 0x20);
    expect(g.status()).toBe(0x58);
  });
});

describe('FLUSH CACHE', () => {
  it('reaches the backend: a real file holds the written sector after FLUSH', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tskvm-ata-'));
    tmpDirs.push(dir);
    const file = path.join(dir, 'disk.img');
    fs.writeFileSync(file, new Uint8Array(64 * SECTOR));
    const raw = new RawFileBackend(file);
    let flushes = 0;
    const spy: BlockBackend = {
      size: raw.size,
      readOnly: false,
      read: (o, l) => raw.read(o, l),
      write: (o, d) => raw.write(o, d),
      flush: () => {
        flushes++;
        raw.flush();
      },
      close: () => raw.close(),
    };
    const g = new Guest(spy);
    const data = new Uint8Array(SECTOR).map((_, i) => (i * 3 + 1) & 0xff);
    g.lba28(9, 1);
    g.outb(7, 0x30);
    g.writeWords(data);
    g.status();
    g.outb(7, 0xe7);
    expect(g.status()).toBe(0x50);
    expect(flushes).toBe(1);
    g.outb(7, 0xea);
    expect(g.status()).toBe(0x50);
    expect(flushes).toBe(2);
    expect(g.ata.stats.flushes).toBe(2);
    const onDisk = fs.readFileSync(file);
    expect(new Uint8Array(onDisk.subarray(9 * SECTOR, 10 * SECTOR))).toEqual(data);
    raw.close();
  });

  it('with the write cache disabled (SET FEATURES 0x82) each write command flushes', () => {
    const disk = new MemoryBackend(16 * SECTOR);
    const g = new Guest(disk);
    g.outb(1, 0x82);
    g.outb(7, 0xef);
    expect(g.status()).toBe(0x50);
    const base = disk.flushes;
    g.lba28(0, 1);
    g.outb(7, 0x30);
    g.writeWords(new Uint8Array(SECTOR));
    expect(disk.flushes).toBe(base + 1);
    const w = identify(g);
    expect(w[85]! & 0x20).toBe(0);
  });
});

describe('errors', () => {
  it('an unknown command aborts with ERR, ABRT and an interrupt', () => {
    const g = new Guest(new MemoryBackend(8 * SECTOR));
    g.outb(7, 0xa1); // IDENTIFY PACKET DEVICE: not a packet device
    expect(g.rises()).toBe(1);
    expect(g.status()).toBe(0x41);
    expect(g.inb(1)).toBe(0x04);
    expect(g.ata.stats.errors).toBe(1);
    expect(g.logs).toHaveLength(1);
  });

  it('LBA past the end sets IDNF', () => {
    const g = new Guest(new MemoryBackend(8 * SECTOR));
    g.lba28(7, 2);
    g.outb(7, 0x20);
    expect(g.status()).toBe(0x41);
    expect(g.inb(1)).toBe(0x10);
    g.lba28(8, 1);
    g.outb(7, 0x30);
    expect(g.status()).toBe(0x41);
    expect(g.readWords(1)[0]).toBe(0); // no data phase
  });

  it('a write to a read-only disk is aborted and leaves the data alone', () => {
    const mem = patterned(8);
    const copy = mem.data.slice();
    const g = new Guest(readOnly(mem));
    g.lba28(1, 1);
    g.outb(7, 0x30);
    expect(g.status()).toBe(0x41);
    expect(g.inb(1)).toBe(0x04);
    g.writeWords(new Uint8Array(SECTOR));
    expect(mem.data).toEqual(copy);
    g.lba28(1, 1);
    g.outb(7, 0x20);
    expect(g.status()).toBe(0x58);
  });

  it('a host I/O failure is an UNC error for the guest, not an exception', () => {
    const failing: BlockBackend = {
      size: 8 * SECTOR,
      readOnly: false,
      read: () => {
        throw new Error('EIO');
      },
      write: () => {},
      flush: () => {},
      close: () => {},
    };
    const g = new Guest(failing);
    g.lba28(0, 1);
    g.outb(7, 0x20);
    expect(g.status()).toBe(0x41);
    expect(g.inb(1)).toBe(0x40);
    expect(g.ata.stats.ioErrors).toBe(1);
  });

  it('DMA transfer modes are refused, PIO modes accepted', () => {
    const g = new Guest(new MemoryBackend(8 * SECTOR));
    g.outb(1, 0x03);
    g.outb(2, 0x0c); // PIO 4
    g.outb(7, 0xef);
    expect(g.status()).toBe(0x50);
    g.outb(2, 0x45); // UDMA 5
    g.outb(7, 0xef);
    expect(g.status()).toBe(0x41);
  });
});

describe('interrupt masking, reset and device selection', () => {
  it('nIEN keeps IRQ14 low; clearing it with the request still pending raises it', () => {
    const g = new Guest(new MemoryBackend(8 * SECTOR));
    g.devctl(0x02);
    g.outb(7, 0xe7);
    expect(g.irq.level).toBe(false);
    expect(g.altStatus()).toBe(0x50);
    g.devctl(0x00);
    expect(g.irq.level).toBe(true);
    g.status();
    expect(g.irq.level).toBe(false);
  });

  it('SRST: busy while asserted, then the ATA signature', () => {
    const g = new Guest(patterned(8));
    g.lba28(3, 2);
    g.outb(7, 0x20);
    g.devctl(0x04);
    expect(g.altStatus() & 0x80).toBe(0x80);
    expect(g.irq.level).toBe(false);
    g.devctl(0x00);
    expect(g.altStatus()).toBe(0x50);
    expect([g.inb(1), g.inb(2), g.inb(3), g.inb(4), g.inb(5)]).toEqual([0x01, 0x01, 0x01, 0x00, 0x00]);
    expect(g.readWords(1)[0]).toBe(0); // the read was cancelled
  });

  it('EXECUTE DEVICE DIAGNOSTIC reports the signature and passes', () => {
    const g = new Guest(new MemoryBackend(8 * SECTOR));
    g.outb(6, 0xb0);
    g.outb(7, 0x90);
    expect(g.inb(6) & 0x10).toBe(0);
    expect(g.status()).toBe(0x50);
    expect([g.inb(1), g.inb(2), g.inb(3)]).toEqual([1, 1, 1]);
  });

  it('selecting the absent device 1 reads status 0 and ignores commands', () => {
    const g = new Guest(new MemoryBackend(8 * SECTOR));
    g.outb(6, 0xb0);
    expect(g.status()).toBe(0);
    expect(g.altStatus()).toBe(0);
    g.outb(7, 0xec);
    expect(g.rises()).toBe(0);
    g.outb(6, 0xa0);
    expect(g.status()).toBe(0x50);
  });

  it('byte accesses to the data port read 0xFF and do not advance the transfer', () => {
    const disk = patterned(4);
    const g = new Guest(disk);
    g.lba28(1, 1);
    g.outb(7, 0x20);
    g.status();
    expect(g.inb(0)).toBe(0xff);
    g.outb(0, 0x12);
    expect(g.readWords(256)).toEqual(disk.data.slice(SECTOR, 2 * SECTOR));
    expect(g.ata.stats.ignoredAccesses).toBe(2);
  });

  it('an empty channel reads 0 everywhere and never interrupts', () => {
    const g = new Guest(null);
    expect(g.status()).toBe(0);
    expect(g.inb(6)).toBe(0);
    g.outb(7, 0xec);
    expect(g.status()).toBe(0);
    expect(g.rises()).toBe(0);
  });

  it('a command written during a data phase is ignored (as QEMU does)', () => {
    const disk = patterned(8);
    const g = new Guest(disk);
    g.lba28(1, 1);
    g.outb(7, 0x20);
    g.status();
    g.readWords(10);
    g.outb(7, 0xec);
    expect(g.status()).toBe(0x58);
    const rest = g.readWords(246);
    expect(rest).toEqual(disk.data.slice(SECTOR + 20, 2 * SECTOR));
    expect(g.status()).toBe(0x50);
  });

  it('counts commands', () => {
    const g = new Guest(new MemoryBackend(8 * SECTOR));
    g.outb(7, 0xe7);
    g.outb(7, 0xe5);
    expect(g.inb(2)).toBe(0xff);
    expect(g.ata.stats.commands).toBe(2);
  });
});
