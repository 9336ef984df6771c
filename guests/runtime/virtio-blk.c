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
    r = virtq_setup_size(&b->dev, &b->q, 0, VBLK_QUEUE_SIZE);
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
static struct virtq_desc batch_indirect[VBLK_MAX_INFLIGHT][3] __attribute__((aligned(VIRTQ_DESC_ALIGN)));

int vblk_rw_many(struct vblk *b, u32 type, u64 sector, void *buf, u32 bytes_per_request, u32 requests)
{
    u32 sectors_per_request = bytes_per_request / VIRTIO_BLK_SECTOR;
    u32 n_data_out = type == VIRTIO_BLK_T_OUT;
    int can_indirect = virtio_has(&b->dev, VIRTIO_F_INDIRECT_DESC);
    for (u32 done = 0; done < requests;) {
        /* header, data, status: 3 ring descriptors a request, or one with an indirect table —
         * which costs the device one more read, so only when the direct chains do not fit */
        u32 left = requests - done;
        int indirect = can_indirect && left > b->q.size / 3u;
        u32 room = indirect ? b->q.size : b->q.size / 3u;
        if (room > VBLK_MAX_INFLIGHT) room = VBLK_MAX_INFLIGHT;
        if (room == 0) room = 1;   /* does not fit: virtq_add says so */
        u32 batch = left < room ? left : room;
        /* Many requests and an idle queue: chain i is written in place, in descriptors 3i..3i+2
         * or in indirect table i behind descriptor i (cheaper than the free list once the batch
         * outweighs giving the rest of the table back). */
        u32 per = indirect ? 1 : 3;
        int claimed = batch * per * 4 >= b->q.size && virtq_claim_all(&b->q) == VIRTIO_OK;
        if (claimed) {
            u16 data_flags = (u16)(VIRTQ_DESC_F_NEXT | (n_data_out ? 0 : VIRTQ_DESC_F_WRITE));
            u8 *data = (u8 *)buf + done * bytes_per_request;
            u64 s = sector + (u64)done * sectors_per_request;
            for (u32 i = 0; i < batch; i++, data += bytes_per_request, s += sectors_per_request) {
                batch_hdr[i].type = type;
                batch_hdr[i].reserved = 0;
                batch_hdr[i].sector = s;
                batch_status[i] = 0xFF;
                u16 head = (u16)(per * i);
                /* Entries chain by index: 0-1-2 in a table, head..head+2 in the ring's table. */
                struct virtq_desc *d = indirect ? batch_indirect[i] : &b->q.desc[head];
                u16 base = indirect ? 0 : head;
                d[0] = (struct virtq_desc){ (u32)&batch_hdr[i], sizeof(batch_hdr[i]), VIRTQ_DESC_F_NEXT, (u16)(base + 1) };
                d[1] = (struct virtq_desc){ (u32)data, bytes_per_request, data_flags, (u16)(base + 2) };
                d[2] = (struct virtq_desc){ (u32)&batch_status[i], 1, VIRTQ_DESC_F_WRITE, 0 };
                if (indirect)
                    b->q.desc[head] = (struct virtq_desc){ (u32)d, 3 * sizeof(struct virtq_desc), VIRTQ_DESC_F_INDIRECT, 0 };
                virtq_post(&b->q, head, (u16)per);
            }
            virtq_unclaim(&b->q, (u16)(per * batch));
            virtq_publish(&b->q);
        } else for (u32 i = 0; i < batch; i++) {
            u32 r = done + i;
            batch_hdr[i] = (struct virtio_blk_req_hdr){ type, 0, sector + (u64)r * sectors_per_request };
            batch_status[i] = 0xFF;
            struct virtq_buf bufs[3] = {
                { &batch_hdr[i], sizeof(batch_hdr[i]) },
                { (u8 *)buf + r * bytes_per_request, bytes_per_request },
                { (const void *)&batch_status[i], 1 },
            };
            int head = virtq_add(&b->q, bufs, 1 + n_data_out, 2 - n_data_out, indirect ? batch_indirect[i] : NULL);
            if (head < 0) return head;
        }
        /* Interrupt once, when the whole batch is done; set before the kick so the device reads
         * it together with the requests. */
        if (b->dev.use_irq)
            virtq_arm_many(&b->q, batch);
        virtq_kick(&b->q);
        int w = claimed ? virtq_wait_claimed(&b->q, batch) : virtq_wait_many(&b->q, batch);
        if (w < 0) return w;
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
