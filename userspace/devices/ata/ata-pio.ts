import type { BlockBackend, BusDevice, IrqLine } from '../../bus/device.js';
import { OnceLog, type LogSink } from '../../bus/once-log.js';
import { buildIdentify, defaultGeometry, type AtaGeometry } from './ata-identify.js';
import {
  ATA_CMD,
  ATA_CTL_REG,
  ATA_DEVCTL,
  ATA_DEVICE,
  ATA_DIAG_PASSED,
  ATA_ERROR,
  ATA_MAX_MULT_SECTORS,
  ATA_POWER_ACTIVE,
  ATA_REG,
  ATA_SECTOR_SIZE,
  ATA_SETFEATURES,
  ATA_STATUS,
  ATA_XFER,
} from './ata-regs.js';

/** Identity strings and hooks for the drive. */
export interface AtaPioOptions {
  model?: string;
  serial?: string;
  firmware?: string;
  /** Where guest-caused and host I/O problems are reported, once per kind (none: silent). */
  log?: LogSink;
}

/** Counters for `--stats` and tests. */
export interface AtaStats {
  commands: number;
  sectorsRead: number;
  sectorsWritten: number;
  flushes: number;
  errors: number; // commands that ended with ERR
  interrupts: number;
  ioErrors: number; // backend (host) failures
  ignoredAccesses: number; // data-port accesses outside a data phase, byte accesses to it, ...
}

/** The 8-bit registers that have a "previous content" copy for LBA48 (HOB). */
interface TaskFile {
  feature: number;
  nsect: number;
  lbal: number;
  lbam: number;
  lbah: number;
}

/** A PIO data phase in progress. */
interface Transfer {
  dir: 'in' | 'out';
  buf: Uint8Array;
  pos: number;
  /** 'identify' transfers a single block; 'sectors' walks lba/remaining. */
  kind: 'identify' | 'sectors';
  lba: number;
  remaining: number;
  blockSectors: number;
  lba48: boolean;
  chs: boolean;
}

const READ_COMMANDS: ReadonlySet<number> = new Set([
  ATA_CMD.READ_SECTORS,
  ATA_CMD.READ_SECTORS_NORETRY,
  ATA_CMD.READ_SECTORS_EXT,
  ATA_CMD.READ_MULTIPLE,
  ATA_CMD.READ_MULTIPLE_EXT,
]);
const WRITE_COMMANDS: ReadonlySet<number> = new Set([
  ATA_CMD.WRITE_SECTORS,
  ATA_CMD.WRITE_SECTORS_NORETRY,
  ATA_CMD.WRITE_SECTORS_EXT,
  ATA_CMD.WRITE_MULTIPLE,
  ATA_CMD.WRITE_MULTIPLE_EXT,
]);
const EXT_COMMANDS: ReadonlySet<number> = new Set([
  ATA_CMD.READ_SECTORS_EXT,
  ATA_CMD.READ_MULTIPLE_EXT,
  ATA_CMD.WRITE_SECTORS_EXT,
  ATA_CMD.WRITE_MULTIPLE_EXT,
  ATA_CMD.READ_VERIFY_EXT,
]);
const MULTIPLE_COMMANDS: ReadonlySet<number> = new Set([
  ATA_CMD.READ_MULTIPLE,
  ATA_CMD.READ_MULTIPLE_EXT,
  ATA_CMD.WRITE_MULTIPLE,
  ATA_CMD.WRITE_MULTIPLE_EXT,
]);
/** Commands that complete at once with no data and no effect on this model. */
const NOOP_COMMANDS: ReadonlySet<number> = new Set([
  ATA_CMD.SEEK,
  ATA_CMD.STANDBY_IMMEDIATE,
  ATA_CMD.IDLE_IMMEDIATE,
  ATA_CMD.STANDBY,
  ATA_CMD.IDLE,
]);
/** RECALIBRATE occupies opcodes 0x10-0x1F. */
const RECALIBRATE_MASK = 0xf0;

const READY = ATA_STATUS.DRDY | ATA_STATUS.DSC;
const TWO_24 = 2 ** 24;

function emptyTaskFile(): TaskFile {
  return { feature: 0, nsect: 0, lbal: 0, lbam: 0, lbah: 0 };
}

