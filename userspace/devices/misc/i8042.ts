import type { BusDevice, IrqLine } from '../../bus/device.js';
import { OnceLog, type LogSink } from '../../bus/once-log.js';
import {
  ATKBD_CMD,
  I8042_CMD,
  I8042_CTR,
  I8042_OUTPORT,
  I8042_REPLY,
  I8042_STR,
  PS2_QUEUE_SIZE,
  PS2_REPLY,
  PSMOUSE_CMD,
} from './i8042-registers.js';

/** Construction parameters of an I8042. */
export interface I8042Options {
  /** ISA IRQ1: keyboard data in the output buffer. */
  kbdIrq: IrqLine;
  /** ISA IRQ12: AUX data in the output buffer (optional: no line means the pulse is not wired). */
  auxIrq?: IrqLine;
  /** The guest pulsed the CPU reset line (command 0xFE, or output port bit 0 written as 0). */
  onReset: () => void;
  /** The A20 gate changed (output port bit 1, commands 0xDD/0xDF). */
  onA20?: (enabled: boolean) => void;
  log?: LogSink;
}

interface OutputByte {
  byte: number;
  aux: boolean;
}

/**
 * Intel 8042 keyboard controller with a PS/2 keyboard and a minimal PS/2 mouse behind it
 * (QEMU hw/input/pckbd.c and hw/input/ps2.c, facts.md §5.4), enough for the Linux i8042/atkbd/
 * psmouse probes and for the 0xFE reboot path. Registered as two one-byte windows: `dataPort` at
 * 0x60 and `commandPort` at 0x64 (0x61-0x63 belong to other devices).
 *
 * The model is infinitely fast: IBF is never set, answers are in the output buffer as soon as the
 * command is written. Controller answers are delivered even while a port is disabled; device
 * output waits until its port is enabled (KBDDIS/AUXDIS). Scan codes are injected already in the
 * set the guest expects (set 1 with XLATE on): no translation table.
 */
export class I8042 {
  /** Port 0x60: data (read: output buffer; write: command parameter or byte for the keyboard). */
  readonly dataPort: BusDevice;
  /** Port 0x64: read status, write controller command. */
  readonly commandPort: BusDevice;
  readonly stats = { unknownCommands: 0, droppedScancodes: 0, resets: 0 };

  private readonly kbdIrq: IrqLine;
  private readonly auxIrq: IrqLine | undefined;
  private readonly onReset: () => void;
  private readonly onA20: ((enabled: boolean) => void) | undefined;
  private readonly log: OnceLog;

  private ctr = 0;
  private outport = 0;
  private selfTestPassed = false;
  private lastWriteWasCommand = false;
  /** Controller command waiting for its data-port parameter (0 = none). */
  private pendingCommand = 0;
  /** Byte in the output buffer, if OBF. */
  private obf: OutputByte | undefined;
  private lastRead = 0;
  private readonly controllerQueue: OutputByte[] = [];
  private readonly kbdQueue: number[] = [];
  private readonly auxQueue: number[] = [];
  private kbdLevel = false;
  private auxLevel = false;

  private kbdScanning = true;
  private kbdScanSet = 2;
  private kbdPendingParam = 0;
  private kbdLastSent = PS2_REPLY.ACK as number;
  private auxPendingParam = 0;

  constructor(options: I8042Options) {
    this.kbdIrq = options.kbdIrq;
    this.auxIrq = options.auxIrq;
    this.onReset = options.onReset;
    this.onA20 = options.onA20;
    this.log = new OnceLog(options.log);
    this.dataPort = {
      read: () => this.readData(),
      write: (_offset, _size, value) => this.writeData(value & 0xff),
    };
    this.commandPort = {
      read: () => this.readStatus(),
      write: (_offset, _size, value) => this.writeCommand(value & 0xff),
    };
    this.reset();
  }

