/* virtio-blk requests: a 16-byte header, data buffers and a status byte (virtio 1.x 5.2.6). */
#include "virtio-blk.h"
#include "string.h"

struct virtio_blk_req_hdr {
    u32 type, reserved;
    u64 sector;
};

static struct virtio_blk_req_hdr hdr;
static volatile u8 status;
static struct virtq_desc indirect_table[VBLK_MAX_SEGS + 2] __attribute__((aligned(VIRTQ_DESC_ALIGN)));

int vblk_init(struct vblk *b, u32 nth, u64 extra, int use_irq)
{
    int r = virtio_find(&b->dev, VIRTIO_ID_BLOCK, nth);
    if (r) return r;
    r = virtio_negotiate(&b->dev, extra | VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH) | VIRTIO_FEATURE(VIRTIO_BLK_F_SEG_MAX));
    if (r) return r;
    r = virtq_setup(&b->dev, &b->q, 0);
    if (r) return r;
    b->capacity = virtio_config64(&b->dev, VIRTIO_BLK_CFG_CAPACITY);
    b->seg_max = virtio_has(&b->dev, VIRTIO_BLK_F_SEG_MAX) ? virtio_config32(&b->dev, VIRTIO_BLK_CFG_SEG_MAX) : 0;
    virtio_driver_ok(&b->dev, use_irq);
    return VIRTIO_OK;
}

/* header + data (split in segs) + status; data is device-writable for IN and GET_ID. */
static int request(struct vblk *b, u32 type, u64 sector, void *buf, u32 len, u32 segs, int indirect)
{
    struct virtq_buf bufs[VBLK_MAX_SEGS + 2];
    if (segs > VBLK_MAX_SEGS || (len && (segs == 0 || segs > len)))
        return VIRTIO_E_FULL;
    if (indirect && !virtio_has(&b->dev, VIRTIO_F_INDIRECT_DESC))
        return VIRTIO_E_FEATURES;
    hdr.type = type;
    hdr.reserved = 0;
    hdr.sector = sector;
    status = 0xFF;   /* not a valid status: shows whether the device wrote it */
    u32 n = 0;
    bufs[n++] = (struct virtq_buf){ &hdr, sizeof(hdr) };
    u32 off = 0;
    for (u32 i = 0; len && i < segs; i++) {
        /* Equal parts in whole sectors where possible; the last takes the rest. */
        u32 part = i + 1 == segs ? len - off : (len / segs) & ~(VIRTIO_BLK_SECTOR - 1);
        if (part == 0) part = len / segs;
        bufs[n++] = (struct virtq_buf){ (u8 *)buf + off, part };
        off += part;
    }
    bufs[n++] = (struct virtq_buf){ (const void *)&status, 1 };
    int device_writes_data = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    u32 n_out = device_writes_data || !len ? 1 : n - 1;
    int r = virtq_submit_wait(&b->q, bufs, n_out, n - n_out, indirect ? indirect_table : NULL);
    if (r < 0)
        return r;
    return status;
}

int vblk_rw(struct vblk *b, u32 type, u64 sector, void *buf, u32 len, u32 segs, int indirect)
{
    return request(b, type, sector, buf, len, segs, indirect);
}

static struct virtio_blk_req_hdr batch_hdr[VBLK_MAX_INFLIGHT];
static volatile u8 batch_status[VBLK_MAX_INFLIGHT];

int vblk_rw_many(struct vblk *b, u32 type, u64 sector, void *buf, u32 bytes_per_request, u32 requests)
{
    u32 sectors_per_request = bytes_per_request / VIRTIO_BLK_SECTOR;
    u32 n_data_out = type == VIRTIO_BLK_T_OUT;
    for (u32 done = 0; done < requests;) {
        u32 batch = requests - done < VBLK_MAX_INFLIGHT ? requests - done : VBLK_MAX_INFLIGHT;
        for (u32 i = 0; i < batch; i++) {
            u32 r = done + i;
            batch_hdr[i] = (struct virtio_blk_req_hdr){ type, 0, sector + (u64)r * sectors_per_request };
            batch_status[i] = 0xFF;
            struct virtq_buf bufs[3] = {
                { &batch_hdr[i], sizeof(batch_hdr[i]) },
                { (u8 *)buf + r * bytes_per_request, bytes_per_request },
                { (const void *)&batch_status[i], 1 },
            };
            int head = virtq_add(&b->q, bufs, 1 + n_data_out, 2 - n_data_out, NULL);
            if (head < 0) return head;
        }
        virtq_kick(&b->q);
        for (u32 i = 0; i < batch; i++) {
            int id = virtq_wait_used(&b->q, NULL);
            if (id < 0) return id;
        }
        for (u32 i = 0; i < batch; i++)
            if (batch_status[i] != VIRTIO_BLK_S_OK) return batch_status[i];
        done += batch;
    }
    return VIRTIO_BLK_S_OK;
}

int vblk_flush(struct vblk *b)
{
    return request(b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, 0);
}

int vblk_get_id(struct vblk *b, char *id)
{
    memset(id, 0, VIRTIO_BLK_ID_BYTES + 1);
    return request(b, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, 1, 0);
}