/**
 * The legacy primary IDE channel with one ATA disk as device 0 and no device 1 (ATA8-ACS, ATA8-APT
 * PIO protocols; facts §5.5; behaviour after QEMU hw/ide/core.c). Command block at 0x1F0-0x1F7
 * (`commandBlock`, 8 ports), control block at 0x3F6 (`controlBlock`), IRQ14. PIO data-in raises
 * the interrupt as each DRQ block becomes ready; PIO data-out raises it after each block is taken
 * and at completion. Reading the status register clears it, the alternate status does not, nIEN
 * masks it. With a null backend the channel is empty and reads 0, as QEMU's is.
 */
export class AtaPioChannel {
  readonly commandBlock: BusDevice;
  readonly controlBlock: BusDevice;
  readonly stats: AtaStats = {
    commands: 0,
    sectorsRead: 0,
    sectorsWritten: 0,
    flushes: 0,
    errors: 0,
    interrupts: 0,
    ioErrors: 0,
    ignoredAccesses: 0,
  };

  private tf: TaskFile = emptyTaskFile();
  private hob: TaskFile = emptyTaskFile();
  private device: number = ATA_DEVICE.OBSOLETE;
  private status = 0;
  private error = 0;
  private devctl = 0;
  private irqPending = false;
  private irqLevel = false;
  private transfer: Transfer | null = null;
  private readonly totalSectors: number;
  private readonly defaultGeom: AtaGeometry;
  private currentGeom: AtaGeometry;
  private multipleCount = 0;
  private writeCache = true;
  private readonly model: string;
  private readonly serial: string;
  private readonly firmware: string;
  private readonly log: OnceLog;

  constructor(private readonly backend: BlockBackend | null, private readonly irq: IrqLine, options: AtaPioOptions = {}) {
    if (backend !== null && backend.size % ATA_SECTOR_SIZE !== 0) {
      throw new Error(`assertion: block backend size ${backend.size} is not a multiple of ${ATA_SECTOR_SIZE}`);
    }
    this.totalSectors = backend === null ? 0 : backend.size / ATA_SECTOR_SIZE;
    this.defaultGeom = defaultGeometry(this.totalSectors);
    this.currentGeom = { ...this.defaultGeom };
    this.model = options.model ?? 'TSKVM HARDDISK';
    this.serial = options.serial ?? 'TSKVM-0001';
    this.firmware = options.firmware ?? '0.1';
    this.log = new OnceLog(options.log);
    this.commandBlock = {
      read: (offset, size) => this.readCommandBlock(offset, size),
      write: (offset, size, value) => this.writeCommandBlock(offset, size, value),
    };
    this.controlBlock = {
      read: (offset, size) => this.readControlBlock(offset, size),
      write: (offset, size, value) => this.writeControlBlock(offset, size, value),
    };
    this.setSignature();
    this.status = this.present ? READY : 0;
    this.error = ATA_DIAG_PASSED;
  }

  private get present(): boolean {
    return this.backend !== null;
  }

  /** True when the guest addresses a device that answers (device 0 of a populated channel). */
  private get selectedPresent(): boolean {
    return this.present && (this.device & ATA_DEVICE.DEV) === 0;
  }

  private warnOnce(key: string, message: string): void {
    this.log.warn(key, `ata: ${message}`);
  }

  // --- interrupt -------------------------------------------------------------------------

  /** The one place IRQ14 changes: pending, not masked by nIEN, and a drive to drive it. */
  private updateIrq(): void {
    const level = this.irqPending && (this.devctl & ATA_DEVCTL.NIEN) === 0 && this.present;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.irq.set(level);
  }

  private raiseIrq(): void {
    this.irqPending = true;
    this.stats.interrupts++;
    this.updateIrq();
  }

  // --- register access -------------------------------------------------------------------

  private readCommandBlock(offset: number, size: number): number {
    if (offset === ATA_REG.DATA && (size === 2 || size === 4)) return this.readData(size);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readReg(offset + i) << (8 * i);
    return v >>> 0;
  }

  private writeCommandBlock(offset: number, size: number, value: number): void {
    if (offset === ATA_REG.DATA && (size === 2 || size === 4)) {
      this.writeData(size, value);
      return;
    }
    for (let i = 0; i < size; i++) this.writeReg(offset + i, (value >>> (8 * i)) & 0xff);
  }