  /** Controller and device reset (QEMU kbd_reset): both interrupts enabled, A20 on. */
  reset(): void {
    this.ctr = I8042_CTR.KBDINT | I8042_CTR.AUXINT;
    this.outport = I8042_OUTPORT.DEFAULT;
    this.selfTestPassed = false;
    this.lastWriteWasCommand = true;
    this.pendingCommand = 0;
    this.obf = undefined;
    this.controllerQueue.length = 0;
    this.kbdQueue.length = 0;
    this.auxQueue.length = 0;
    this.resetKeyboard();
    this.auxPendingParam = 0;
    this.updateIrq();
  }

  /** Host key input: scan codes for the guest, queued while the keyboard is scanning. */
  injectScancodes(codes: Uint8Array | readonly number[]): void {
    if (!this.kbdScanning) return;
    for (const code of codes) this.sendFromKeyboard(code & 0xff);
    this.refill();
  }

  /** A20 gate as the output port says. */
  a20Enabled(): boolean {
    return (this.outport & I8042_OUTPORT.A20) !== 0;
  }

  /** Command byte (CTR), for tests and --stats. */
  commandByte(): number {
    return this.ctr;
  }

  private readStatus(): number {
    let status: number = I8042_STR.KEYLOCK;
    if (this.obf !== undefined) status |= I8042_STR.OBF | (this.obf.aux ? I8042_STR.AUXDATA : 0);
    if (this.selfTestPassed || this.ctr & I8042_CTR.SYSFLAG) status |= I8042_STR.SYSFLAG;
    if (this.lastWriteWasCommand) status |= I8042_STR.CMDDAT;
    return status;
  }

  private readData(): number {
    if (this.obf !== undefined) {
      this.lastRead = this.obf.byte;
      // Emptying the buffer drops the line; loading the next byte raises it again (a new edge).
      this.obf = undefined;
      this.updateIrq();
      this.refill();
    }
    return this.lastRead;
  }

  private writeCommand(command: number): void {
    this.lastWriteWasCommand = true;
    this.pendingCommand = 0;
    if (command >= I8042_CMD.PULSE_BASE) {
      // Pulse output lines 3:0 low where the command has zeros; only bit 0 (CPU reset) matters.
      if ((command & I8042_OUTPORT.RESET) === 0) this.requestReset();
      return;
    }
    switch (command) {
      case I8042_CMD.CTL_RCTR:
        this.reply(this.ctr);
        return;
      case I8042_CMD.CTL_WCTR:
      case I8042_CMD.WRITE_OUTPORT:
      case I8042_CMD.KBD_LOOP:
      case I8042_CMD.AUX_LOOP:
      case I8042_CMD.AUX_SEND:
        this.pendingCommand = command;
        return;
      case I8042_CMD.AUX_DISABLE:
        this.setCtr(this.ctr | I8042_CTR.AUXDIS);
        return;
      case I8042_CMD.AUX_ENABLE:
        this.setCtr(this.ctr & ~I8042_CTR.AUXDIS);
        return;
      case I8042_CMD.AUX_TEST:
      case I8042_CMD.KBD_TEST:
        this.reply(I8042_REPLY.PORT_TEST_OK);
        return;
      case I8042_CMD.CTL_TEST:
        this.selfTestPassed = true;
        this.reply(I8042_REPLY.CTL_TEST_OK);
        return;
      case I8042_CMD.KBD_DISABLE:
        this.setCtr(this.ctr | I8042_CTR.KBDDIS);
        return;
      case I8042_CMD.KBD_ENABLE:
        this.setCtr(this.ctr & ~I8042_CTR.KBDDIS);
        return;
      case I8042_CMD.READ_INPORT:
        this.reply(I8042_REPLY.INPORT);
        return;
      case I8042_CMD.READ_OUTPORT:
        this.reply(this.outportWithBufferBits());
        return;
      case I8042_CMD.DISABLE_A20:
        this.setOutport(this.outport & ~I8042_OUTPORT.A20);
        return;
      case I8042_CMD.ENABLE_A20:
        this.setOutport(this.outport | I8042_OUTPORT.A20);
        return;
      case I8042_CMD.READ_TEST_INPUTS:
        this.reply(0x00);
        return;
      default:
        this.stats.unknownCommands++;
        this.log.warn(`cmd${command}`, `i8042: unsupported controller command 0x${command.toString(16)} ignored`);
    }
  }

