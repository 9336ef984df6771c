/**
 * Intel 8042 keyboard-controller and PS/2 device constants, named as Linux
 * drivers/input/serio/i8042.h and QEMU hw/input/pckbd.c name them (facts.md §5.4).
 */

/** Offsets: the controller answers at 0x60 (data) and 0x64 (status/command). */
export const I8042_DATA_PORT = 0x60;
export const I8042_COMMAND_PORT = 0x64;
/** ISA IRQs: keyboard data on IRQ1, AUX (mouse) data on IRQ12. */
export const I8042_IRQ = {
  KBD: 1,
  AUX: 12,
} as const;

/** Status register (read from 0x64). */
export const I8042_STR = {
  OBF: 0x01, // output buffer full
  IBF: 0x02, // input buffer full (never: the model consumes writes at once)
  SYSFLAG: 0x04, // set by a passed self-test or the command byte's SYS bit
  CMDDAT: 0x08, // last write went to the command port
  KEYLOCK: 0x10, // 1 = keyboard not inhibited
  AUXDATA: 0x20, // output buffer holds AUX (mouse) data
  TIMEOUT: 0x40,
  PARITY: 0x80,
} as const;

/** Controller command byte ("CTR", QEMU "mode"), read with 0x20 and written with 0x60. */
export const I8042_CTR = {
  KBDINT: 0x01,
  AUXINT: 0x02,
  SYSFLAG: 0x04,
  IGNKEYLOCK: 0x08,
  KBDDIS: 0x10,
  AUXDIS: 0x20,
  XLATE: 0x40,
} as const;

/** Commands written to port 0x64. */
export const I8042_CMD = {
  CTL_RCTR: 0x20,
  CTL_WCTR: 0x60,
  AUX_DISABLE: 0xa7,
  AUX_ENABLE: 0xa8,
  AUX_TEST: 0xa9,
  CTL_TEST: 0xaa,
  KBD_TEST: 0xab,
  KBD_DISABLE: 0xad,
  KBD_ENABLE: 0xae,
  READ_INPORT: 0xc0,
  READ_OUTPORT: 0xd0,
  WRITE_OUTPORT: 0xd1,
  KBD_LOOP: 0xd2, // next data byte appears as keyboard output
  AUX_LOOP: 0xd3, // next data byte appears as AUX output
  AUX_SEND: 0xd4, // next data byte goes to the AUX device
  DISABLE_A20: 0xdd,
  ENABLE_A20: 0xdf,
  READ_TEST_INPUTS: 0xe0,
  /** 0xF0-0xFF pulse output-port bits 3:0 low where the command has a 0; bit 0 is CPU reset. */
  PULSE_BASE: 0xf0,
  RESET: 0xfe,
} as const;

/** Controller answers. */
export const I8042_REPLY = {
  CTL_TEST_OK: 0x55,
  PORT_TEST_OK: 0x00,
  /** Input port: bit 7 = keyboard not inhibited (QEMU answers 0x80). */
  INPORT: 0x80,
} as const;

/** Output port (P2): bit 0 = CPU not in reset, bit 1 = A20 gate, 4/5 mirror the OBF bits. */
export const I8042_OUTPORT = {
  RESET: 0x01,
  A20: 0x02,
  OBF: 0x10,
  AUX_OBF: 0x20,
  /** Reset value (QEMU: RESET | A20 | the pulled-up lines). */
  DEFAULT: 0xcf,
} as const;

/** PS/2 keyboard commands (data port writes; Linux drivers/input/keyboard/atkbd.c). */
export const ATKBD_CMD = {
  SETLEDS: 0xed,
  ECHO: 0xee,
  SSCANSET: 0xf0,
  GETID: 0xf2,
  SETREP: 0xf3,
  ENABLE: 0xf4,
  RESET_DIS: 0xf5,
  RESET_DEF: 0xf6,
  RESEND: 0xfe,
  RESET_BAT: 0xff,
} as const;

/** PS/2 mouse commands (Linux drivers/input/mouse/psmouse.h). */
export const PSMOUSE_CMD = {
  SETRES: 0xe8,
  GETINFO: 0xe9,
  POLL: 0xeb, // send one movement packet now
  SETRATE: 0xf3,
  GETID: 0xf2,
  RESET_BAT: 0xff,
} as const;

/** PS/2 device answers. */
export const PS2_REPLY = {
  ACK: 0xfa,
  BAT_OK: 0xaa,
  ECHO: 0xee,
  RESEND: 0xfe,
  /** MF2 keyboard ID bytes. */
  KBD_ID: [0xab, 0x83],
  /** Standard mouse ID. */
  MOUSE_ID: 0x00,
  /** GETINFO: status (stream mode, disabled), resolution 4 counts/mm, rate 100. */
  MOUSE_INFO: [0x00, 0x02, 0x64],
  /** A movement packet with no buttons and no motion (byte 0 bit 3 is always 1). */
  MOUSE_IDLE_PACKET: [0x08, 0x00, 0x00],
} as const;

/** Bytes a PS/2 device buffers before dropping (QEMU PS2_QUEUE_SIZE). */
export const PS2_QUEUE_SIZE = 256;
