/* ATA PIO driver for the primary channel's master drive (ATA/ATAPI-6 sections 6 and 8 (commands),
 * 7 (registers); facts.md 5.5): IDENTIFY DEVICE, READ/WRITE SECTORS (EXT), FLUSH CACHE, polled or
 * driven by IRQ14, data moved with REP INSW/OUTSW. */
#ifndef RT_ATA_H
#define RT_ATA_H
#include "types.h"

#define ATA_PRIMARY_BASE 0x1F0
#define ATA_PRIMARY_CTRL 0x3F6
#define ATA_PRIMARY_IRQ 14
#define ATA_SECTOR_BYTES 512
#define ATA_SECTOR_WORDS 256

/* Command block register offsets from the base (read / write meaning). */
enum ata_reg {
    ATA_REG_DATA = 0, ATA_REG_ERROR = 1, ATA_REG_FEATURE = 1, ATA_REG_NSECT = 2,
    ATA_REG_LBAL = 3, ATA_REG_LBAM = 4, ATA_REG_LBAH = 5, ATA_REG_DEVICE = 6,
    ATA_REG_STATUS = 7, ATA_REG_COMMAND = 7,
};
/* Status register bits. */
#define ATA_SR_ERR 0x01
#define ATA_SR_DRQ 0x08
#define ATA_SR_DF 0x20
#define ATA_SR_DRDY 0x40
#define ATA_SR_BSY 0x80
/* Error register bits. */
#define ATA_ER_ABRT 0x04
#define ATA_ER_IDNF 0x10
/* Device register: LBA addressing; bits 7 and 5 are obsolete and traditionally set. */
#define ATA_DEV_LBA 0x40
#define ATA_DEV_OBSOLETE 0xA0
/* Device control register. */
#define ATA_CTL_NIEN 0x02
#define ATA_CTL_SRST 0x04
/* Commands. */
#define ATA_CMD_READ_SECTORS 0x20
#define ATA_CMD_READ_SECTORS_EXT 0x24
#define ATA_CMD_WRITE_SECTORS 0x30
#define ATA_CMD_WRITE_SECTORS_EXT 0x34
#define ATA_CMD_FLUSH_CACHE 0xE7
#define ATA_CMD_IDENTIFY 0xEC
/* IDENTIFY DEVICE words. */
#define ATA_ID_MODEL 27
#define ATA_ID_MODEL_WORDS 20
#define ATA_ID_LBA28_SECTORS 60
#define ATA_ID_COMMAND_SET_2 83
#define ATA_ID_CS2_LBA48 (1u << 10)
#define ATA_ID_LBA48_SECTORS 100
#define ATA_LBA28_LIMIT (1u << 28)
/* What the status register reads with nothing on the bus (pulled-up data lines). */
#define ATA_STATUS_FLOATING 0xFF

/* Results (negative): the device reported ERR (see last_error), it never became ready, bad
 * arguments, or there is no drive. */
enum ata_result {
    ATA_OK = 0,
    ATA_E_DEVICE = -1,
    ATA_E_TIMEOUT = -2,
    ATA_E_ARGS = -3,
    ATA_E_NO_DEVICE = -4,   /* status floats to 0xFF (no drive on the bus) or never shows DRDY */
};

struct ata_drive {
    int use_irq;            /* wait for IRQ14 (with HLT) instead of polling the status */
    u32 sectors;            /* LBA28 capacity from IDENTIFY (words 60-61) */
    u64 sectors48;          /* LBA48 capacity (words 100-103), 0 without LBA48 */
    int lba48;
    char model[ATA_ID_MODEL_WORDS * 2 + 1];
    u8 last_status, last_error;
    volatile u32 irqs;      /* IRQ14s taken */
};

/* Selects the master and, with use_irq, installs the IRQ14 handler, unmasks IRQ14 and clears nIEN
 * (else sets nIEN). Call pic_remap() (rt_init) first. */
void ata_init(struct ata_drive *d, int use_irq);
/* IDENTIFY DEVICE: fills words (256) and the capacity and model fields. */
int ata_identify(struct ata_drive *d, u16 *words);
/* With use_irq, each wait for IRQ14 sleeps in HLT without a bound (a drive that never interrupts
 * hangs the guest: the host's timeout ends the test) and returns with IF = 0. */
/* count (1..256) sectors at lba with READ/WRITE SECTORS, or the EXT commands when ext is set
 * (count 1..65536, 48-bit lba). */
int ata_read(struct ata_drive *d, u64 lba, u32 count, void *buf, int ext);
int ata_write(struct ata_drive *d, u64 lba, u32 count, const void *buf, int ext);
int ata_flush(struct ata_drive *d);
/* Issues any non-data command with the given feature/count registers (for error-path tests). */
int ata_command(struct ata_drive *d, u8 cmd, u8 feature, u8 count);
#endif