  private readReg(offset: number): number {
    const hob = (this.devctl & ATA_DEVCTL.HOB) !== 0;
    const tf = hob ? this.hob : this.tf;
    const answer = this.selectedPresent;
    switch (offset) {
      case ATA_REG.DATA:
        // The data register is 16 bits wide; a byte read returns all ones and moves nothing.
        this.stats.ignoredAccesses++;
        return 0xff;
      case ATA_REG.ERROR_FEATURE:
        return answer ? (hob ? this.hob.feature : this.error) : 0;
      case ATA_REG.NSECT:
        return answer ? tf.nsect : 0;
      case ATA_REG.LBAL:
        return answer ? tf.lbal : 0;
      case ATA_REG.LBAM:
        return answer ? tf.lbam : 0;
      case ATA_REG.LBAH:
        return answer ? tf.lbah : 0;
      case ATA_REG.DEVICE:
        return this.present ? this.device : 0;
      case ATA_REG.STATUS_COMMAND:
        if (!answer) return 0;
        // Reading the status register acknowledges the interrupt.
        this.irqPending = false;
        this.updateIrq();
        return this.status;
      default:
        return 0xff;
    }
  }

  private writeReg(offset: number, v: number): void {
    if ((this.devctl & ATA_DEVCTL.SRST) !== 0) {
      this.stats.ignoredAccesses++;
      return; // in reset: the device is busy
    }
    // Any command block write clears HOB so reads return the current registers again.
    this.devctl &= ~ATA_DEVCTL.HOB;
    const shift = (name: keyof TaskFile): void => {
      this.hob[name] = this.tf[name];
      this.tf[name] = v;
    };
    switch (offset) {
      case ATA_REG.DATA:
        this.stats.ignoredAccesses++;
        break;
      case ATA_REG.ERROR_FEATURE:
        shift('feature');
        break;
      case ATA_REG.NSECT:
        shift('nsect');
        break;
      case ATA_REG.LBAL:
        shift('lbal');
        break;
      case ATA_REG.LBAM:
        shift('lbam');
        break;
      case ATA_REG.LBAH:
        shift('lbah');
        break;
      case ATA_REG.DEVICE:
        this.device = v | ATA_DEVICE.OBSOLETE;
        break;
      case ATA_REG.STATUS_COMMAND:
        this.executeCommand(v);
        break;
      default:
        break;
    }
  }

