/* virtio-blk driver (virtio 1.x section 5.2; facts.md 4.7) on one request queue. */
#ifndef RT_VIRTIO_BLK_H
#define RT_VIRTIO_BLK_H
#include "virtio.h"

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_FLUSH 9
/* Request types and status values (section 5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512
/* Config offsets (section 5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY 0x00
#define VIRTIO_BLK_CFG_SEG_MAX 0x0C
/* Most data descriptors one request uses here (the indirect table is sized for it). */
#define VBLK_MAX_SEGS 8

struct vblk {
    struct virtio_dev dev;
    struct virtq q;
    u64 capacity;   /* 512-byte sectors */
    u32 seg_max;    /* 0 when SEG_MAX was not offered */
};

/* Finds the nth virtio-blk device on the command line, negotiates FLUSH, SEG_MAX and the
 * transport features in extra (e.g. INDIRECT_DESC, EVENT_IDX), sets up queue 0 and DRIVER_OK. */
int vblk_init(struct vblk *b, u32 nth, u64 extra, int use_irq);
/* One IN or OUT request of len bytes at sector, its data split over segs descriptors (1..VBLK_MAX_SEGS);
 * indirect puts the chain in an indirect table (needs INDIRECT_DESC). Returns the status byte
 * (VIRTIO_BLK_S_*) or a negative virtio_error. */
int vblk_rw(struct vblk *b, u32 type, u64 sector, void *buf, u32 len, u32 segs, int indirect);
/* requests consecutive IN or OUT requests of bytes_per_request each, from sector on, data
 * contiguous in buf. As many as the queue holds (and at most VBLK_MAX_INFLIGHT) are made
 * available before one notification and waited for with one interrupt: with INDIRECT_DESC each
 * takes one ring descriptor (its header, data and status in an indirect table), else three.
 * Returns VIRTIO_BLK_S_OK, the first bad status, or a negative virtio_error. */
#define VBLK_QUEUE_SIZE 1024
#define VBLK_MAX_INFLIGHT 1024
int vblk_rw_many(struct vblk *b, u32 type, u64 sector, void *buf, u32 bytes_per_request, u32 requests);
int vblk_flush(struct vblk *b);
/* GET_ID into id (VIRTIO_BLK_ID_BYTES + 1 bytes, NUL-terminated). */
int vblk_get_id(struct vblk *b, char *id);
#endif
