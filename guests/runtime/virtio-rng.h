/* virtio-rng (entropy device) driver (virtio 1.x section 5.4; facts.md 4.8): one request queue
 * of device-writable buffers. */
#ifndef RT_VIRTIO_RNG_H
#define RT_VIRTIO_RNG_H
#include "virtio.h"

struct vrng {
    struct virtio_dev dev;
    struct virtq q;
};

int vrng_init(struct vrng *r, u32 nth, u64 extra, int use_irq);
/* Asks for len bytes; returns how many the device wrote, or a negative virtio_error. */
int vrng_read(struct vrng *r, void *buf, u32 len);
#endif