  private readControlBlock(offset: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const byte = offset + i === ATA_CTL_REG.ALTSTATUS_DEVCTL ? (this.selectedPresent ? this.status : 0) : 0xff;
      v |= byte << (8 * i);
    }
    return v >>> 0;
  }

  private writeControlBlock(offset: number, _size: number, value: number): void {
    if (offset !== ATA_CTL_REG.ALTSTATUS_DEVCTL) return;
    const old = this.devctl;
    const v = value & 0xff;
    this.devctl = v;
    const srstNow = (v & ATA_DEVCTL.SRST) !== 0;
    const srstBefore = (old & ATA_DEVCTL.SRST) !== 0;
    if (srstNow && !srstBefore) {
      this.transfer = null;
      this.irqPending = false;
      this.status = this.present ? ATA_STATUS.BSY | ATA_STATUS.DSC : 0;
    } else if (!srstNow && srstBefore) {
      this.softReset();
    }
    this.updateIrq();
  }

  /** End of SRST: the drive reports its signature and "diagnostics passed". */
  private softReset(): void {
    this.transfer = null;
    this.irqPending = false;
    this.setSignature();
    this.device = ATA_DEVICE.OBSOLETE;
    this.error = ATA_DIAG_PASSED;
    this.status = this.present ? READY : 0;
  }

  /** ATA device signature (ATA8-ACS 9.12): count 1, LBA 1, cylinder 0x0000 for a non-packet device. */
  private setSignature(): void {
    this.tf = { feature: 0, nsect: 1, lbal: 1, lbam: 0, lbah: 0 };
    this.hob = emptyTaskFile();
  }

  // --- data port -------------------------------------------------------------------------

  private readData(size: number): number {
    const t = this.transfer;
    if (t === null || t.dir !== 'in' || (this.status & ATA_STATUS.DRQ) === 0) {
      this.stats.ignoredAccesses++;
      return 0;
    }
    let v = 0;
    for (let i = 0; i < size; i++) v |= (t.buf[t.pos + i] ?? 0) << (8 * i);
    t.pos += size;
    if (t.pos >= t.buf.length) this.endOfBlockIn(t);
    return v >>> 0;
  }

  private writeData(size: number, value: number): void {
    const t = this.transfer;
    if (t === null || t.dir !== 'out' || (this.status & ATA_STATUS.DRQ) === 0) {
      this.stats.ignoredAccesses++;
      return;
    }
    for (let i = 0; i < size && t.pos + i < t.buf.length; i++) t.buf[t.pos + i] = (value >>> (8 * i)) & 0xff;
    t.pos += size;
    if (t.pos >= t.buf.length) this.endOfBlockOut(t);
  }

  // --- command completion ----------------------------------------------------------------

  private complete(): void {
    this.transfer = null;
    this.status = READY;
    this.error = 0;
    this.raiseIrq();
  }

  /** End a command with ERR and the given error bits (ABRT unless told otherwise). */
  private fail(errorBits: number = ATA_ERROR.ABRT): void {
    this.transfer = null;
    this.status = ATA_STATUS.DRDY | ATA_STATUS.ERR;
    this.error = errorBits;
    this.stats.errors++;
    this.raiseIrq();
  }

  private executeCommand(cmd: number): void {
    this.stats.commands++;
    if (!this.present) return; // an empty channel: nobody answers
    if ((this.device & ATA_DEVICE.DEV) !== 0 && cmd !== ATA_CMD.EXECUTE_DEVICE_DIAGNOSTIC) return; // no device 1
    if (this.status & (ATA_STATUS.BSY | ATA_STATUS.DRQ)) {
      // Commands written during a data phase are ignored, as QEMU does; SRST is the way out.
      this.stats.ignoredAccesses++;
      this.warnOnce('busy', `command 0x${cmd.toString(16)} written while BSY/DRQ ignored`);
      return;
    }
    // Writing the command register clears a pending interrupt.
    this.irqPending = false;
    this.updateIrq();

    if (READ_COMMANDS.has(cmd) || WRITE_COMMANDS.has(cmd)) {
      this.startSectors(cmd);
      return;
    }
    if ((cmd & RECALIBRATE_MASK) === ATA_CMD.RECALIBRATE || NOOP_COMMANDS.has(cmd)) {
      this.complete();
      return;
    }
    switch (cmd) {
      case ATA_CMD.IDENTIFY_DEVICE:
        this.startIdentify();
        return;
      case ATA_CMD.READ_VERIFY:
      case ATA_CMD.READ_VERIFY_NORETRY:
      case ATA_CMD.READ_VERIFY_EXT: {
        const range = this.decodeRange(cmd === ATA_CMD.READ_VERIFY_EXT);
        if (range !== null) this.complete();
        return;
      }
      case ATA_CMD.FLUSH_CACHE:
      case ATA_CMD.FLUSH_CACHE_EXT:
        if (this.flushBackend()) this.complete();
        return;
      case ATA_CMD.SET_FEATURES:
        this.setFeatures();
        return;
      case ATA_CMD.SET_MULTIPLE_MODE: {
        const n = this.tf.nsect;
        // 0 disables; otherwise a power of two no larger than IDENTIFY word 47 allows.
        if (n !== 0 && (n > ATA_MAX_MULT_SECTORS || (n & (n - 1)) !== 0)) {
          this.fail();
          return;
        }
        this.multipleCount = n;
        this.complete();
        return;
      }
      case ATA_CMD.INITIALIZE_DEVICE_PARAMETERS: {
        const sectorsPerTrack = this.tf.nsect;
        const heads = (this.device & ATA_DEVICE.HEAD_MASK) + 1;
        if (sectorsPerTrack === 0) {
          this.fail();
          return;
        }
        const cylinders = Math.min(Math.floor(this.totalSectors / (heads * sectorsPerTrack)), 0xffff);
        this.currentGeom = { cylinders, heads, sectorsPerTrack };
        this.complete();
        return;
      }
      case ATA_CMD.EXECUTE_DEVICE_DIAGNOSTIC:
        this.setSignature();
        this.device = ATA_DEVICE.OBSOLETE;
        this.status = READY;
        this.error = ATA_DIAG_PASSED;
        this.raiseIrq();
        return;
      case ATA_CMD.CHECK_POWER_MODE:
        this.complete();
        this.tf.nsect = ATA_POWER_ACTIVE;
        return;
      default:
        this.warnOnce(`cmd-${cmd}`, `unsupported command 0x${cmd.toString(16)} aborted`);
        this.fail();
        return;
    }
  }

  private setFeatures(): void {
    switch (this.tf.feature) {
      case ATA_SETFEATURES.WC_ON:
        this.writeCache = true;
        break;
      case ATA_SETFEATURES.WC_OFF:
        this.writeCache = false;
        // Data the guest believed cached must now be durable.
        if (!this.flushBackend()) return;
        break;
      case ATA_SETFEATURES.XFER: {
        const mode = this.tf.nsect;
        const pio = mode === ATA_XFER.PIO_DEFAULT || mode === ATA_XFER.PIO_DEFAULT_NO_IORDY;
        const pioFlow = (mode & ~ATA_XFER.MODE_MASK) === ATA_XFER.PIO_FLOW_CONTROL && (mode & ATA_XFER.MODE_MASK) <= ATA_XFER.MAX_PIO_MODE;
        // No DMA engine on this channel: DMA modes are refused.
        if (!pio && !pioFlow) {
          this.fail();
          return;
        }
        break;
      }
      case ATA_SETFEATURES.RLA_ON:
      case ATA_SETFEATURES.RLA_OFF:
      case ATA_SETFEATURES.REVERT_ON:
      case ATA_SETFEATURES.REVERT_OFF:
      case ATA_SETFEATURES.APM_ON:
      case ATA_SETFEATURES.APM_OFF:
        break;
      default:
        this.warnOnce(`feat-${this.tf.feature}`, `unsupported SET FEATURES 0x${this.tf.feature.toString(16)} aborted`);
        this.fail();
        return;
    }
    this.complete();
  }

  /** Call backend.flush(); a host failure ends the command with ABRT and returns false. */
  private flushBackend(): boolean {
    try {
      this.backend?.flush();
      this.stats.flushes++;
      return true;
    } catch (err) {
      this.hostError('flush', err);
      this.fail();
      return false;
    }
  }

  private hostError(what: string, err: unknown): void {
    this.stats.ioErrors++;
    this.warnOnce(`io-${what}`, `${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  // --- addressing ------------------------------------------------------------------------

  /**
   * Start LBA and sector count of a READ/WRITE/VERIFY command, or null after failing the command
   * (bad CHS address or a range past the end: IDNF).
   */
  private decodeRange(ext: boolean): { lba: number; count: number; chs: boolean } | null {
    const tf = this.tf;
    const hob = this.hob;
    let lba: number;
    let count: number;
    let chs = false;
    if (ext) {
      lba = ((hob.lbah * 256 + hob.lbam) * 256 + hob.lbal) * TWO_24 + ((tf.lbah << 16) | (tf.lbam << 8) | tf.lbal);
      count = ((hob.nsect << 8) | tf.nsect) || 0x10000;
    } else {
      count = tf.nsect || 0x100;
      if (this.device & ATA_DEVICE.LBA) {
        lba = ((this.device & ATA_DEVICE.HEAD_MASK) << 24) | (tf.lbah << 16) | (tf.lbam << 8) | tf.lbal;
      } else {
        chs = true;
        const g = this.currentGeom;
        const cylinder = (tf.lbah << 8) | tf.lbam;
        const head = this.device & ATA_DEVICE.HEAD_MASK;
        const sector = tf.lbal;
        if (sector === 0 || sector > g.sectorsPerTrack || head >= g.heads) {
          this.fail(ATA_ERROR.IDNF);
          return null;
        }
        lba = (cylinder * g.heads + head) * g.sectorsPerTrack + sector - 1;
      }
    }
    if (lba + count > this.totalSectors) {
      this.warnOnce('idnf', `access to sectors ${lba}+${count} beyond the ${this.totalSectors}-sector disk`);
      this.fail(ATA_ERROR.IDNF);
      return null;
    }
    return { lba, count, chs };
  }

  /** Write the address of the last sector transferred back into the task file. */
  private setTaskFileAddress(lba: number, lba48: boolean, chs: boolean): void {
    if (chs) return;
    this.tf.lbal = lba & 0xff;
    this.tf.lbam = (lba >>> 8) & 0xff;
    this.tf.lbah = (lba >>> 16) & 0xff;
    const high = Math.floor(lba / TWO_24);
    if (lba48) {
      this.hob.lbal = high & 0xff;
      this.hob.lbam = (high >>> 8) & 0xff;
      this.hob.lbah = (high >>> 16) & 0xff;
    } else {
      this.device = (this.device & ~ATA_DEVICE.HEAD_MASK) | (high & ATA_DEVICE.HEAD_MASK);
    }
  }

  // --- data phases -----------------------------------------------------------------------

  private startIdentify(): void {
    const words = buildIdentify({
      sectors: this.totalSectors,
      model: this.model,
      serial: this.serial,
      firmware: this.firmware,
      defaultGeometry: this.defaultGeom,
      currentGeometry: this.currentGeom,
      multipleCount: this.multipleCount,
      writeCache: this.writeCache,
    });
    const buf = new Uint8Array(ATA_SECTOR_SIZE);
    words.forEach((w, i) => {
      buf[2 * i] = w & 0xff;
      buf[2 * i + 1] = w >> 8;
    });
    this.transfer = { dir: 'in', buf, pos: 0, kind: 'identify', lba: 0, remaining: 1, blockSectors: 1, lba48: false, chs: false };
    this.status = READY | ATA_STATUS.DRQ;
    this.raiseIrq();
  }

  private startSectors(cmd: number): void {
    const write = WRITE_COMMANDS.has(cmd);
    const multiple = MULTIPLE_COMMANDS.has(cmd);
    if (multiple && this.multipleCount === 0) {
      this.fail(); // READ/WRITE MULTIPLE before SET MULTIPLE MODE
      return;
    }
    const lba48 = EXT_COMMANDS.has(cmd);
    const range = this.decodeRange(lba48);
    if (range === null) return;
    if (write && this.backend?.readOnly) {
      this.warnOnce('ro', 'write to a read-only disk aborted');
      this.fail();
      return;
    }
    const t: Transfer = {
      dir: write ? 'out' : 'in',
      buf: new Uint8Array(0),
      pos: 0,
      kind: 'sectors',
      lba: range.lba,
      remaining: range.count,
      blockSectors: multiple ? this.multipleCount : 1,
      lba48,
      chs: range.chs,
    };
    this.transfer = t;
    if (write) {
      // PIO data-out: the first block is requested without an interrupt.
      t.buf = new Uint8Array(Math.min(t.blockSectors, t.remaining) * ATA_SECTOR_SIZE);
      this.status = READY | ATA_STATUS.DRQ;
    } else {
      this.loadReadBlock(t);
    }
  }

  /** Fetch the next DRQ block of a read and interrupt (PIO data-in). */
  private loadReadBlock(t: Transfer): void {
    const n = Math.min(t.blockSectors, t.remaining);
    let data: Uint8Array;
    try {
      data = (this.backend as BlockBackend).read(t.lba * ATA_SECTOR_SIZE, n * ATA_SECTOR_SIZE);
    } catch (err) {
      this.hostError('read', err);
      this.setTaskFileAddress(t.lba, t.lba48, t.chs);
      this.fail(ATA_ERROR.UNC);
      return;
    }
    this.stats.sectorsRead += n;
    t.buf = data;
    t.pos = 0;
    this.status = READY | ATA_STATUS.DRQ;
    this.raiseIrq();
  }

  private endOfBlockIn(t: Transfer): void {
    if (t.kind === 'identify') {
      this.transfer = null;
      this.status = READY;
      return;
    }
    const n = t.buf.length / ATA_SECTOR_SIZE;
    this.setTaskFileAddress(t.lba + n - 1, t.lba48, t.chs);
    t.lba += n;
    t.remaining -= n;
    this.tf.nsect = t.remaining & 0xff;
    if (t.remaining > 0) {
      this.loadReadBlock(t);
    } else {
      // The last block was taken: no interrupt at the end of PIO data-in.
      this.transfer = null;
      this.status = READY;
    }
  }

  private endOfBlockOut(t: Transfer): void {
    const n = t.buf.length / ATA_SECTOR_SIZE;
    try {
      (this.backend as BlockBackend).write(t.lba * ATA_SECTOR_SIZE, t.buf);
    } catch (err) {
      this.hostError('write', err);
      this.setTaskFileAddress(t.lba, t.lba48, t.chs);
      this.fail();
      return;
    }
    this.stats.sectorsWritten += n;
    this.setTaskFileAddress(t.lba + n - 1, t.lba48, t.chs);
    t.lba += n;
    t.remaining -= n;
    this.tf.nsect = t.remaining & 0xff;
    if (t.remaining > 0) {
      t.buf = new Uint8Array(Math.min(t.blockSectors, t.remaining) * ATA_SECTOR_SIZE);
      t.pos = 0;
      this.status = READY | ATA_STATUS.DRQ;
      this.raiseIrq();
      return;
    }
    // With the write cache off every command is durable before it completes.
    if (!this.writeCache && !this.flushBackend()) return;
    this.complete();
  }
}
