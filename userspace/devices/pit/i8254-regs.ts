/**
 * 8254 register and bit tables (Intel 82C54 datasheet "Control Word Format", "Read-Back Command",
 * "Status Byte"; facts §5.2). Offsets are relative to the PIT's base port 0x40.
 */

/** Register offsets inside the 4-port window at 0x40. */
export const PIT_OFFSET = {
  COUNTER0: 0,
  COUNTER1: 1,
  COUNTER2: 2,
  CONTROL: 3,
} as const;

/** Number of counters in one 8254. */
export const PIT_CHANNELS = 3;

/** Control word fields (write to offset 3). */
export const PIT_CONTROL = {
  SC_SHIFT: 6, // select counter; 3 = read-back
  RW_SHIFT: 4, // access mode
  M_SHIFT: 1, // counting mode
  FIELD2_MASK: 0x3,
  M_MASK: 0x7,
  BCD: 0x01,
  SC_READ_BACK: 3,
} as const;

/** RW field of the control word: how the count is read and written. */
export const PIT_ACCESS = {
  LATCH: 0, // counter latch command
  LSB: 1,
  MSB: 2,
  LSB_MSB: 3,
} as const;

/** Counting modes as the datasheet numbers them (6 and 7 alias 2 and 3). */
export const PIT_MODE = {
  INTERRUPT_ON_TERMINAL_COUNT: 0,
  HW_RETRIGGERABLE_ONE_SHOT: 1,
  RATE_GENERATOR: 2,
  SQUARE_WAVE: 3,
  SW_TRIGGERED_STROBE: 4,
  HW_TRIGGERED_STROBE: 5,
} as const;

/** Read-back command bits (control word with SC = 3). Bits are active low for COUNT/STATUS. */
export const PIT_READ_BACK = {
  NOT_COUNT: 0x20,
  NOT_STATUS: 0x10,
  CNT0: 0x02,
  CNT1: 0x04,
  CNT2: 0x08,
} as const;

/** Status byte returned after a read-back status latch. */
export const PIT_STATUS = {
  OUTPUT: 0x80,
  NULL_COUNT: 0x40,
  RW_SHIFT: 4,
  M_SHIFT: 1,
  BCD: 0x01,
} as const;

/** Largest count: 0 written means 2^16 in binary and 10^4 in BCD. */
export const PIT_MODULUS = {
  BINARY: 0x10000,
  BCD: 10000,
} as const;
