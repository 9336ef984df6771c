/**
 * qtest of the ATA PIO disk on the primary channel in the real device-model process, backed by a
 * real temp file (ATA8-ACS commands, ATA8-APT PIO protocols; facts.md §5.5; QEMU
 * tests/qtest/ide-test.c is the model): IDENTIFY, WRITE/READ SECTORS (28- and 48-bit), FLUSH CACHE,
 * IRQ14 and its acknowledgement, nIEN, SRST signature, ABRT for a bad command, IDNF past the end,
 * a read-only disk — and data integrity: data written and flushed survives a SIGKILL of the
 * device model right after the flush completes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QtestClient } from './qtest/qtest-client.js';

const PORT = {
  DATA: 0x1f0,
  ERROR_FEATURE: 0x1f1,
  NSECT: 0x1f2,
  LBAL: 0x1f3,
  LBAM: 0x1f4,
  LBAH: 0x1f5,
  DEVICE: 0x1f6,
  STATUS_COMMAND: 0x1f7,
  ALTSTATUS_DEVCTL: 0x3f6,
} as const;
const IRQ14 = 14;
const STATUS = { ERR: 0x01, DRQ: 0x08, DSC: 0x10, DRDY: 0x40, BSY: 0x80 } as const;
const ERROR = { DIAG_PASSED: 0x01, ABRT: 0x04, IDNF: 0x10 } as const;
const DEVICE = { LBA: 0x40, OBSOLETE: 0xa0, DEV1: 0x10 } as const;
const DEVCTL = { NIEN: 0x02, SRST: 0x04, HOB: 0x80 } as const;
const CMD = {
  READ_SECTORS: 0x20,
  READ_SECTORS_EXT: 0x24,
  WRITE_SECTORS: 0x30,
  WRITE_SECTORS_EXT: 0x34,
  READ_MULTIPLE: 0xc4,
  SET_MULTIPLE_MODE: 0xc6,
  READ_DMA: 0xc8,
  FLUSH_CACHE: 0xe7,
  IDENTIFY: 0xec,
} as const;
/** IDENTIFY DEVICE words (ATA8-ACS table 45). */
const ID = { CONFIG: 0, SERIAL: 10, MODEL: 27, CAPABILITIES: 49, LBA28: 60, COMMAND_SET2: 83, LBA48: 100, INTEGRITY: 255 } as const;
const ID_BITS = { NOT_ATA: 0x8000, CAP_LBA: 0x0200, LBA48: 0x0400, SIGNATURE: 0xa5 } as const;
const SECTOR = 512;
const WORDS_PER_SECTOR = SECTOR / 2;
const DISK_SECTORS = 64;
const READY = STATUS.DRDY | STATUS.DSC;

let dir: string;
let disk: string;
let client: QtestClient;

