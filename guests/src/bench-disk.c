/* Sequential write then read of total= bytes (default 1 MiB) from sector 0 in blocks of bs= bytes
 * (4096 or 65536, default 4096), on the ATA master (dev=ata, default, IRQ14-driven PIO) or the
 * first virtio-blk disk (dev=virtio, up to VBLK_MAX_INFLIGHT requests in flight per notification).
 * The disk must hold total bytes. irq=0 makes the virtio driver poll instead of waiting for
 * interrupts.
 * Checking: by default every dword of block k holds k ^ (its byte offset), written before and
 * checked after; verify=stamp writes and checks only the first and last dwords of each block
 * (block index stamps). Either way those two dwords are poisoned before each read, so a block
 * that is missing, stale, misplaced or cut short is caught; stamps keep the guest's own work
 * small next to the I/O being measured (the benchmark's choice: filling and checking every dword
 * costs several guest instructions a dword, which would make the row a benchmark of the CPU). */
#include "rt.h"

#define MAX_BS 65536
#define SECTOR 512
/* virtio blocks per batch (one notification, one interrupt): as many as fit in 4 MiB and in the
 * queue. The buffer's pages are touched once and stay mapped. */
#define BATCH_BYTES (4 * 1024 * 1024)

static u8 buf[BATCH_BYTES] __attribute__((aligned(16)));
static struct ata_drive ata;
static struct vblk blk;

/* Blocks first..first+count-1 (count ≤ batch; ATA one at a time) to or from buf. */
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

static int full;   /* every dword (default) or verify=stamp */

static u32 stamp(u32 block, u32 last)
{
    return 0x5a000000u ^ (block << 1) ^ last;
}

static void fill(u32 first, u32 count, u32 bs)
{
    for (u32 k = 0; k < count; k++) {
        u8 *b = buf + k * bs;
        if (full) {
            for (u32 i = 0; i < bs; i += 4)
                *(u32 *)(b + i) = (first + k) ^ i;
        } else {
            *(u32 *)b = stamp(first + k, 0);
            *(u32 *)(b + bs - 4) = stamp(first + k, 1);
        }
    }
}

/* Before a read: what the buffer holds (maybe the very blocks just written) must not pass
 * check() by itself. */
static void poison(u32 count, u32 bs)
{
    for (u32 k = 0; k < count; k++) {
        *(u32 *)(buf + k * bs) = ~0u;
        *(u32 *)(buf + k * bs + bs - 4) = ~0u;
    }
}

static int check(u32 first, u32 count, u32 bs)
{
    for (u32 k = 0; k < count; k++) {
        const u8 *b = buf + k * bs;
        if (full) {
            for (u32 i = 0; i < bs; i += 4)
                if (*(const u32 *)(b + i) != ((first + k) ^ i)) return 0;
        } else if (*(const u32 *)b != stamp(first + k, 0) || *(const u32 *)(b + bs - 4) != stamp(first + k, 1)) {
            return 0;
        }
    }
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
    char verify[8] = "full";
    cmdline_get("verify", verify, sizeof(verify));
    full = strcmp(verify, "stamp") != 0;
    char params[80];
    snprintf(params, sizeof(params), "dev=%s bs=%u total=%u%s", virtio ? "virtio" : "ata", bs, total, full ? "" : " verify=stamp");
    if ((bs != 4096 && bs != MAX_BS) || total % bs)
        bench_end("bench-disk", params, "bad-parameters", 0);
    if (virtio) {
        if (vblk_init(&blk, 0, VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX) | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC), cmdline_u32("irq", 1) != 0) != VIRTIO_OK)
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
    /* ATA moves one block per command anyway: one block at a time keeps its buffer small. */
    u32 batch = !virtio ? 1 : BATCH_BYTES / bs < VBLK_MAX_INFLIGHT ? BATCH_BYTES / bs : VBLK_MAX_INFLIGHT;
    for (u32 b = 0; b < blocks; b += batch) {
        u32 n = blocks - b < batch ? blocks - b : batch;
        fill(b, n, bs);
        if (!io(virtio, 1, b, n, bs))
            bench_end("bench-disk", params, "write-failed", 0);
    }
    for (u32 b = 0; b < blocks; b += batch) {
        u32 n = blocks - b < batch ? blocks - b : batch;
        poison(n, bs);
        if (!io(virtio, 0, b, n, bs))
            bench_end("bench-disk", params, "read-failed", 0);
        if (!check(b, n, bs))
            bench_end("bench-disk", params, "data-mismatch", 0);
    }
    bench_end("bench-disk", params, "ok", 1);
}
