/* ATA PIO protocol (ATA/ATAPI-6 section 9: PIO data-in, PIO data-out and non-data command
 * protocols) on the primary channel master. */
#include "ata.h"
#include "cpu.h"
#include "io.h"
#include "pic.h"
#include "string.h"
#include "trap.h"

/* Status polls before giving up on a drive that never clears BSY. */
#define ATA_POLL_LIMIT 1000000u

static struct ata_drive *irq_drive;

static u8 reg_in(enum ata_reg r) { return inb((u16)(ATA_PRIMARY_BASE + r)); }
static void reg_out(enum ata_reg r, u8 v) { outb((u16)(ATA_PRIMARY_BASE + r), v); }
static u8 alt_status(void) { return inb(ATA_PRIMARY_CTRL); }

static void ata_irq(struct trap_frame *f)
{
    (void)f;
    if (irq_drive) {
        /* Reading the status register acknowledges the device's interrupt. */
        irq_drive->last_status = reg_in(ATA_REG_STATUS);
        irq_drive->irqs++;
    }
    pic_eoi(ATA_PRIMARY_IRQ);
}

void ata_init(struct ata_drive *d, int use_irq)
{
    memset(d, 0, sizeof(*d));
    d->use_irq = use_irq;
    reg_out(ATA_REG_DEVICE, ATA_DEV_OBSOLETE | ATA_DEV_LBA);
    if (use_irq) {
        irq_drive = d;
        trap_set_handler(PIC_VECTOR_BASE + ATA_PRIMARY_IRQ, ata_irq);
        pic_unmask(ATA_PRIMARY_IRQ);
        outb(ATA_PRIMARY_CTRL, 0);
    } else {
        pic_mask(ATA_PRIMARY_IRQ);
        outb(ATA_PRIMARY_CTRL, ATA_CTL_NIEN);
    }
}

/* Waits until BSY clears (polling the alternate status, which does not acknowledge interrupts). */
static int wait_not_busy(struct ata_drive *d)
{
    for (u32 i = 0; i < ATA_POLL_LIMIT; i++) {
        u8 s = alt_status();
        if (s == ATA_STATUS_FLOATING)
            return ATA_E_NO_DEVICE;
        if (!(s & ATA_SR_BSY)) {
            d->last_status = s;
            return ATA_OK;
        }
    }
    return ATA_E_TIMEOUT;
}

/* Waits for the device's next interrupt (or, polled, for BSY to clear), then judges the status. */
static int wait_ready(struct ata_drive *d, u32 irqs_before)
{
    if (d->use_irq) {
        for (;;) {
            cli();
            if (d->irqs != irqs_before)
                break;
            __asm__ volatile("sti; hlt; cli" : : : "memory");
        }
    }
    int r = wait_not_busy(d);
    if (r) return r;
    /* The regular status register, read once more, also clears a pending interrupt in polled mode. */
    d->last_status = reg_in(ATA_REG_STATUS);
    if (d->last_status & (ATA_SR_ERR | ATA_SR_DF)) {
        d->last_error = reg_in(ATA_REG_ERROR);
        return ATA_E_DEVICE;
    }
    d->last_error = 0;
    return ATA_OK;
}

/* Loads the taskfile (the high-order bytes first for the 48-bit form) and writes the command. */
static int issue(struct ata_drive *d, u8 cmd, u64 lba, u32 count, u8 feature, int ext)
{
    int r = wait_not_busy(d);
    if (r) return r;
    /* A drive ready for commands shows DRDY; an empty channel may read 0 here (QEMU). */
    if (!(d->last_status & ATA_SR_DRDY))
        return ATA_E_NO_DEVICE;
    if (ext) {
        reg_out(ATA_REG_DEVICE, ATA_DEV_OBSOLETE | ATA_DEV_LBA);
        reg_out(ATA_REG_NSECT, (u8)(count >> 8));
        reg_out(ATA_REG_LBAL, (u8)(lba >> 24));
        reg_out(ATA_REG_LBAM, (u8)(lba >> 32));
        reg_out(ATA_REG_LBAH, (u8)(lba >> 40));
    } else {
        reg_out(ATA_REG_DEVICE, (u8)(ATA_DEV_OBSOLETE | ATA_DEV_LBA | ((lba >> 24) & 0x0F)));
    }
    reg_out(ATA_REG_FEATURE, feature);
    reg_out(ATA_REG_NSECT, (u8)count);
    reg_out(ATA_REG_LBAL, (u8)lba);
    reg_out(ATA_REG_LBAM, (u8)(lba >> 8));
    reg_out(ATA_REG_LBAH, (u8)(lba >> 16));
    reg_out(ATA_REG_COMMAND, cmd);
    return ATA_OK;
}