  private writeData(value: number): void {
    this.lastWriteWasCommand = false;
    const command = this.pendingCommand;
    this.pendingCommand = 0;
    switch (command) {
      case I8042_CMD.CTL_WCTR:
        this.setCtr(value);
        return;
      case I8042_CMD.WRITE_OUTPORT:
        this.setOutport(value);
        if ((value & I8042_OUTPORT.RESET) === 0) this.requestReset();
        return;
      case I8042_CMD.KBD_LOOP:
        this.reply(value);
        return;
      case I8042_CMD.AUX_LOOP:
        this.reply(value, true);
        return;
      case I8042_CMD.AUX_SEND:
        this.mouseCommand(value);
        this.refill();
        return;
      default:
        // No controller command waiting: the byte goes to the keyboard, which re-enables its port (QEMU).
        this.ctr &= ~I8042_CTR.KBDDIS;
        this.keyboardCommand(value);
        this.refill();
    }
  }

  private keyboardCommand(value: number): void {
    const param = this.kbdPendingParam;
    if (param !== 0) {
      this.kbdPendingParam = 0;
      this.sendFromKeyboard(PS2_REPLY.ACK);
      if (param === ATKBD_CMD.SSCANSET) {
        if (value === 0) this.sendFromKeyboard(this.kbdScanSet);
        else if (value <= 3) this.kbdScanSet = value;
      }
      return;
    }
    switch (value) {
      case ATKBD_CMD.SETLEDS:
      case ATKBD_CMD.SSCANSET:
      case ATKBD_CMD.SETREP:
        this.kbdPendingParam = value;
        this.sendFromKeyboard(PS2_REPLY.ACK);
        return;
      case ATKBD_CMD.ECHO:
        this.sendFromKeyboard(PS2_REPLY.ECHO);
        return;
      case ATKBD_CMD.GETID:
        this.sendFromKeyboard(PS2_REPLY.ACK);
        for (const b of PS2_REPLY.KBD_ID) this.sendFromKeyboard(b);
        return;
      case ATKBD_CMD.ENABLE:
        this.kbdScanning = true;
        this.sendFromKeyboard(PS2_REPLY.ACK);
        return;
      case ATKBD_CMD.RESET_DIS:
        this.kbdScanning = false;
        this.sendFromKeyboard(PS2_REPLY.ACK);
        return;
      case ATKBD_CMD.RESET_DEF:
        this.kbdScanSet = 2;
        this.sendFromKeyboard(PS2_REPLY.ACK);
        return;
      case ATKBD_CMD.RESEND:
        this.sendFromKeyboard(this.kbdLastSent);
        return;
      case ATKBD_CMD.RESET_BAT:
        this.resetKeyboard();
        this.sendFromKeyboard(PS2_REPLY.ACK);
        this.sendFromKeyboard(PS2_REPLY.BAT_OK);
        return;
      default:
        // 0xF7-0xFD are set-3 typematic modes: accepted; anything else is not a command.
        this.sendFromKeyboard(value >= 0xf7 ? PS2_REPLY.ACK : PS2_REPLY.RESEND);
    }
  }

