/**
 * MC146818A real-time clock and PC CMOS layout (Motorola MC146818A datasheet; QEMU
 * hw/rtc/mc146818rtc.c and include/hw/rtc/mc146818rtc_regs.h; IBM AT BIOS CMOS map).
 */

/** Ports: 0x70 index (bit 7 = NMI disable), 0x71 data. */
export const CMOS_INDEX_PORT = 0x70;
export const CMOS_DATA_PORT = 0x71;
export const CMOS_INDEX_MASK = 0x7f;
export const CMOS_NMI_DISABLE = 0x80;
/** The RTC interrupts on ISA IRQ8. */
export const RTC_IRQ = 8;
/** Bytes of CMOS RAM including the clock registers. */
export const CMOS_SIZE = 128;

/** Register indexes. */
export const RTC_REG = {
  SECONDS: 0x00,
  SECONDS_ALARM: 0x01,
  MINUTES: 0x02,
  MINUTES_ALARM: 0x03,
  HOURS: 0x04,
  HOURS_ALARM: 0x05,
  DAY_OF_WEEK: 0x06, // 1 = Sunday
  DAY_OF_MONTH: 0x07,
  MONTH: 0x08,
  YEAR: 0x09,
  A: 0x0a,
  B: 0x0b,
  C: 0x0c,
  D: 0x0d,
  CENTURY: 0x32, // IBM PC convention (ACPI FADT "century" default)
} as const;

/** Register A: update in progress, divider select, rate select. */
export const RTC_REG_A = {
  UIP: 0x80,
  DV_MASK: 0x70,
  /** DV = 010: 32.768 kHz time base, normal operation. */
  DV_32KHZ: 0x20,
  RS_MASK: 0x0f,
} as const;

/** Register B: control. */
export const RTC_REG_B = {
  SET: 0x80, // inhibit updates while the time is written
  PIE: 0x40, // periodic interrupt enable
  AIE: 0x20, // alarm interrupt enable
  UIE: 0x10, // update-ended interrupt enable
  SQWE: 0x08,
  DM: 0x04, // 1 = binary, 0 = BCD
  H24: 0x02, // 1 = 24-hour mode
  DSE: 0x01,
} as const;

/** Register C: interrupt flags, all cleared by reading it. */
export const RTC_REG_C = {
  IRQF: 0x80,
  PF: 0x40,
  AF: 0x20,
  UF: 0x10,
} as const;

/** Register D: valid RAM and time. */
export const RTC_REG_D = {
  VRT: 0x80,
} as const;

/** Hours bit 7 in 12-hour mode. */
export const RTC_HOURS_PM = 0x80;
/** Alarm bytes 0xC0-0xFF match any value ("don't care"). */
export const RTC_ALARM_DONT_CARE = 0xc0;

/** Power-on values (QEMU: 32.768 kHz divider with RS = 6 → 1024 Hz, 24-hour BCD). */
export const RTC_RESET = {
  A: RTC_REG_A.DV_32KHZ | 0x06,
  B: RTC_REG_B.H24,
  C: 0x00,
  D: RTC_REG_D.VRT,
} as const;

/** Frequency of the time base: the periodic rate is derived from it. */
export const RTC_BASE_HZ = 32_768;
/**
 * UIP rises this long before each update (datasheet: 244 µs = 8 cycles of 32.768 kHz;
 * QEMU UIP_HOLD_LENGTH).
 */
export const RTC_UIP_LEAD_NS = Math.round((8 * 1e9) / RTC_BASE_HZ);

/** Memory-size bytes the PC BIOS reads (IBM AT CMOS map; QEMU hw/i386/pc.c pc_cmos_init). */
export const CMOS_MEM = {
  BASE_LO: 0x15, // conventional memory in KiB (640)
  BASE_HI: 0x16,
  EXT_LO: 0x17, // KiB above 1 MiB, capped at 0xFFFF
  EXT_HI: 0x18,
  EXT_COPY_LO: 0x30, // same value as found by POST
  EXT_COPY_HI: 0x31,
  ABOVE_16M_LO: 0x34, // 64 KiB units above 16 MiB, capped at 0xFFFF
  ABOVE_16M_HI: 0x35,
} as const;

/** Standard AT checksum: the 16-bit sum of bytes 0x10-0x2D, stored big-endian at 0x2E/0x2F. */
export const CMOS_CHECKSUM = {
  FIRST: 0x10,
  LAST: 0x2d,
  HI: 0x2e,
  LO: 0x2f,
} as const;

/** Conventional memory a PC reports (KiB). */
export const CMOS_BASE_MEMORY_KIB = 640;
