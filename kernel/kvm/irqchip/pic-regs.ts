/**
 * 8259A register and command tables (Intel 8259A datasheet "Initialization Command Words" and
 * "Operation Command Words"; facts §5.3), plus the PC's port assignment and the PIIX ELCR.
 */

/** I/O ports of the cascaded pair and the edge/level control registers (facts §3.10, §5.3). */
export const PIC_PORT = {
  MASTER_COMMAND: 0x20,
  MASTER_DATA: 0x21,
  SLAVE_COMMAND: 0xa0,
  SLAVE_DATA: 0xa1,
  ELCR_MASTER: 0x4d0,
  ELCR_SLAVE: 0x4d1,
} as const;

/** Command-port writes: bit 4 selects ICW1, else bit 3 selects OCW3 over OCW2. */
export const PIC_COMMAND = {
  ICW1: 0x10,
  OCW3: 0x08,
} as const;

/** ICW1 bits. */
export const PIC_ICW1 = {
  IC4: 0x01, // ICW4 follows
  SNGL: 0x02, // single PIC, no ICW3
  LTIM: 0x08, // level-triggered inputs
} as const;

/** ICW2: vector base; the low three bits are replaced by the IR level. */
export const PIC_ICW2_VECTOR_MASK = 0xf8;

/** ICW4 bits. */
export const PIC_ICW4 = {
  UPM: 0x01, // 8086 mode
  AEOI: 0x02, // automatic end of interrupt
  SFNM: 0x10, // special fully nested mode
} as const;

/** OCW2 commands in bits 7:5. */
export const PIC_OCW2 = {
  SHIFT: 5,
  LEVEL_MASK: 0x07,
  ROTATE_AEOI_CLEAR: 0,
  NON_SPECIFIC_EOI: 1,
  NOP: 2,
  SPECIFIC_EOI: 3,
  ROTATE_AEOI_SET: 4,
  ROTATE_NON_SPECIFIC_EOI: 5,
  SET_PRIORITY: 6,
  ROTATE_SPECIFIC_EOI: 7,
} as const;

/** OCW3 bits. */
export const PIC_OCW3 = {
  RIS: 0x01, // read ISR (1) or IRR (0)
  RR: 0x02, // RIS is valid
  P: 0x04, // poll
  SMM: 0x20, // special mask mode on (1) / off (0)
  ESMM: 0x40, // SMM is valid
} as const;

/** Poll-mode read: bit 7 set when an interrupt was pending, level in bits 2:0. */
export const PIC_POLL_INT = 0x80;

/** Writable ELCR bits: IRQ 0, 1, 2, 8 and 13 are always edge-triggered on a PC (QEMU i8259). */
export const PIC_ELCR_MASK = {
  MASTER: 0xf8,
  SLAVE: 0xde,
} as const;

/** The master input the slave's INT output is wired to. */
export const PIC_CASCADE_IRQ = 2;

/** Level reported when nothing is pending at INTA: IR7 (spurious). */
export const PIC_SPURIOUS_IRQ = 7;

/** "No level pending" result of the priority resolver. */
export const PIC_NO_IRQ = -1;