/** The byte the fresh disk holds at `offset`: a pattern no two nearby sectors share. */
const original = (offset: number): number => (offset * 13 + Math.floor(offset / SECTOR)) & 0xff;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tskvm-qtest-ata-'));
  disk = join(dir, 'disk.img');
  writeFileSync(disk, Uint8Array.from({ length: DISK_SECTORS * SECTOR }, (_, i) => original(i)));
  client = await QtestClient.start({ devices: [{ type: 'ata', path: disk, readOnly: false }] });
});
afterEach(async () => {
  await client.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Task file for a 28-bit LBA command on device 0, then the command. */
async function command28(cmd: number, lba: number, count: number): Promise<void> {
  await client.outb(PORT.NSECT, count & 0xff);
  await client.outb(PORT.LBAL, lba & 0xff);
  await client.outb(PORT.LBAM, (lba >>> 8) & 0xff);
  await client.outb(PORT.LBAH, (lba >>> 16) & 0xff);
  await client.outb(PORT.DEVICE, DEVICE.OBSOLETE | DEVICE.LBA | ((lba >>> 24) & 0x0f));
  await client.outb(PORT.STATUS_COMMAND, cmd);
}

/** Task file for a 48-bit command: each register written twice, high ("previous") byte first. */
async function command48(cmd: number, lba: number, count: number): Promise<void> {
  const high = Math.floor(lba / 2 ** 24);
  await client.outb(PORT.NSECT, count >>> 8);
  await client.outb(PORT.LBAL, high & 0xff);
  await client.outb(PORT.LBAM, (high >>> 8) & 0xff);
  await client.outb(PORT.LBAH, (high >>> 16) & 0xff);
  await client.outb(PORT.NSECT, count & 0xff);
  await client.outb(PORT.LBAL, lba & 0xff);
  await client.outb(PORT.LBAM, (lba >>> 8) & 0xff);
  await client.outb(PORT.LBAH, (lba >>> 16) & 0xff);
  await client.outb(PORT.DEVICE, DEVICE.OBSOLETE | DEVICE.LBA);
  await client.outb(PORT.STATUS_COMMAND, cmd);
}

/** One DRQ block in: REP INSW of 256 words as one string-PIO message. */
async function readBlock(): Promise<Uint8Array> {
  const words = await client.pioRead(PORT.DATA, 2, WORDS_PER_SECTOR);
  const out = new Uint8Array(SECTOR);
  words.forEach((w, i) => {
    out[2 * i] = w & 0xff;
    out[2 * i + 1] = w >>> 8;
  });
  return out;
}

/** One DRQ block out: REP OUTSW of 256 words. */
async function writeBlock(data: Uint8Array): Promise<void> {
  const words = Array.from({ length: WORDS_PER_SECTOR }, (_, i) => (data[2 * i] ?? 0) | ((data[2 * i + 1] ?? 0) << 8));
  await client.pioWrite(PORT.DATA, 2, words);
}

/** Status register read (acknowledges IRQ14). */
function status(): Promise<number> {
  return client.inb(PORT.STATUS_COMMAND);
}

function sectorData(seed: number): Uint8Array {
  return Uint8Array.from({ length: SECTOR }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

function fileSector(bytes: Uint8Array, lba: number): number[] {
  return [...bytes.subarray(lba * SECTOR, (lba + 1) * SECTOR)];
}

/** Write `sectors` at `lba` with WRITE SECTORS, checking the PIO data-out protocol on the way. */
async function writeSectors(lba: number, sectors: Uint8Array[]): Promise<void> {
  await command28(CMD.WRITE_SECTORS, lba, sectors.length);
  // PIO data-out: the first block is requested without an interrupt.
  expect(await client.inb(PORT.ALTSTATUS_DEVCTL)).toBe(READY | STATUS.DRQ);
  expect(client.irq(IRQ14)).toBe(false);
  for (const [i, s] of sectors.entries()) {
    await writeBlock(s);
    expect(client.irq(IRQ14)).toBe(true);
    const last = i === sectors.length - 1;
    expect(await status()).toBe(last ? READY : READY | STATUS.DRQ);
    expect(client.irq(IRQ14)).toBe(false);
  }
}

describe('ATA PIO disk', () => {
  it('answers IDENTIFY DEVICE with a valid block: ATA device, LBA, capacity, model, checksum', async () => {
    await client.outb(PORT.DEVICE, DEVICE.OBSOLETE);
    await client.outb(PORT.STATUS_COMMAND, CMD.IDENTIFY);
    expect(client.irq(IRQ14)).toBe(true);
    // The alternate status does not acknowledge; the status register does.
    expect(await client.inb(PORT.ALTSTATUS_DEVCTL)).toBe(READY | STATUS.DRQ);
    expect(client.irq(IRQ14)).toBe(true);
    expect(await status()).toBe(READY | STATUS.DRQ);
    expect(client.irq(IRQ14)).toBe(false);
    const block = await readBlock();
    const word = (n: number): number => (block[2 * n] ?? 0) | ((block[2 * n + 1] ?? 0) << 8);
    const text = (first: number, words: number): string => {
      let s = '';
      for (let i = 0; i < words; i++) s += String.fromCharCode(word(first + i) >>> 8, word(first + i) & 0xff);
      return s.trim();
    };
    expect(word(ID.CONFIG) & ID_BITS.NOT_ATA).toBe(0);
    expect(word(ID.CAPABILITIES) & ID_BITS.CAP_LBA).toBe(ID_BITS.CAP_LBA);
    expect(word(ID.LBA28) | (word(ID.LBA28 + 1) << 16)).toBe(DISK_SECTORS);
    expect(word(ID.COMMAND_SET2) & ID_BITS.LBA48).toBe(ID_BITS.LBA48);
    expect(word(ID.LBA48)).toBe(DISK_SECTORS);
    expect(text(ID.MODEL, 20)).toBe('TSKVM HARDDISK');
    expect(text(ID.SERIAL, 10)).not.toBe('');
    // Integrity word: signature 0xA5 and a checksum that makes all 512 bytes sum to 0 mod 256.
    expect(word(ID.INTEGRITY) & 0xff).toBe(ID_BITS.SIGNATURE);
    expect(block.reduce((a, b) => a + b, 0) & 0xff).toBe(0);
    expect(await status()).toBe(READY);
  });

  it('writes sectors, reads them back, FLUSH CACHE completes with IRQ14, and the file has the data', async () => {
    const data = [sectorData(1), sectorData(2), sectorData(3)];
    await writeSectors(5, data);
    await command28(CMD.READ_SECTORS, 5, 3);
    for (const expected of data) {
      // PIO data-in: an interrupt for each block as it becomes ready.
      expect(client.irq(IRQ14)).toBe(true);
      expect(await status()).toBe(READY | STATUS.DRQ);
      expect([...(await readBlock())]).toEqual([...expected]);
    }
    expect(await status()).toBe(READY);
    // The task file points at the last sector transferred.
    expect(await client.inb(PORT.LBAL)).toBe(7);
    await client.outb(PORT.STATUS_COMMAND, CMD.FLUSH_CACHE);
    expect(client.irq(IRQ14)).toBe(true);
    expect(await status()).toBe(READY);
    const file = readFileSync(disk);
    data.forEach((d, i) => expect(fileSector(file, 5 + i)).toEqual([...d]));
    // The neighbours are untouched.
    expect(fileSector(file, 4)).toEqual(Array.from({ length: SECTOR }, (_, i) => original(4 * SECTOR + i)));
    expect(fileSector(file, 8)).toEqual(Array.from({ length: SECTOR }, (_, i) => original(8 * SECTOR + i)));
  });

  it('addresses with 48-bit LBA through the HOB registers', async () => {
    await command48(CMD.WRITE_SECTORS_EXT, DISK_SECTORS - 1, 1);
    expect(await status()).toBe(READY | STATUS.DRQ);
    await writeBlock(sectorData(9));
    expect(await status()).toBe(READY);
    await command48(CMD.READ_SECTORS_EXT, DISK_SECTORS - 1, 1);
    expect(await status()).toBe(READY | STATUS.DRQ);
    expect([...(await readBlock())]).toEqual([...sectorData(9)]);
    // HOB set: the registers read back their previous (high) bytes.
    await client.outb(PORT.ALTSTATUS_DEVCTL, DEVCTL.HOB);
    expect(await client.inb(PORT.NSECT)).toBe(0);
    await client.outb(PORT.ALTSTATUS_DEVCTL, 0);
    expect(await client.inb(PORT.LBAL)).toBe(DISK_SECTORS - 1);
  });

  it('moves blocks of SET MULTIPLE MODE sectors per interrupt with READ MULTIPLE, and 32-bit data accesses', async () => {
    await client.outb(PORT.NSECT, 4);
    await client.outb(PORT.DEVICE, DEVICE.OBSOLETE | DEVICE.LBA);
    await client.outb(PORT.STATUS_COMMAND, CMD.SET_MULTIPLE_MODE);
    expect(await status()).toBe(READY);
    const from = client.irqLog.length;
    await command28(CMD.READ_MULTIPLE, 8, 8);
    for (let block = 0; block < 2; block++) {
      expect(await status()).toBe(READY | STATUS.DRQ);
      // REP INSD: 4 sectors as 512 dwords in one message.
      const dwords = await client.pioRead(PORT.DATA, 4, (4 * SECTOR) / 4);
      const bytes = dwords.flatMap((d) => [d & 0xff, (d >>> 8) & 0xff, (d >>> 16) & 0xff, d >>> 24]);
      const first = (8 + 4 * block) * SECTOR;
      expect(bytes).toEqual(Array.from({ length: 4 * SECTOR }, (_, i) => original(first + i)));
    }
    expect(await status()).toBe(READY);
    expect(client.irqRaises(IRQ14, from)).toBe(2);
    // A block count that is not a power of two is refused.
    await client.outb(PORT.NSECT, 3);
    await client.outb(PORT.STATUS_COMMAND, CMD.SET_MULTIPLE_MODE);
    expect(await status()).toBe(STATUS.DRDY | STATUS.ERR);
    expect(await client.inb(PORT.ERROR_FEATURE)).toBe(ERROR.ABRT);
  });

  it('aborts an unsupported command with ERR/ABRT and IRQ14, and keeps working', async () => {
    await client.outb(PORT.DEVICE, DEVICE.OBSOLETE | DEVICE.LBA);
    await client.outb(PORT.STATUS_COMMAND, CMD.READ_DMA);
    expect(client.irq(IRQ14)).toBe(true);
    expect(await status()).toBe(STATUS.DRDY | STATUS.ERR);
    expect(await client.inb(PORT.ERROR_FEATURE)).toBe(ERROR.ABRT);
    await command28(CMD.READ_SECTORS, 0, 1);
    expect(await status()).toBe(READY | STATUS.DRQ);
    expect([...(await readBlock())]).toEqual(Array.from({ length: SECTOR }, (_, i) => original(i)));
  });

  it('refuses a range past the end with IDNF and moves no data', async () => {
    await command28(CMD.WRITE_SECTORS, DISK_SECTORS - 1, 2);
    expect(client.irq(IRQ14)).toBe(true);
    expect(await status()).toBe(STATUS.DRDY | STATUS.ERR);
    expect(await client.inb(PORT.ERROR_FEATURE)).toBe(ERROR.IDNF);
    // No data phase: data-port writes go nowhere.
    await writeBlock(sectorData(7));
    await command28(CMD.READ_SECTORS, DISK_SECTORS, 1);
    expect(await status()).toBe(STATUS.DRDY | STATUS.ERR);
    expect(await client.inb(PORT.ERROR_FEATURE)).toBe(ERROR.IDNF);
    const file = readFileSync(disk);
    expect(fileSector(file, DISK_SECTORS - 1)).toEqual(Array.from({ length: SECTOR }, (_, i) => original((DISK_SECTORS - 1) * SECTOR + i)));
  });

  it('masks IRQ14 with nIEN, and SRST restores the device signature', async () => {
    await client.outb(PORT.ALTSTATUS_DEVCTL, DEVCTL.NIEN);
    await client.outb(PORT.STATUS_COMMAND, CMD.FLUSH_CACHE);
    expect(client.irq(IRQ14)).toBe(false);
    // Pending but masked: clearing nIEN lets it through.
    await client.outb(PORT.ALTSTATUS_DEVCTL, 0);
    expect(client.irq(IRQ14)).toBe(true);
    await status();
    await command28(CMD.READ_SECTORS, 3, 1);
    await client.outb(PORT.ALTSTATUS_DEVCTL, DEVCTL.SRST);
    expect((await client.inb(PORT.ALTSTATUS_DEVCTL)) & STATUS.BSY).toBe(STATUS.BSY);
    await client.outb(PORT.ALTSTATUS_DEVCTL, 0);
    expect(await status()).toBe(READY);
    expect([await client.inb(PORT.NSECT), await client.inb(PORT.LBAL), await client.inb(PORT.LBAM), await client.inb(PORT.LBAH)]).toEqual([1, 1, 0, 0]);
    expect(await client.inb(PORT.ERROR_FEATURE)).toBe(ERROR.DIAG_PASSED);
    // The read was cancelled: no data phase.
    expect((await status()) & STATUS.DRQ).toBe(0);
  });

  it('has no device 1: selecting it reads status 0', async () => {
    await client.outb(PORT.DEVICE, DEVICE.OBSOLETE | DEVICE.DEV1);
    expect(await status()).toBe(0);
    await client.outb(PORT.STATUS_COMMAND, CMD.IDENTIFY);
    expect(client.irq(IRQ14)).toBe(false);
  });
});

describe('ATA data integrity', () => {
  it('keeps sectors written and flushed when the device model is SIGKILLed right after the flush', async () => {
    const data = [sectorData(21), sectorData(22), sectorData(23), sectorData(24)];
    await writeSectors(40, data);
    await client.outb(PORT.STATUS_COMMAND, CMD.FLUSH_CACHE);
    const st = await status();
    expect(st & (STATUS.BSY | STATUS.DRQ | STATUS.ERR)).toBe(0);
    expect(st & STATUS.DRDY).toBe(STATUS.DRDY);
    await client.kill('SIGKILL');
    expect(client.process?.exit?.signal).toBe('SIGKILL');
    const file = readFileSync(disk);
    expect(file.length).toBe(DISK_SECTORS * SECTOR);
    data.forEach((d, i) => expect(fileSector(file, 40 + i)).toEqual([...d]));
    expect(fileSector(file, 39)).toEqual(Array.from({ length: SECTOR }, (_, i) => original(39 * SECTOR + i)));
  });
});

describe('read-only ATA disk', () => {
  it('aborts writes and leaves the file alone', async () => {
    await client.dispose();
    client = await QtestClient.start({ devices: [{ type: 'ata', path: disk, readOnly: true }] });
    await command28(CMD.WRITE_SECTORS, 0, 1);
    expect(await status()).toBe(STATUS.DRDY | STATUS.ERR);
    expect(await client.inb(PORT.ERROR_FEATURE)).toBe(ERROR.ABRT);
    await writeBlock(sectorData(1));
    expect(fileSector(readFileSync(disk), 0)).toEqual(Array.from({ length: SECTOR }, (_, i) => original(i)));
  });
});
