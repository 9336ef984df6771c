/* virtio-blk on the command line's first block device: capacity, GET_ID, a pattern written over
 * sectors 1-24 in requests with one, several and (when negotiated) indirect data descriptors,
 * FLUSH, read back with another split and compared; a read past the end gets IOERR.
 * Pattern (also checked by tests on the backing file): byte i of sector s = (s * 31 + i) & 0xFF. */
#include "rt.h"

#define FIRST_SECTOR 1
#define SECTORS 24
#define SECTOR VIRTIO_BLK_SECTOR

static struct vblk blk;
static u8 wbuf[SECTORS * SECTOR], rbuf[SECTORS * SECTOR];

static u8 pattern(u32 sector, u32 i) { return (u8)((sector * 31 + i) & 0xFF); }

/* One write request: count sectors starting at FIRST_SECTOR + first, in segs descriptors. */
static void write_part(const char *name, u32 first, u32 count, u32 segs, int indirect)
{
    test_begin(name);
    EXPECT_EQ(vblk_rw(&blk, VIRTIO_BLK_T_OUT, FIRST_SECTOR + first, wbuf + first * SECTOR, count * SECTOR, segs, indirect), VIRTIO_BLK_S_OK);
    test_end();
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    rt_init();
    cmdline_init(info);
    int use_irq = cmdline_u32("irq", 1) != 0;

    test_begin("virtio-blk-init");
    int r = vblk_init(&blk, 0, VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC) | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX), use_irq);
    EXPECT_EQ(r, VIRTIO_OK);
    test_end();
    if (r != VIRTIO_OK) test_finish();

    test_begin("virtio-blk-capacity");
    EXPECT(blk.capacity >= FIRST_SECTOR + SECTORS);
    test_end();

    test_begin("virtio-blk-get-id");
    char id[VIRTIO_BLK_ID_BYTES + 1];
    EXPECT_EQ(vblk_get_id(&blk, id), VIRTIO_BLK_S_OK);
    EXPECT(id[0] != '\0');
    test_end();

    for (u32 s = 0; s < SECTORS; s++)
        for (u32 i = 0; i < SECTOR; i++)
            wbuf[s * SECTOR + i] = pattern(FIRST_SECTOR + s, i);
    int indirect = virtio_has(&blk.dev, VIRTIO_F_INDIRECT_DESC);
    write_part("virtio-blk-write-1-segment", 0, 4, 1, 0);
    write_part("virtio-blk-write-4-segment-chain", 4, 8, 4, 0);
    /* Without INDIRECT_DESC the same request goes as a direct chain. */
    write_part(indirect ? "virtio-blk-write-indirect" : "virtio-blk-write-3-segment-chain", 12, 8, 3, indirect);
    write_part("virtio-blk-write-odd-split", 20, 4, 3, 0);
    printf("wrote %u sectors\n", SECTORS);

    test_begin("virtio-blk-flush");
    EXPECT_EQ(vblk_flush(&blk), VIRTIO_BLK_S_OK);
    test_end();

    test_begin("virtio-blk-read-back");
    memset(rbuf, 0, sizeof(rbuf));
    EXPECT_EQ(vblk_rw(&blk, VIRTIO_BLK_T_IN, FIRST_SECTOR, rbuf, 16 * SECTOR, indirect ? 6 : 2, indirect), VIRTIO_BLK_S_OK);
    EXPECT_EQ(vblk_rw(&blk, VIRTIO_BLK_T_IN, FIRST_SECTOR + 16, rbuf + 16 * SECTOR, 8 * SECTOR, 1, 0), VIRTIO_BLK_S_OK);
    for (u32 i = 0; i < sizeof(rbuf); i++)
        if (rbuf[i] != wbuf[i]) {
            test_failf("byte %u of sector %u = 0x%x, want 0x%x", i % SECTOR, FIRST_SECTOR + i / SECTOR, rbuf[i], wbuf[i]);
            break;
        }
    test_end();

    test_begin("virtio-blk-read-past-end-ioerr");
    EXPECT_EQ(vblk_rw(&blk, VIRTIO_BLK_T_IN, blk.capacity, rbuf, SECTOR, 1, 0), VIRTIO_BLK_S_IOERR);
    test_end();

    test_begin("virtio-blk-interrupts");
    /* In interrupt mode every request above completed through an interrupt. */
    EXPECT(use_irq ? blk.dev.interrupts > 0 : blk.dev.interrupts == 0);
    test_end();

    test_finish();
}