  private mouseCommand(value: number): void {
    if (this.auxPendingParam !== 0) {
      this.auxPendingParam = 0;
      this.sendFromMouse(PS2_REPLY.ACK);
      return;
    }
    switch (value) {
      case PSMOUSE_CMD.SETRES:
      case PSMOUSE_CMD.SETRATE:
        this.auxPendingParam = value;
        this.sendFromMouse(PS2_REPLY.ACK);
        return;
      case PSMOUSE_CMD.GETID:
        this.sendFromMouse(PS2_REPLY.ACK);
        this.sendFromMouse(PS2_REPLY.MOUSE_ID);
        return;
      case PSMOUSE_CMD.GETINFO:
        this.sendFromMouse(PS2_REPLY.ACK);
        for (const b of PS2_REPLY.MOUSE_INFO) this.sendFromMouse(b);
        return;
      case PSMOUSE_CMD.POLL:
        this.sendFromMouse(PS2_REPLY.ACK);
        for (const b of PS2_REPLY.MOUSE_IDLE_PACKET) this.sendFromMouse(b);
        return;
      case PSMOUSE_CMD.RESET_BAT:
        this.auxQueue.length = 0;
        this.sendFromMouse(PS2_REPLY.ACK);
        this.sendFromMouse(PS2_REPLY.BAT_OK);
        this.sendFromMouse(PS2_REPLY.MOUSE_ID);
        return;
      default:
        // Everything else a driver sends (scaling, modes, enable/disable, defaults) is acknowledged.
        this.sendFromMouse(value >= 0xe6 ? PS2_REPLY.ACK : PS2_REPLY.RESEND);
    }
  }

  private resetKeyboard(): void {
    this.kbdScanning = true;
    this.kbdScanSet = 2;
    this.kbdPendingParam = 0;
    this.kbdQueue.length = 0;
  }

  private requestReset(): void {
    this.stats.resets++;
    this.onReset();
  }

  private setCtr(value: number): void {
    this.ctr = value & 0xff;
    this.refill();
  }

  private setOutport(value: number): void {
    const a20Before = this.a20Enabled();
    this.outport = value & 0xff;
    if (this.a20Enabled() !== a20Before) this.onA20?.(this.a20Enabled());
  }

  private outportWithBufferBits(): number {
    let value = this.outport & ~(I8042_OUTPORT.OBF | I8042_OUTPORT.AUX_OBF);
    if (this.obf !== undefined) value |= this.obf.aux ? I8042_OUTPORT.AUX_OBF : I8042_OUTPORT.OBF;
    return value;
  }

  /** A byte from the controller itself: delivered whatever the port-disable bits say. */
  private reply(byte: number, aux = false): void {
    this.controllerQueue.push({ byte, aux });
    this.refill();
  }

  private sendFromKeyboard(byte: number): void {
    if (this.kbdQueue.length >= PS2_QUEUE_SIZE) {
      this.stats.droppedScancodes++;
      return;
    }
    this.kbdLastSent = byte;
    this.kbdQueue.push(byte);
  }

  private sendFromMouse(byte: number): void {
    if (this.auxQueue.length < PS2_QUEUE_SIZE) this.auxQueue.push(byte);
  }

  /** Load the output buffer if it is empty: controller bytes first, then enabled devices. */
  private refill(): void {
    if (this.obf === undefined) {
      const fromController = this.controllerQueue.shift();
      if (fromController !== undefined) this.obf = fromController;
      else if (this.kbdQueue.length > 0 && !(this.ctr & I8042_CTR.KBDDIS)) this.obf = { byte: this.kbdQueue.shift() ?? 0, aux: false };
      else if (this.auxQueue.length > 0 && !(this.ctr & I8042_CTR.AUXDIS)) this.obf = { byte: this.auxQueue.shift() ?? 0, aux: true };
    }
    this.updateIrq();
  }

  /** The only place the IRQ lines change: IRQ1/IRQ12 follow OBF when the command byte enables them. */
  private updateIrq(): void {
    const full = this.obf;
    const kbd = full !== undefined && !full.aux && (this.ctr & I8042_CTR.KBDINT) !== 0;
    const aux = full !== undefined && full.aux && (this.ctr & I8042_CTR.AUXINT) !== 0;
    if (kbd !== this.kbdLevel) {
      this.kbdLevel = kbd;
      this.kbdIrq.set(kbd);
    }
    if (aux !== this.auxLevel) {
      this.auxLevel = aux;
      this.auxIrq?.set(aux);
    }
  }
}