/* PIO data-in: an interrupt (or BSY clear with DRQ) before each sector. */
static int pio_in(struct ata_drive *d, u8 cmd, u64 lba, u32 count, void *buf, int ext)
{
    u32 before = d->irqs;
    int r = issue(d, cmd, lba, count, 0, ext);
    if (r) return r;
    u8 *p = buf;
    for (u32 i = 0; i < count; i++) {
        if ((r = wait_ready(d, before)) != 0) return r;
        before = d->irqs;
        if (!(d->last_status & ATA_SR_DRQ)) return ATA_E_DEVICE;
        insw(ATA_PRIMARY_BASE + ATA_REG_DATA, p, ATA_SECTOR_WORDS);
        p += ATA_SECTOR_BYTES;
    }
    return ATA_OK;
}

int ata_identify(struct ata_drive *d, u16 *words)
{
    int r = pio_in(d, ATA_CMD_IDENTIFY, 0, 1, words, 0);
    if (r) return r;
    d->sectors = words[ATA_ID_LBA28_SECTORS] | ((u32)words[ATA_ID_LBA28_SECTORS + 1] << 16);
    d->lba48 = (words[ATA_ID_COMMAND_SET_2] & ATA_ID_CS2_LBA48) != 0;
    d->sectors48 = 0;
    if (d->lba48)
        for (int i = 3; i >= 0; i--)
            d->sectors48 = (d->sectors48 << 16) | words[ATA_ID_LBA48_SECTORS + i];
    /* The model string is stored with the two bytes of each word swapped. */
    for (u32 i = 0; i < ATA_ID_MODEL_WORDS; i++) {
        d->model[2 * i] = (char)(words[ATA_ID_MODEL + i] >> 8);
        d->model[2 * i + 1] = (char)words[ATA_ID_MODEL + i];
    }
    d->model[ATA_ID_MODEL_WORDS * 2] = '\0';
    for (int i = ATA_ID_MODEL_WORDS * 2 - 1; i >= 0 && d->model[i] == ' '; i--)
        d->model[i] = '\0';
    return ATA_OK;
}

static int check_args(u64 lba, u32 count, int ext)
{
    if (ext)
        return count >= 1 && count <= 65536 && lba < (1ull << 48) ? ATA_OK : ATA_E_ARGS;
    return count >= 1 && count <= 256 && lba < ATA_LBA28_LIMIT ? ATA_OK : ATA_E_ARGS;
}

int ata_read(struct ata_drive *d, u64 lba, u32 count, void *buf, int ext)
{
    int r = check_args(lba, count, ext);
    if (r) return r;
    return pio_in(d, ext ? ATA_CMD_READ_SECTORS_EXT : ATA_CMD_READ_SECTORS, lba, count, buf, ext);
}

/* PIO data-out: the first sector goes as soon as DRQ is set (no interrupt), each later one after
 * the interrupt that ends the previous one, and a final interrupt ends the command. */
int ata_write(struct ata_drive *d, u64 lba, u32 count, const void *buf, int ext)
{
    int r = check_args(lba, count, ext);
    if (r) return r;
    u32 before = d->irqs;
    if ((r = issue(d, ext ? ATA_CMD_WRITE_SECTORS_EXT : ATA_CMD_WRITE_SECTORS, lba, count, 0, ext)) != 0) return r;
    if ((r = wait_not_busy(d)) != 0) return r;
    /* A rejected command ends with ERR and an interrupt instead of DRQ. */
    if (d->last_status & ATA_SR_ERR)
        return wait_ready(d, before);
    const u8 *p = buf;
    for (u32 i = 0; i < count; i++) {
        before = d->irqs;
        if (!(d->last_status & ATA_SR_DRQ)) return ATA_E_DEVICE;
        outsw(ATA_PRIMARY_BASE + ATA_REG_DATA, p, ATA_SECTOR_WORDS);
        p += ATA_SECTOR_BYTES;
        if ((r = wait_ready(d, before)) != 0) return r;
    }
    return (d->last_status & ATA_SR_DRQ) ? ATA_E_DEVICE : ATA_OK;
}

int ata_command(struct ata_drive *d, u8 cmd, u8 feature, u8 count)
{
    u32 before = d->irqs;
    int r = issue(d, cmd, 0, count, feature, 0);
    if (r) return r;
    return wait_ready(d, before);
}

int ata_flush(struct ata_drive *d)
{
    return ata_command(d, ATA_CMD_FLUSH_CACHE, 0, 0);
}
