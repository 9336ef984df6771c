/* ATA PIO on the primary master (a 1 MiB disk: 2048 sectors, all zero at start): IDENTIFY
 * (capacity, LBA48), a pattern written with WRITE SECTORS using IRQ14, FLUSH CACHE, read back with
 * IRQ14 and polled, LBA48 EXT commands, an unknown command (ERR + ABRT) and a read past the end
 * (ERR + IDNF, or ABRT which ATA/ATAPI-6 also allows and QEMU reports). */
#include "rt.h"

#define DISK_SECTORS 2048      /* guests/catalog.ts: the disk must be exactly 1 MiB */
#define LBA_A 8
#define COUNT_A 4
#define LBA_EXT 1000
#define COUNT_EXT 2
#define BAD_COMMAND 0xFF       /* not an ATA command: devices abort it */

static struct ata_drive drive;
static u16 id[ATA_SECTOR_WORDS];
static u8 wbuf[COUNT_A * ATA_SECTOR_BYTES], rbuf[COUNT_A * ATA_SECTOR_BYTES];

static void fill(u8 *p, u32 n, u32 seed)
{
    for (u32 i = 0; i < n; i++)
        p[i] = (u8)(seed + i * 13 + (i >> 9));
}

static void expect_same(const u8 *got, const u8 *want, u32 n)
{
    for (u32 i = 0; i < n; i++)
        if (got[i] != want[i]) {
            test_failf("byte %u = 0x%x, want 0x%x", i, got[i], want[i]);
            return;
        }
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    ata_init(&drive, 1);

    test_begin("ata-identify");
    int r = ata_identify(&drive, id);
    if (r == ATA_E_NO_DEVICE)
        test_abort("no ATA master: run with a 1 MiB --disk FILE,if=ide");
    EXPECT_EQ(r, ATA_OK);
    EXPECT_EQ(drive.sectors, DISK_SECTORS);
    EXPECT(drive.model[0] != '\0');
    EXPECT_EQ(drive.irqs, 1);
    test_end();

    test_begin("ata-identify-lba48");
    EXPECT(drive.lba48);
    EXPECT_EQ64(drive.sectors48, DISK_SECTORS);
    test_end();

    test_begin("ata-read-zero-disk");
    EXPECT_EQ(ata_read(&drive, LBA_A, 1, rbuf, 0), ATA_OK);
    memset(wbuf, 0, ATA_SECTOR_BYTES);
    expect_same(rbuf, wbuf, ATA_SECTOR_BYTES);
    test_end();

    test_begin("ata-write-sectors-irq14");
    fill(wbuf, sizeof(wbuf), 0x41);
    u32 before = drive.irqs;
    EXPECT_EQ(ata_write(&drive, LBA_A, COUNT_A, wbuf, 0), ATA_OK);
    EXPECT_EQ(drive.irqs - before, COUNT_A);   /* one interrupt per sector */
    EXPECT_EQ(drive.last_status & (ATA_SR_BSY | ATA_SR_DRQ | ATA_SR_ERR), 0);
    test_end();

    test_begin("ata-flush-cache");
    before = drive.irqs;
    EXPECT_EQ(ata_flush(&drive), ATA_OK);
    EXPECT_EQ(drive.irqs - before, 1);
    test_end();

    test_begin("ata-read-sectors-irq14");
    memset(rbuf, 0, sizeof(rbuf));
    before = drive.irqs;
    EXPECT_EQ(ata_read(&drive, LBA_A, COUNT_A, rbuf, 0), ATA_OK);
    EXPECT_EQ(drive.irqs - before, COUNT_A);
    expect_same(rbuf, wbuf, sizeof(wbuf));
    test_end();

    test_begin("ata-lba48-write-read-ext");
    fill(wbuf, COUNT_EXT * ATA_SECTOR_BYTES, 0x97);
    memset(rbuf, 0, sizeof(rbuf));
    EXPECT_EQ(ata_write(&drive, LBA_EXT, COUNT_EXT, wbuf, 1), ATA_OK);
    EXPECT_EQ(ata_read(&drive, LBA_EXT, COUNT_EXT, rbuf, 1), ATA_OK);
    expect_same(rbuf, wbuf, COUNT_EXT * ATA_SECTOR_BYTES);
    test_end();

    test_begin("ata-bad-command-abrt");
    before = drive.irqs;
    EXPECT_EQ(ata_command(&drive, BAD_COMMAND, 0, 0), ATA_E_DEVICE);
    EXPECT_EQ(drive.last_status & (ATA_SR_ERR | ATA_SR_DRDY | ATA_SR_BSY | ATA_SR_DRQ), ATA_SR_ERR | ATA_SR_DRDY);
    EXPECT_EQ(drive.last_error & ATA_ER_ABRT, ATA_ER_ABRT);
    EXPECT_EQ(drive.irqs - before, 1);
    test_end();

    test_begin("ata-read-past-end-error");
    EXPECT_EQ(ata_read(&drive, DISK_SECTORS, 1, rbuf, 0), ATA_E_DEVICE);
    EXPECT(drive.last_status & ATA_SR_ERR);
    EXPECT(drive.last_error & (ATA_ER_IDNF | ATA_ER_ABRT));
    test_end();

    test_begin("ata-works-after-errors");
    fill(wbuf, sizeof(wbuf), 0x41);
    EXPECT_EQ(ata_read(&drive, LBA_A, 1, rbuf, 0), ATA_OK);
    expect_same(rbuf, wbuf, ATA_SECTOR_BYTES);
    test_end();

    test_begin("ata-polled-nien");
    ata_init(&drive, 0);
    memset(rbuf, 0, sizeof(rbuf));
    EXPECT_EQ(ata_read(&drive, LBA_A, COUNT_A, rbuf, 0), ATA_OK);
    expect_same(rbuf, wbuf, sizeof(wbuf));
    EXPECT_EQ(drive.irqs, 0);
    test_end();

    test_finish();
}
