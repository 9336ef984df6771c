/**
 * ATA register, bit and command tables (ATA/ATAPI-8 ACS and ATA8-APT "Command Block registers";
 * Linux include/linux/ata.h; facts §5.5). Offsets are relative to the command block base 0x1F0
 * and the control block base 0x3F6.
 */

/** Command block register offsets (0x1F0 + n). */
export const ATA_REG = {
  DATA: 0,
  ERROR_FEATURE: 1,
  NSECT: 2,
  LBAL: 3, // sector number in CHS mode
  LBAM: 4, // cylinder low
  LBAH: 5, // cylinder high
  DEVICE: 6,
  STATUS_COMMAND: 7,
} as const;

/** Control block register offsets (0x3F6 + n). */
export const ATA_CTL_REG = {
  ALTSTATUS_DEVCTL: 0,
  DRIVE_ADDRESS: 1, // 0x3F7, shared with the floppy controller; not implemented
} as const;

/** Status register bits. */
export const ATA_STATUS = {
  ERR: 0x01,
  DRQ: 0x08,
  DSC: 0x10, // seek complete (obsolete, still set by drives and by QEMU)
  DF: 0x20,
  DRDY: 0x40,
  BSY: 0x80,
} as const;

/** Error register bits. */
export const ATA_ERROR = {
  AMNF: 0x01, // also "diagnostic passed" code 0x01 after reset
  ABRT: 0x04,
  IDNF: 0x10,
  UNC: 0x40,
} as const;

/** Device register bits. */
export const ATA_DEVICE = {
  HEAD_MASK: 0x0f, // CHS head or LBA 27:24
  DEV: 0x10, // 1 = device 1 (slave)
  LBA: 0x40,
  OBSOLETE: 0xa0, // bits 7 and 5, set by convention
} as const;

/** Device control register bits (write to 0x3F6). */
export const ATA_DEVCTL = {
  NIEN: 0x02,
  SRST: 0x04,
  HOB: 0x80,
} as const;

/** Command opcodes handled by the device. */
export const ATA_CMD = {
  RECALIBRATE: 0x10, // 0x10-0x1F
  READ_SECTORS: 0x20,
  READ_SECTORS_NORETRY: 0x21,
  READ_SECTORS_EXT: 0x24,
  READ_MULTIPLE_EXT: 0x29,
  WRITE_SECTORS: 0x30,
  WRITE_SECTORS_NORETRY: 0x31,
  WRITE_SECTORS_EXT: 0x34,
  WRITE_MULTIPLE_EXT: 0x39,
  READ_VERIFY: 0x40,
  READ_VERIFY_NORETRY: 0x41,
  READ_VERIFY_EXT: 0x42,
  SEEK: 0x70,
  EXECUTE_DEVICE_DIAGNOSTIC: 0x90,
  INITIALIZE_DEVICE_PARAMETERS: 0x91,
  READ_MULTIPLE: 0xc4,
  WRITE_MULTIPLE: 0xc5,
  SET_MULTIPLE_MODE: 0xc6,
  STANDBY_IMMEDIATE: 0xe0,
  IDLE_IMMEDIATE: 0xe1,
  STANDBY: 0xe2,
  IDLE: 0xe3,
  CHECK_POWER_MODE: 0xe5,
  FLUSH_CACHE: 0xe7,
  IDENTIFY_DEVICE: 0xec,
  FLUSH_CACHE_EXT: 0xea,
  SET_FEATURES: 0xef,
} as const;

/** SET FEATURES subcommands (features register). */
export const ATA_SETFEATURES = {
  WC_ON: 0x02,
  XFER: 0x03,
  APM_ON: 0x05,
  RLA_OFF: 0x55,
  REVERT_OFF: 0x66,
  WC_OFF: 0x82,
  APM_OFF: 0x85,
  RLA_ON: 0xaa,
  REVERT_ON: 0xcc,
} as const;

/** SET FEATURES / SET TRANSFER MODE values (sector count register). */
export const ATA_XFER = {
  PIO_DEFAULT: 0x00,
  PIO_DEFAULT_NO_IORDY: 0x01,
  PIO_FLOW_CONTROL: 0x08, // | mode 0-4
  MODE_MASK: 0x07,
  MAX_PIO_MODE: 4,
} as const;

/** Bytes per logical sector. */
export const ATA_SECTOR_SIZE = 512;
/** Largest sector count reported in IDENTIFY words 60-61 (28-bit addressing). */
export const ATA_LBA28_MAX = 0x0fffffff;

/** Largest block for READ/WRITE MULTIPLE (IDENTIFY word 47), as QEMU's MAX_MULT_SECTORS. */
export const ATA_MAX_MULT_SECTORS = 16;

/** CHECK POWER MODE: "device is in active or idle mode". */
export const ATA_POWER_ACTIVE = 0xff;

/** Error register value after reset or diagnostics: device 0 passed, device 1 absent. */
export const ATA_DIAG_PASSED = 0x01;
