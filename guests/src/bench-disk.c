/* Sequential write then read of total= bytes (default 1 MiB) from sector 0 in blocks of bs= bytes
 * (4096 or 65536, default 4096), on the ATA master (dev=ata, default, IRQ14-driven PIO) or the
 * first virtio-blk disk (dev=virtio, up to VBLK_MAX_INFLIGHT requests in flight per notification).
 * The disk must hold total bytes. Each block carries its index, checked on the way back. */
#include "rt.h"

#define MAX_BS 65536
#define SECTOR 512
#define BATCH VBLK_MAX_INFLIGHT

static u8 buf[BATCH * MAX_BS] __attribute__((aligned(16)));
static struct ata_drive ata;
static struct vblk blk;

/* Blocks first..first+count-1 (count ≤ BATCH; ATA one at a time) to or from buf. */
static int io(int virtio, int write, u32 first, u32 count, u32 bs)
{
    u32 sector = first * (bs / SECTOR);
    if (virtio)
        return vblk_rw_many(&blk, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, buf, bs, count) == VIRTIO_BLK_S_OK;
    for (u32 i = 0; i < count; i++) {
        /* ATA transfers at most 256 sectors per READ/WRITE SECTORS command: 128 KiB > MAX_BS. */
        u8 *p = buf + i * bs;
        u32 s = sector + i * (bs / SECTOR);
        if ((write ? ata_write(&ata, s, bs / SECTOR, p, 0) : ata_read(&ata, s, bs / SECTOR, p, 0)) != ATA_OK)
            return 0;
    }
    return 1;
}

static void fill(u32 first, u32 count, u32 bs)
{
    for (u32 k = 0; k < count; k++)
        for (u32 i = 0; i < bs; i += 4)
            *(u32 *)(buf + k * bs + i) = (first + k) ^ i;
}

static int check(u32 first, u32 count, u32 bs)
{
    for (u32 k = 0; k < count; k++)
        for (u32 i = 0; i < bs; i += 4)
            if (*(u32 *)(buf + k * bs + i) != ((first + k) ^ i)) return 0;
    return 1;
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    bench_begin(info);
    u32 bs = cmdline_u32("bs", 4096), total = cmdline_u32("total", 1024 * 1024);
    char dev[8] = "ata";
    cmdline_get("dev", dev, sizeof(dev));
    int virtio = strcmp(dev, "virtio") == 0;
    char params[64];
    snprintf(params, sizeof(params), "dev=%s bs=%u total=%u", virtio ? "virtio" : "ata", bs, total);
    if ((bs != 4096 && bs != MAX_BS) || total % bs)
        bench_end("bench-disk", params, "bad-parameters", 0);
    if (virtio) {
        if (vblk_init(&blk, 0, VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX), 1) != VIRTIO_OK)
            bench_end("bench-disk", params, "no-virtio-disk", 0);
        if (blk.capacity * SECTOR < total)
            bench_end("bench-disk", params, "disk-too-small", 0);
    } else {
        u16 *id = (u16 *)buf;
        ata_init(&ata, 1);
        if (ata_identify(&ata, id) != ATA_OK)
            bench_end("bench-disk", params, "no-ata-disk", 0);
        if (ata.sectors < total / SECTOR)
            bench_end("bench-disk", params, "disk-too-small", 0);
    }
    u32 blocks = total / bs;
    for (u32 b = 0; b < blocks; b += BATCH) {
        u32 n = blocks - b < BATCH ? blocks - b : BATCH;
        fill(b, n, bs);
        if (!io(virtio, 1, b, n, bs))
            bench_end("bench-disk", params, "write-failed", 0);
    }
    for (u32 b = 0; b < blocks; b += BATCH) {
        u32 n = blocks - b < BATCH ? blocks - b : BATCH;
        if (!io(virtio, 0, b, n, bs))
            bench_end("bench-disk", params, "read-failed", 0);
        if (!check(b, n, bs))
            bench_end("bench-disk", params, "data-mismatch", 0);
    }
    bench_end("bench-disk", params, "ok", 1);
}
