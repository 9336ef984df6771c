/* The tskvm demo: a banner on COM1, a few PIT timer interrupts, one sector written, read back and
 * restored on the ATA disk (--disk FILE,if=ide) and on the virtio-blk disk (--disk FILE,if=virtio),
 * a line through virtio-console (--console virtio), then exit 0 through isa-debug-exit. A device
 * that is not there is reported and skipped; a device that misbehaves makes the exit code 1. */
#include "rt.h"

#define DEMO_TICKS 5
#define DEMO_SECTOR 1
#define SECTOR 512

static struct ata_drive ata;
static struct vblk blk;
static struct vcon con;
static u16 id[ATA_SECTOR_WORDS];
static u8 saved[SECTOR], pattern[SECTOR], back[SECTOR];
static int failures;

static void report(const char *what, int ok)
{
    printf("demo: %-34s %s\n", what, ok ? "ok" : "FAILED");
    if (!ok) failures++;
}

static void make_pattern(u8 seed)
{
    for (u32 i = 0; i < SECTOR; i++)
        pattern[i] = (u8)(seed + i);
}

static void demo_ata(void)
{
    ata_init(&ata, 1);
    int r = ata_identify(&ata, id);
    if (r == ATA_E_NO_DEVICE) {
        printf("demo: no ATA disk (add --disk FILE,if=ide)\n");
        return;
    }
    if (r != ATA_OK) {
        report("ATA IDENTIFY", 0);
        return;
    }
    printf("demo: ATA disk \"%s\", %u sectors\n", ata.model, ata.sectors);
    make_pattern(0xA0);
    int ok = ata_read(&ata, DEMO_SECTOR, 1, saved, 0) == ATA_OK
        && ata_write(&ata, DEMO_SECTOR, 1, pattern, 0) == ATA_OK
        && ata_read(&ata, DEMO_SECTOR, 1, back, 0) == ATA_OK
        && memcmp(back, pattern, SECTOR) == 0
        && ata_write(&ata, DEMO_SECTOR, 1, saved, 0) == ATA_OK;
    report("ATA PIO sector write/read (IRQ14)", ok);
}

static void demo_virtio_blk(void)
{
    if (vblk_init(&blk, 0, VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX), 1) != VIRTIO_OK) {
        printf("demo: no virtio-blk disk (add --disk FILE,if=virtio)\n");
        return;
    }
    printf("demo: virtio-blk disk, %u sectors\n", (u32)blk.capacity);
    make_pattern(0x50);
    int ok = vblk_rw(&blk, VIRTIO_BLK_T_IN, DEMO_SECTOR, saved, SECTOR, 1, 0) == VIRTIO_BLK_S_OK
        && vblk_rw(&blk, VIRTIO_BLK_T_OUT, DEMO_SECTOR, pattern, SECTOR, 1, 0) == VIRTIO_BLK_S_OK
        && vblk_rw(&blk, VIRTIO_BLK_T_IN, DEMO_SECTOR, back, SECTOR, 1, 0) == VIRTIO_BLK_S_OK
        && memcmp(back, pattern, SECTOR) == 0
        && vblk_rw(&blk, VIRTIO_BLK_T_OUT, DEMO_SECTOR, saved, SECTOR, 1, 0) == VIRTIO_BLK_S_OK
        && vblk_flush(&blk) == VIRTIO_BLK_S_OK;
    report("virtio-blk sector write/read", ok);
}

static void demo_virtio_console(void)
{
    if (vcon_init(&con, 0, VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX), 1) != VIRTIO_OK) {
        printf("demo: no virtio-console (add --console virtio)\n");
        return;
    }
    report("virtio-console line", vcon_puts(&con, "Hello from the tskvm demo over virtio-console!\n") == VIRTIO_OK);
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    rt_init();
    cmdline_init(info);
    printf("==============================================\n");
    printf(" tskvm demo guest: IA-32 under simulated VT-x\n");
    printf("==============================================\n");

    timer_start();
    volatile u32 dummy = 0;
    (void)timer_wait(&dummy, 1, DEMO_TICKS);   /* sleeps through DEMO_TICKS timer interrupts */
    u32 ticks = timer_ticks();
    timer_stop();
    printf("demo: %u PIT timer interrupts at %u Hz\n", ticks, TIMER_HZ);
    report("PIT IRQ0 with HLT", ticks >= DEMO_TICKS);

    demo_ata();
    demo_virtio_blk();
    demo_virtio_console();

    printf("demo: %s\n", failures ? "finished with failures" : "all done, exiting through port 0xf4");
    exit(failures ? 1 : 0);
}
